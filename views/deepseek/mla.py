"""Tab 2: multi-head latent attention: the KV cache per token and at a context length, MHA vs GQA
vs MQA vs MLA, and the absorbed form checked against the expanded one on a tiny layer."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import deepseek as fig
from lessons import llm_calculator as calc
from lessons import mla_cache
from lessons.llm_arch import SHIPPED, Arch
from lessons.llm_arch import published as read_published
from ui.page import page_keys
from views.deepseek import tab_columns

k = page_keys("deepseek")
LESSON = """
Generation keeps every past token's keys and values: the **KV cache**, 2 · layers · KV heads ·
head size numbers per token. **GQA** shares each K/V head among a group of query heads, **MQA**
keeps one. **MLA** (DeepSeek-V2/V3) caches one small **latent** c per token and layer (plus one
shared RoPE key) and rebuilds every head's K and V from it by up-projection. Better still, the
up-projections can be **absorbed** into the query and the output, so attention runs on the
latent cache itself: q·(c·W_UK)ᵀ = (q·W_UKᵀ)·cᵀ. MLA caches more than MQA, but DeepSeek-V2
reports it matches (even beats) MHA's quality, which MQA and GQA give up.
"""


@st.cache_data(show_spinner=False)
def arch_of(key: str) -> tuple[str, Arch]:
    pub = read_published(key)
    return pub.name, Arch.from_config(pub.config)


@st.cache_data(show_spinner="Building a tiny DeepSeek-V3 attention layer…")
def equality(seed: int) -> mla_cache.Check:
    return mla_cache.absorbed_vs_expanded(seed)


@st.fragment
def cache_sizes() -> None:
    a, b, c = st.columns([3, 2, 2])
    key = a.selectbox("Model config", SHIPPED, index=SHIPPED.index("deepseek-v3"), key=k("cfg"))
    dtype = b.selectbox("Cache dtype", list(calc.BYTES), index=1, key=k("dtype"))
    ctx = c.select_slider("Context (tokens)", [2**p for p in range(10, 18)], 32_768,
                          key=k("ctx"))  # fmt: skip
    name, arch = arch_of(key)
    per_token = mla_cache.per_token(arch, dtype)
    at_ctx = calc.kv_layouts(arch, ctx, dtype)
    own = next(iter(at_ctx))
    st.plotly_chart(fig.kv_per_token(per_token), key=k("kvfig"))
    st.dataframe(pd.DataFrame({
        "layout": list(at_ctx),
        "per token": [calc.human_bytes(v) for v in per_token.values()],
        f"{ctx:,} tokens": [calc.human_bytes(v) for v in at_ctx.values()],
        f"× {own}": [f"{v / at_ctx[own]:,.1f}×" for v in at_ctx.values()],
    }), hide_index=True, key=k("kvtable"))  # fmt: skip
    st.caption(f"{name}: {arch.num_layers:,} layers, {arch.num_heads:,} query heads. "
               f"{arch.attention}. From `lessons.llm_calculator.kv_layouts`.")  # fmt: skip


def render() -> None:
    left, right = tab_columns(LESSON)
    with right:
        cache_sizes()
    with left:
        seed = st.number_input("Seed of the tiny layer", 0, 999, 0, key=k("mla_seed"))
        check = equality(int(seed))
        st.metric("max |expanded − absorbed|", f"{check.max_abs_diff:.1e}",
                  help=f"{check.tokens} tokens, {check.heads} heads, float32")  # fmt: skip
        st.caption(f"On outputs up to {check.scale:,.2f}: float32 rounding, the same numbers.")
        st.caption("Cached per token and layer on this tiny layer: " + " · ".join(
            f"{n}: {v:,} numbers" for n, v in check.cache.items()))  # fmt: skip
