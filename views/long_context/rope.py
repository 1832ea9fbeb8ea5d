"""Tabs 1-2: RoPE scaling per rotary pair, and its price measured on SmolLM2's perplexity."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from figures import long_context as fig
from lessons import rope_scaling as rs
from models import loader
from models.handle import Handle
from ui.models import get_model
from ui.page import on_handle, page_keys, presenter, store, stored
from ui.training import busy_slot
from ui.widgets import show_code
from views.long_context import columns

k = page_keys("lc")

TEXT = Path(__file__).resolve().parents[2] / "assets" / "text" / "long_context.txt"
CPU = loader.device() == "cpu"
PPL_LENGTHS = [64, 128, 256, 512, 1024, 2048, 3072]
PPL_BUDGET_S = 90.0 if CPU else 60.0

SCALING = """
Each of SmolLM2's 32 rotary pairs turns at its own speed (wavelength = tokens per full turn).
Pairs to the left of the dashed line turn many times inside the trained length L, so every angle
is familiar; pairs to the right turn less than once, and past L they reach **angles never seen**.

- **linear** slows every pair by s;
- **NTK-aware** raises the base: fast pairs stay, the slowest is slowed by s;
- **dynamic NTK** does that only once the text is longer than L;
- **YaRN** keeps pairs with > 32 turns, interpolates those with < 1, blends in between, and
  sharpens attention by 0.1·ln s + 1.
"""

EXPERIMENT = """
**The experiment.** SmolLM2 reads the built-in essay (3.4k tokens, written for the gallery) with
each method's rotations fed into its real layers (its config is copied, never changed). It really
was trained to 8,192 tokens, and a 2-core CPU cannot afford > 8k tokens, so we **pretend** its
trained length was L and scale by s without fine-tuning. *No scaling* is the truth here; each
method's gap to it is the price it pays inside the familiar range. Perplexity at n = exp(mean loss
of the first n tokens), from one forward per method (causal: the first n losses of a long run are
those of a run cut at n).
"""


@st.fragment
def scaling() -> None:
    left, right = columns(SCALING, "What the curves show")
    with left:
        factor = st.slider("Scale factor s", 1.0, 8.0, fig.FACTOR, 0.5, key=k("factor"))
        trained = st.select_slider(
            "Trained length L (tokens)", options=[512, 1024, 2048, 4096, 8192],
            value=fig.TRAINED, key=k("trained"), format_func=lambda n: f"{n:,}",
            help="SmolLM2-135M was trained to 8,192. Smaller values pretend it was not.",
        )  # fmt: skip
    curves = rs.scaling_curves(float(factor), int(trained))
    with right:
        st.plotly_chart(fig.wavelengths(curves), width="stretch", key=k("wave"))
        if not presenter():  # the table below says the same in numbers
            st.plotly_chart(fig.angle_ratio(curves), width="stretch", key=k("ratio"))
    rows = [
        {
            "method": fig.NAMES[r["method"]],
            "fastest pair slowed ×": round(r["fastest_slowed"], 3),
            "slowest pair slowed ×": round(r["slowest_slowed"], 3),
            "attention factor": round(r["attention_factor"], 3),
            f"pairs out of range at s·L = {curves['target_len']:,}": r["pairs_out_of_range"],
        }
        for r in rs.method_summary(float(factor), int(trained))
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def render_scaling() -> None:
    scaling()
    show_code(rs.ScalingConfig, rs.linear_inv_freq, rs.ntk_inv_freq, rs.dynamic_alpha,
              rs.yarn_inv_freq, rs.library_config, rs.max_angle_seen)  # fmt: skip


@on_handle(max_entries=4)
def _essay_ids(handle: Handle) -> list[int]:
    return handle.tokenizer(TEXT.read_text(encoding="utf-8"))["input_ids"]


@on_handle(max_entries=16)
def sweep(handle: Handle, lengths: tuple[int, ...], methods: tuple[str, ...], factor: float,
          trained: int) -> tuple[list[dict], bool]:  # fmt: skip
    """The measured perplexities (cached per model and settings), and whether all finished."""
    return rs.measure_scalings(handle.model, _essay_ids(handle), list(lengths), list(methods),
                               factor, trained, PPL_BUDGET_S, handle.device)  # fmt: skip


def _controls():
    trained = st.select_slider("Pretend trained length L", options=[128, 256, 512, 1024, 2048],
                               value=fig.PPL_TRAINED, key=k("ppl_L"))  # fmt: skip
    factor = st.select_slider("Scale factor s", options=[2.0, 4.0, 8.0], value=fig.PPL_FACTOR,
                              key=k("ppl_s"))  # fmt: skip
    methods = st.multiselect("Methods", list(rs.METHODS), default=list(fig.PPL_METHODS),
                             format_func=fig.NAMES.get, key=k("methods"))  # fmt: skip
    lengths = st.multiselect(
        "Lengths (tokens)", PPL_LENGTHS, default=list(fig.PPL_LENGTHS), key=k("lengths"),
        format_func=lambda n: f"{n:,}",
        help="Each method runs one forward over the longest length (dynamic NTK one per length).",
    )  # fmt: skip
    return int(trained), float(factor), methods, lengths


def _result(result: dict) -> None:
    rows = result["rows"]
    if not result["finished"]:
        st.warning(f"Stopped at the {PPL_BUDGET_S:.0f} s budget; the table shows what finished.")
    if not rows:
        return
    st.plotly_chart(fig.perplexity(rows, result["trained"], result["factor"]), width="stretch",
                    key=k("ppl_fig"))  # fmt: skip
    gaps = rs.perplexity_gaps(rows)
    if gaps:
        st.markdown(
            "Against no scaling: "
            + "; ".join(
                f"**{fig.NAMES[m]}** {g['ratio']:.2f}× its perplexity at n = {g['length']:,}"
                for m, g in gaps.items()
            )
            + "."
        )
    wide = pd.DataFrame(rows).pivot(index="length", columns="method", values="ppl")
    st.dataframe(wide.rename(columns=fig.NAMES).round(2), width="stretch")
    cost = rs.forward_cost(rows)
    if cost:
        st.caption(
            f":material/schedule: Measured here ({'CPU' if CPU else 'CUDA'}): the longest "
            f"forward, {cost[0]:,} tokens, took {cost[1]:.1f} s."
        )


def render_perplexity() -> None:
    left, right = columns(EXPERIMENT, "The experiment")
    with left:
        trained, factor, methods, lengths = _controls()
        run = st.button("Measure perplexity", type="primary", key=k("ppl_run"),
                        disabled=not (methods and lengths))  # fmt: skip
        st.caption(
            "What to look for: linear interpolation slows the fast pairs too, so neighbouring "
            "tokens blur and perplexity jumps; NTK-aware and YaRN leave the fast pairs alone and "
            "stay close to no scaling; dynamic NTK is exactly no scaling up to L."
        )
    defaults = (fig.PPL_TRAINED, fig.PPL_FACTOR, list(fig.PPL_METHODS), list(fig.PPL_LENGTHS))
    # The tab opens on the default measurement (a few forwards; cached for every session).
    first = not stored(k("ppl_auto")) and (trained, factor, methods, lengths) == defaults
    if first:
        store(k("ppl_auto"), True)  # once per session, even when the machine was busy
    with right:
        if not methods or not lengths:
            st.info("Pick at least one method and one length.", icon=":material/tune:")
        elif run or first:
            handle = get_model("chat")
            with busy_slot(5, "measuring perplexity") as ok:
                if ok:
                    label = f"Running {handle.choice.label} (budget {PPL_BUDGET_S:.0f} s)…"
                    with st.spinner(label):
                        rows, finished = sweep(handle, tuple(sorted(lengths)), tuple(methods),
                                               factor, trained)  # fmt: skip
                    if not finished:  # a busy machine's partial run: measure again next time
                        sweep.clear()
                    store(k("ppl"), {"rows": rows, "finished": finished, "trained": trained,
                                      "factor": factor})  # fmt: skip
        result = stored(k("ppl"))
        if result and methods and lengths:
            _result(result)
        elif methods and lengths:
            st.info("Press **Measure perplexity** for these settings (cached afterwards).",
                    icon=":material/timer:")  # fmt: skip
    show_code(rs.configs_for_model, rs.cos_sin, rs.hidden_states, rs.token_nll,
              rs.perplexity_sweep)  # fmt: skip
