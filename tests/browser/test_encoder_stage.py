"""Real Chromium, presenter mode: every tab of the BERT & RoBERTa, Knowledge distillation and
DistilBERT pages fits in two 1000-px screens, draws its figures and shows no exception."""

from __future__ import annotations

import pytest

from scripts.browser import main_height
from tests.browser.helpers import drawn, exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

SCREEN = 1000
TABS = {
    "views/bert_roberta.py": ["Tokenizers", "Contextual embeddings", "Masking", "Fill-mask",
                              "Why pre-training matters"],
    "views/distillation.py": ["Soft targets at several temperatures", "Distil a review classifier"],
    "views/distilbert.py": [],
}  # fmt: skip
# The prepared state each page's lesson opens on: with it, one more tab draws its figures.
PREPARED = {"views/bert_roberta.py": "pretraining-compare", "views/distillation.py": "distill"}


@pytest.mark.parametrize("page_file", list(TABS), ids=lambda p: p.rsplit("/", 1)[-1][:-3])
def test_every_tab_fits_two_screens_in_presenter_mode(app_url, visit, page_file):
    page = visit.page
    page.set_viewport_size({"width": 1400, "height": SCREEN})
    page.goto(page_url(app_url, page_file) + "?presenter=1")
    wait_idle(page, timeout=240)
    heights, plots = {"(first)": main_height(page)}, {}
    for label in TABS[page_file]:
        page.get_by_role("tab", name=label).click()
        page.wait_for_timeout(300)
        wait_idle(page, timeout=240)
        heights[label] = main_height(page)
        plots[label] = drawn(page, ".js-plotly-plot:visible", 10)
        assert exceptions(page) == [], label
    assert all(h <= 2 * SCREEN for h in heights.values()), heights
    if TABS[page_file]:
        from models import prepared

        # Figures draw in the tabs: two of them once the lesson's prepared state exists (on a
        # clean clone the prepared tab shows how to make it instead).
        need = 2 if prepared.ready(PREPARED[page_file]) else 1
        assert sum(n > 0 for n in plots.values()) >= need, plots
    assert exceptions(page) == [] and visit.foreign == [] and visit.page_errors == []
