"""Real Chromium, presenter mode: each tab of Project 2 (summarization, with the abstractive
summaries written) and Project 4 (GPT from scratch) fits in two 1000-px screens, draws its
figures and shows no exception."""

from __future__ import annotations

import pytest

from scripts.browser import main_height
from tests.browser.helpers import drawn, exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

SCREEN = 1000
SUM, GPT = "views/summarization.py", "views/gpt_scratch.py"
# (page, tab, a button to press first for the tab's tallest state, figures it must draw)
CASES = [
    (SUM, "Article, highlighted", None, 0),
    (SUM, "Scores", None, 1),
    (SUM, "Similarity", None, 1),
    (SUM, "Embedding map", None, 1),
    (SUM, "Abstractive", "Write abstractive summaries", 0),
    (GPT, "The prepared model", None, 0),
    (GPT, "Train live", None, 0),
    (GPT, "Save & reload", None, 0),
]


def _settle(page) -> None:
    page.wait_for_timeout(300)
    wait_idle(page, timeout=240)


@pytest.mark.parametrize(
    ("page_file", "tab", "press", "figures"), CASES, ids=[f"{p[6:-3]}-{t}" for p, t, *_ in CASES]
)
def test_tab_fits_two_screens_in_presenter_mode(app_url, visit, page_file, tab, press, figures):
    page = visit.page
    page.set_viewport_size({"width": 1400, "height": SCREEN})
    page.goto(page_url(app_url, page_file) + "?presenter=1")
    _settle(page)
    page.get_by_role("tab", name=tab).click()
    _settle(page)
    if press:
        page.get_by_role("button", name=press).click()
        _settle(page)
        assert "ROUGE F1" in page.inner_text("body")  # the summaries were written
    height = main_height(page)
    print(page_file, tab, "presenter-mode height:", height, "px")  # shown with pytest -s
    assert height <= 2 * SCREEN, f"{page_file} / {tab}: {height} px"
    assert (drawn(page, ".js-plotly-plot:visible") if figures else 0) >= figures
    assert exceptions(page) == [] and visit.foreign == [] and visit.page_errors == []
