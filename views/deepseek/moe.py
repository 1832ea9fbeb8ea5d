"""Tab 1: a mixture-of-experts GPT trained on the built-in play: expert load with and without
DeepSeek-V3's bias balancing, where the characters go, and dense vs MoE at equal active size."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from figures import deepseek as fig
from models import prepared
from models.moe import state
from models.moe.trainer import VARIANTS, summary_table
from ui.page import folded, page_keys, presenter
from ui.training import prepared_note, training_panel
from ui.widgets import empty_hint, guarded_text, token_spans_html
from views.deepseek import tab_columns

k = page_keys("deepseek")
LESSON = """
Each block's MLP is a **mixture of experts**: one **shared** expert every token uses, and 8
**routed** experts of which a router picks the **top 2** per token by *sigmoid* scores
σ(x·W_r). Only 3 of 9 experts run per token: far more parameters than a token pays for.

Routers collapse: a few experts win early, get the gradients, and win more. DeepSeek-V3 balances
**without an auxiliary loss**: a bias b_e is added to each score *for choosing only*, and after
each step b_e −= γ·sign(load_e − mean). The gate weights stay the unbiased scores.
**max/mean** load is 1.0 when even and 4.0 when every token picks the same two experts.
"""
IDLE = (
    "Trains the balanced MoE, the MoE without balancing and the dense model, one after the "
    "other, the same steps each."
)


@st.cache_resource(show_spinner="Reading the prepared runs…")
def prepared_state(created: str) -> state.Compared:
    return state.read(prepared.path(state.NAME))


def results(c: state.Compared, key: str) -> None:
    """Load per layer (balanced vs not), the 3-seed table, the loss curves, the routing."""
    seed0 = {r["run"]: r["load"] for r in c.runs if r["seed"] == c.runs[0]["seed"]}
    loads = {name: seed0[name] for name in VARIANTS[:2] if name in seed0}
    st.plotly_chart(fig.expert_load(loads), key=k(f"load_{key}"))
    st.table(pd.DataFrame(summary_table(c.runs)).set_index("model"))
    curves = fig.loss_curves(c.rows)
    if curves is not None and not presenter():
        st.plotly_chart(curves, key=k(f"loss_{key}"))
    st.caption(fig.loss_caption(c.rows) or "")
    routing(c, key)


def routing(c: state.Compared, key: str) -> None:
    st.markdown("**Which characters go where** (the balanced MoE, top-1 routed expert)")
    layer = st.radio("Layer", list(range(c.model.cfg.n_layer)), horizontal=True,
                     key=k(f"layer_{key}"))  # fmt: skip
    text = guarded_text("Text to route", "MARA: The wind is up again, Tobin.", k(f"route_{key}"),
                        max_chars=2_000, area=False)  # fmt: skip
    if text.empty:
        empty_hint("a line of the play")
        return
    routes = c.text_routes(text.text)
    pieces = [ch for ch, _ in routes]
    labels = [f"e{r[layer]}" if r else "–" for _, r in routes]
    muted = [i for i, (_, r) in enumerate(routes) if r is None]
    st.html(token_spans_html(pieces, labels=labels, muted=muted))
    if muted:
        st.caption(f"{len(muted):,} character(s) the model never saw are greyed out.")
    if presenter():
        return
    stats = c.held_out_experts()[layer]
    st.caption("On the held-out 10% of the play: " + " · ".join(
        f"e{e} {share:.0%} ({''.join(ch for ch, _ in top[:4])!r})"
        for e, (share, top) in enumerate(stats)))  # fmt: skip


def render() -> None:
    _, right = tab_columns(LESSON)
    with right:
        rec = prepared.record(state.NAME)
        if prepared_note(state.NAME) and rec is not None:
            results(prepared_state(rec.created), "prepared")
    with folded("Train live", icon=":material/play_arrow:"):
        steps = st.select_slider("Steps per model", [100, 200, 300, 600], 300, key=k("steps"))
        seed = st.number_input("Seed", 0, 99, 0, key=k("seed"))
        work = functools.partial(state.train_live, steps, int(seed))
        done = training_panel(k("train"), work=work, budget_s=240, button="Train the three models",
                              curves=fig.loss_curves, caption=fig.loss_caption,
                              idle_text=IDLE)  # fmt: skip
        if isinstance(done, state.Compared):
            results(done, "live")
