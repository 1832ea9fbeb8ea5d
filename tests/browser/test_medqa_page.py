"""Real Chromium, presenter mode: every tab of Project 6 (LitGPT medical QA) stays well inside two
1000-px screens (1,700 px here: the CI machine's fonts wrap more), with no exception and no
request leaving localhost."""

from __future__ import annotations

import pytest

from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

MAX_HEIGHT = 1_700
TABS = ["Training", "Before / after answers", "Llama 3.1 8B on a GPU"]


def test_every_medqa_tab_fits_in_presenter_mode(app_url, visit):
    page = visit.page
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(page_url(app_url, "views/medqa.py") + "?presenter=1")
    wait_idle(page, timeout=240)
    heights = {}
    for label in TABS:
        page.get_by_role("tab", name=label).click()
        page.wait_for_timeout(300)
        wait_idle(page, timeout=120)
        heights[label] = page.evaluate(
            "document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
        )
        assert exceptions(page) == [], label
    print("medqa presenter-mode heights (px):", heights)
    assert all(h <= MAX_HEIGHT for h in heights.values()), heights
    assert visit.foreign == [] and visit.page_errors == []
