"""Waiting for Streamlit in a real browser."""

from __future__ import annotations

from scripts.browser import exceptions, page_url, wait_idle  # noqa: F401


def type_into(page, label: str, text: str) -> None:
    """Fill a Streamlit text box by its label and submit it (Ctrl+Enter), then wait."""
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Control+Enter")
    page.wait_for_timeout(300)
    wait_idle(page)
