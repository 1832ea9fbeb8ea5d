"""The DeepSeek page's tabs, one module each (views/deepseek.py assembles them)."""

from __future__ import annotations

import streamlit as st

from ui.page import lesson, lesson_columns, presenter


def tab_columns(markdown: str):
    """(left, right): the lesson beside the tab's content, or, in presenter mode, the lesson
    folded above and both columns the full width (a projector needs the width, not the prose)."""
    if presenter():
        lesson(markdown)
        return st.container(), st.container()
    return lesson_columns(markdown, ratio=(2, 3))
