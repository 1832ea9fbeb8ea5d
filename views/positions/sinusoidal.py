"""Tab 1: the 2017 paper's sinusoidal table, and why its dot products see only the offset."""

from __future__ import annotations

import streamlit as st

from figures import positions as fig
from lessons import sinusoidal
from ui.page import lesson
from ui.widgets import show_code
from views.positions.common import base_slider, k


@st.fragment
def _figures() -> None:
    c1, c2, c3 = st.columns(3)
    d_model = c1.slider("Dimension d_model", 16, 512, 128, step=16, key=k("sin_d"))
    with c2:
        base = base_slider("Base", "sin_base", 10_000)
    n_pos = c3.slider("Number of positions", 16, 512, 128, step=16, key=k("sin_T"))
    cfg = sinusoidal.SinusoidalConfig(n_positions=n_pos, d_model=d_model, base=base)
    left, right = st.columns(2)
    left.plotly_chart(
        fig.table(sinusoidal.sinusoidal_table(cfg).numpy(),
                  "PE[p, j]: fast clocks on the left, slow ones on the right",
                  "dimension j (even = sin, odd = cos)", "position p (tokens)", "value"),
        key=k("sin_table"),
    )  # fmt: skip
    curves, closed = sinusoidal.offset_curves(cfg)
    series = [(f"from p = {p:,}", c.numpy(), None) for p, c in curves.items()]
    right.plotly_chart(
        fig.lines([*series, ("Σ cos(k·ω_i)", closed.numpy(), None)],
                  "PE[p]·PE[p+k] is the same curve for every p", "offset k (tokens)",
                  "dot product (max = d_model / 2)"),
        key=k("sin_dot"),
    )  # fmt: skip


def render() -> None:
    lesson(
        "Pair *i* of dimensions holds sin and cos of $p\\,\\omega_i$ with "
        "$\\omega_i = \\text{base}^{-2i/d}$: a clock per pair, fast on the left, slow on the "
        "right. Because $\\sin a \\sin b + \\cos a \\cos b = \\cos(a-b)$, the dot product of two "
        "positions depends **only on their offset** (all curves overlap) and falls off as the "
        "offset grows. Raise the base: the slow clocks slow down and the curve decays later."
    )
    _figures()
    show_code(
        sinusoidal.SinusoidalConfig,
        sinusoidal.frequencies,
        sinusoidal.sinusoidal_table,
        sinusoidal.dot_vs_offset,
        sinusoidal.dot_closed_form,
    )
