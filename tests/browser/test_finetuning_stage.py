"""Real Chromium, presenter mode: every tab of the Fine-tuning techniques and LoRA pages fits in
two 1000-px screens, with no exception and no request leaving localhost."""

from __future__ import annotations

import pytest

from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

MAX_HEIGHT = 2 * 1000  # two screens of the 1400 × 1000 viewport
TABS = {
    "views/finetuning.py": ["Curves & cost", "Memory", "Forgetting"],
    "views/lora.py": ["Adapter off / on", "Merge & spectrum", "α / r", "QLoRA"],
}


def _height(page) -> int:
    return page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")


@pytest.mark.parametrize("page_file", list(TABS), ids=lambda p: p.rsplit("/", 1)[-1][:-3])
def test_every_tab_fits_two_screens_in_presenter_mode(app_url, visit, page_file):
    page = visit.page
    page.goto(page_url(app_url, page_file) + "?presenter=1")
    wait_idle(page, timeout=240)
    heights = {}
    for label in TABS[page_file]:
        tab = page.get_by_role("tab", name=label)
        if tab.count() == 0:  # the fine-tuning tabs appear once a comparison exists; before,
            # the page must say how to make one
            assert page.get_by_text("has not been prepared on this machine").count() > 0, label
            continue
        tab.click()
        page.wait_for_timeout(300)
        wait_idle(page, timeout=120)
        heights[label] = _height(page)
        assert exceptions(page) == [], label
    assert all(h <= MAX_HEIGHT for h in heights.values()), heights
    assert visit.foreign == [] and visit.page_errors == []
