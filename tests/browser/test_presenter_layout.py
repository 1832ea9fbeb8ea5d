"""Real Chromium, presenter mode (a projector): every page fits in two 1000-px screens."""

from __future__ import annotations

import pytest

from scripts.browser import main_height, pages
from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

SCREEN = 1000


@pytest.mark.parametrize("page_file", pages(), ids=lambda p: p.rsplit("/", 1)[-1][:-3])
def test_presenter_mode_page_fits_two_screens(app_url, visit, page_file):
    page = visit.page
    page.set_viewport_size({"width": 1400, "height": SCREEN})
    page.goto(page_url(app_url, page_file) + "?presenter=1")
    wait_idle(page, timeout=240)
    assert page.get_by_role("switch", name="Presenter mode").is_checked()
    height = main_height(page)
    assert height <= 2 * SCREEN, f"{page_file}: {height} px in presenter mode"
    assert exceptions(page) == [] and visit.foreign == []
