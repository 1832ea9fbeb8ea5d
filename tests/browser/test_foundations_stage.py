"""Real Chromium, presenter mode: every tab of the Attention, High-level architecture and Position
embeddings pages fits in two 1000-px screens and draws its figures; the first figure starts above
the fold; the architecture stage explorer steps from the keyboard."""

from __future__ import annotations

import pytest

from tests.browser.helpers import drawn as figures_drawn
from tests.browser.helpers import exceptions, wait_idle
from tests.browser.test_stage_pages import MAX_HEIGHT, _height, _open_presenting, _press

pytestmark = pytest.mark.browser

TABS = {
    "views/attention.py": [
        "bertviz", "Heatmaps", "One head by hand", "Encoder vs decoder", "Head finder",
    ],
    "views/architecture.py": ["The three families", "One forward pass", "Where the parameters are"],
    "views/positions.py": [
        "Sinusoidal", "Learned (MiniLM)", "RoPE: the rotation", "RoPE in SmolLM2",
    ],
}  # fmt: skip
FIRST_FIGURE = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const f = main.querySelector('.js-plotly-plot, iframe');
  return f ? f.getBoundingClientRect().top + main.scrollTop : -1;
}"""


def _open_tab(page, label: str) -> None:
    page.get_by_role("tab", name=label).click()
    page.wait_for_timeout(300)
    wait_idle(page)


@pytest.mark.parametrize("page_file", list(TABS), ids=lambda p: p.rsplit("/", 1)[-1][:-3])
def test_every_tab_fits_two_screens_in_presenter_mode(app_url, visit, page_file):
    page = _open_presenting(visit, app_url, page_file)
    top = page.evaluate(FIRST_FIGURE)
    assert 0 < top < 600, top  # the first chart starts on the first screen
    heights, drawn = {}, {}
    for label in TABS[page_file]:
        _open_tab(page, label)
        heights[label] = _height(page)
        drawn[label] = figures_drawn(page)
        assert exceptions(page) == [], label
    print(page_file, "first figure at", top, "px; presenter-mode heights (px):", heights)
    assert all(h <= MAX_HEIGHT for h in heights.values()), heights
    assert all(n > 0 for n in drawn.values()), drawn
    assert visit.foreign == [] and visit.page_errors == []


def test_stage_explorer_steps_from_the_keyboard(app_url, visit):
    page = _open_presenting(visit, app_url, "views/architecture.py")
    _open_tab(page, "One forward pass")
    assert "block 5 · residual after FFN" in page.inner_text("body")
    _press(page, "Next ▶")
    assert "sentence embedding (mean pooling)" in page.inner_text("body")
    _press(page, "◀ Prev")
    _press(page, "◀ Prev")
    assert "block 5 · feed-forward output" in page.inner_text("body")
    assert exceptions(page) == [] and visit.foreign == []
