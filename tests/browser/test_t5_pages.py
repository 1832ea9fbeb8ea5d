"""Real Chromium, presenter mode: every tab of the T5 and Project 3 pages renders offline, with
no exception, and fits in two 1000-px screens."""

from __future__ import annotations

import pytest

from scripts.browser import main_height
from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

SCREEN = 1000
TABS = {
    "views/t5.py": ["Span corruption", "Relative positions", "Three attentions", "Text-to-text"],
    "views/t5_ner.py": ["Prepared taggers", "Train live", "Your sentence", "AutoTrain"],
}


@pytest.mark.parametrize("page_file", list(TABS), ids=["t5", "t5_ner"])
def test_every_tab_renders_and_fits_two_screens(app_url, visit, page_file):
    page = visit.page
    page.set_viewport_size({"width": 1400, "height": SCREEN})
    page.goto(page_url(app_url, page_file) + "?presenter=1")
    wait_idle(page, timeout=240)
    heights = {"(first)": main_height(page)}
    for label in TABS[page_file]:
        page.get_by_role("tab", name=label).click()
        page.wait_for_timeout(300)
        wait_idle(page, timeout=240)
        heights[label] = main_height(page)
        assert exceptions(page) == [], label
    assert all(h <= 2 * SCREEN for h in heights.values()), heights
    assert visit.foreign == [] and visit.page_errors == []
