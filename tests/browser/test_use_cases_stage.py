"""Real Chromium, presenter mode: every Use cases tab, after its Run, answers in its own result
area and fits in two 1000-px screens, with no exception and no request leaving localhost."""

from __future__ import annotations

import pytest

from scripts.browser import main_height
from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

SCREEN = 1000
TABS = {
    "Machine translation": "translate",
    "Question answering": "qa",
    "Text generation": "generate",
    "Text classification": "classify",
    "Named entity recognition": "ner",
}


def test_every_tab_answers_and_fits_two_screens_in_presenter_mode(app_url, visit):
    page = visit.page
    page.set_viewport_size({"width": 1400, "height": SCREEN})
    page.goto(page_url(app_url, "views/use_cases.py") + "?presenter=1")
    wait_idle(page, timeout=240)
    assert page.get_by_role("switch", name="Presenter mode").is_checked()
    heights = {}
    for tab, task in TABS.items():
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        wait_idle(page, timeout=120)
        page.locator("button:visible", has_text="Run").first.click()
        page.wait_for_timeout(500)
        wait_idle(page, timeout=240)
        box = page.locator(f".st-key-uc--{task}--result")
        assert box.get_by_text("Answered by").count() >= 1, f"{tab}: no answer in its box"
        heights[tab] = main_height(page)
        assert exceptions(page) == [], tab
    print("use cases, presenter-mode heights after Run (px):", heights)  # pytest -s
    assert all(h <= 2 * SCREEN for h in heights.values()), heights
    assert visit.foreign == [] and visit.page_errors == []
