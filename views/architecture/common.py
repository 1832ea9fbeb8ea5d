"""What the architecture tabs share: session keys, the trace config, cached model work."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from figures import architecture as fig
from lessons import architecture as arch
from lessons import parameter_count as pc
from ui.page import on_handle, page_keys

k = page_keys("arch")
CFG = arch.TraceConfig()


@on_handle(max_entries=32, show_spinner="Running the forward pass stage by stage…")
def trace(handle: Any, text: str) -> arch.TraceView:
    return arch.trace_view(handle.model, handle.tokenizer, text, CFG)


@st.cache_resource(show_spinner=False)
def family_figures(narrow: bool) -> tuple[go.Figure, go.Figure]:
    """The three families' diagram and masks: the same for every session, built once (read-only:
    st.plotly_chart copies a figure, it never changes it)."""
    return fig.diagram(), fig.masks(narrow=narrow)


@on_handle(max_entries=8)
def parameters(handle: Any) -> pc.ParamSummary:
    return pc.parameter_summary(handle.model)
