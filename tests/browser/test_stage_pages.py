"""Real Chromium, presenter mode: every tab of the Tokenization, Long-context and GPT pages fits
in two 1000-px screens, draws its figures, and the steppers work from the keyboard."""

from __future__ import annotations

import pytest

from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

MAX_HEIGHT = 2 * 1000  # two screens of the 1400 × 1000 viewport
TABS = {
    "views/tokenization.py": ["Side by side", "Train your own", "BPE from scratch, merge by merge"],
    "views/long_context.py": [
        "RoPE scaling", "Measured perplexity", "Online softmax", "Memory traffic", "Benchmark",
    ],
    "views/gpt.py": [
        "Next-token distribution", "Step by step", "Streamed answer", "What the newest token sees",
    ],
}  # fmt: skip


def _height(page) -> int:
    return page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")


def _open_presenting(visit, app_url: str, page_file: str):
    page = visit.page
    page.goto(page_url(app_url, page_file))
    wait_idle(page)
    page.get_by_text("Presenter mode").click()
    page.wait_for_timeout(300)
    wait_idle(page)
    return page


def _press(page, name: str) -> None:
    """Reach a button with the keyboard (focus, then Enter), as a presenter with a clicker."""
    page.get_by_role("button", name=name).focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    wait_idle(page)


@pytest.mark.parametrize("page_file", list(TABS), ids=lambda p: p.rsplit("/", 1)[-1][:-3])
def test_every_tab_fits_two_screens_in_presenter_mode(app_url, visit, page_file):
    page = _open_presenting(visit, app_url, page_file)
    heights, plots = {}, {}
    for label in TABS[page_file]:
        page.get_by_role("tab", name=label).click()
        page.wait_for_timeout(300)
        wait_idle(page)
        heights[label] = _height(page)
        plots[label] = page.locator(".js-plotly-plot:visible").count()
        assert exceptions(page) == [], label
    print(page_file, "presenter-mode heights (px):", heights)  # shown with pytest -s
    assert all(h <= MAX_HEIGHT for h in heights.values()), heights
    assert sum(n > 0 for n in plots.values()) >= 2, plots  # figures draw in the tabs
    assert visit.foreign == [] and visit.page_errors == []


def _presenting_tab(visit, app_url: str, page_file: str, label: str):
    page = _open_presenting(visit, app_url, page_file)
    page.get_by_role("tab", name=label).click()
    page.wait_for_timeout(300)
    wait_idle(page)
    return page


def test_steppers_work_from_the_keyboard(app_url, visit):
    page = _presenting_tab(
        visit, app_url, "views/tokenization.py", TABS["views/tokenization.py"][2]
    )
    _press(page, "Next ▶")
    assert "Merge 2 of 120" in page.inner_text("body")
    _press(page, "◀ Prev")
    assert "Merge 1 of 120" in page.inner_text("body")
    page = _presenting_tab(visit, app_url, "views/long_context.py", "Online softmax")
    slider = page.get_by_test_id("stSlider").filter(has_text="Step (tile)")
    tile = slider.get_by_test_id("stSliderThumbValue")  # the step the slider shows
    assert tile.inner_text() == "1"
    _press(page, "Next ▶")
    _press(page, "Next ▶")
    assert tile.inner_text() == "3"
    _press(page, "◀ Prev")
    assert tile.inner_text() == "2"
    page = _presenting_tab(visit, app_url, "views/gpt.py", "Step by step")
    _press(page, "Next token")
    assert "Last pick" in page.inner_text("body")
    _press(page, "Back")
    assert "Last pick" not in page.inner_text("body")
    assert exceptions(page) == [] and visit.foreign == []
