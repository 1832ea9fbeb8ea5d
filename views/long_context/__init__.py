"""The Long-context page's sections, one module per tab. The page itself is
views/long_context.py (its address stays /long_context); it calls the open tab's `render`."""

from __future__ import annotations

import streamlit as st

from ui.page import lesson


def columns(prose: str, label: str):
    """The tab's layout: the controls under the (foldable) prose on the left, a wide right."""
    left, right = st.columns([1, 2])
    with left:
        lesson(prose, label=label)
    return left, right
