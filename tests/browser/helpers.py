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


FIGURES = ".js-plotly-plot:visible, iframe:visible"


def drawn(page, selector: str = FIGURES, timeout_s: float = 20.0) -> int:
    """How many figures the page shows, once the first has drawn (plotly draws after the script
    run ends, later still on a cold server): 0 only when none appears within `timeout_s`."""
    try:
        page.locator(selector).first.wait_for(timeout=timeout_s * 1000)
    except Exception:  # Playwright's TimeoutError: nothing drew
        return 0
    return page.locator(selector).count()
