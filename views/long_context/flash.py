"""Tabs 3-4: the online softmax tile by tile, and the memory traffic it saves."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import long_context as fig
from lessons import flash_attention as fa
from ui.page import page_keys
from ui.stepper import stepper
from ui.widgets import show_code
from views.long_context import columns

k = page_keys("lc")

ONLINE = """
FlashAttention never builds the T×T score matrix. A block of queries stays in fast memory while
key/value blocks stream past; each tile updates a **running max m**, a **running sum l** and an
unnormalised output **acc**. When a tile brings a larger score, the old l and acc are multiplied
by exp(m_old − m_new). At the end acc / l equals softmax(QKᵀ/√d)V exactly.
"""

TRAFFIC = """
Counted from the paper's two algorithms, per head. Standard attention writes and reads the N×N
matrix several times: **Θ(Nd + N²)** bytes. FlashAttention re-reads Q and O once per key block;
with blocks sized to SRAM M that is **Θ(N²d²/M)**: fewer bytes whenever d² < M, which holds for
every real GPU (d = 64: d² = 4k elements vs M ≈ 100k).
"""


@st.fragment
def online_softmax() -> None:
    f = fig.FLASH
    left, right = columns(ONLINE, "The online softmax")
    with left:
        T = st.slider("Sequence length T", 4, 12, f["T"], key=k("T"))
        bq = st.slider("Query block", 1, 6, f["bq"], key=k("bq"))
        bk = st.slider("Key block", 1, 6, f["bk"], key=k("bk"))
        causal = st.toggle("Causal", value=f["causal"], key=k("causal"))
        seed = st.number_input("Random seed", 0, 999, f["seed"], key=k("seed"))
    q, key, value = fa.random_qkv(T, f["d"], int(seed))  # (T, d) each
    steps = fa.online_softmax_steps(q, key, value, bq, bk, causal)
    with right:
        i = stepper("Step (tile)", len(steps), k("step")) - 1
        stp = steps[i]
        title = f"Step {i + 1}/{len(steps)}: query block {stp.q_block}, key block {stp.k_block}" + (
            " (skipped: all future)" if stp.skipped else ""
        )
        shown = fa.revealed_scores(steps, i, T).numpy()  # (T, T), NaN where not computed
        st.plotly_chart(fig.tiles(shown, stp, title), width="stretch", key=k("tiles"))
        table = {
            "query": list(range(*stp.rows)),
            "rescale exp(m_old−m_new)": stp.scale.tolist(),
            "running max m": stp.m.tolist(),
            "running sum l": stp.l_.tolist(),
            **{f"acc[{c}]": stp.acc[:, c].tolist() for c in range(f["d"])},
        }
        st.dataframe(pd.DataFrame(table).round(4), hide_index=True, width="stretch")
        check = fa.check_steps(q, key, value, steps, bq, bk, causal)
        st.caption(
            f"After the last step: max |acc/l − softmax(QKᵀ/√d)V| = {check.steps_vs_softmax:.2e};"
            f" flash_attention() vs torch SDPA: {check.tiled_vs_sdpa:.2e}."
        )


def render_online() -> None:
    online_softmax()
    show_code(fa.flash_attention, fa._online_update, fa._tile_scores, fa.standard_attention)


@st.fragment
def traffic() -> None:
    t = fig.TRAFFIC
    left, right = columns(TRAFFIC, "Counting the bytes")
    with left:
        d = st.select_slider("Head dim d", options=[32, 64, 128, 256], value=t["d"], key=k("d"))
        sram_kb = st.select_slider("SRAM M per SM (KB)", options=[16, 48, 100, 192, 228],
                                   value=t["sram_kb"], key=k("m"))  # fmt: skip
        el = st.radio("Element size", [2, 4], format_func=lambda b: f"{b} bytes", key=k("el"),
                      index=[2, 4].index(t["bytes"]), horizontal=True)  # fmt: skip
    curves = fa.traffic_curves(fig.TRAFFIC_LENGTHS, d, sram_kb * 1024, el)  # every option fits
    with right:
        st.plotly_chart(fig.traffic(curves), width="stretch", key=k("traffic"))
        blocks = fa.flash_blocks(fa.TrafficConfig(1024, d, sram_kb * 1024, el))
        st.caption(fig.traffic_caption(curves, blocks))


def render_traffic() -> None:
    traffic()
    show_code(fa.TrafficConfig, fa.standard_traffic, fa.flash_blocks, fa.flash_traffic)
