"""Real Chromium: each page's main input produces its main output, offline, on the embedded
models, with no request leaving localhost."""

from __future__ import annotations

import pytest

from tests.browser.helpers import exceptions, page_url, type_into, wait_idle

pytestmark = pytest.mark.browser

ANIMAL = "The animal did not cross the street because it was too tired"


def _plots(page, at_least: int = 1, timeout_s: float = 20.0) -> int:
    """How many plotly charts the page shows, waiting up to `timeout_s` for `at_least` of them
    (plotly draws after the script run ends, later still on a busy machine)."""
    charts = page.locator(".js-plotly-plot")
    for _ in range(int(timeout_s * 4)):
        if charts.count() >= at_least:
            break
        page.wait_for_timeout(250)
    return charts.count()


def _clean(visit) -> None:
    assert exceptions(visit.page) == []
    assert visit.foreign == [], visit.foreign[:3]
    assert visit.dialogs == []


def _open(visit, app_url: str, page_file: str):
    visit.page.goto(page_url(app_url, page_file))
    wait_idle(visit.page)
    return visit.page


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)
    wait_idle(page)


def test_attention_draws_bertviz_svg_and_a_heatmap(app_url, visit):
    page = _open(visit, app_url, "views/attention.py")
    type_into(page, "Your sentence", ANIMAL)
    svg = page.frame_locator("iframe").first.locator("svg")
    svg.first.wait_for(timeout=60_000)
    assert svg.count() >= 1
    _tab(page, "Heatmaps")
    assert _plots(page) >= 1
    _clean(visit)


def test_architecture_shows_both_parameter_counts(app_url, visit):
    page = _open(visit, app_url, "views/architecture.py")
    type_into(page, "Sentence", ANIMAL)
    _tab(page, "Where the parameters are")
    assert "22,713,216" in page.inner_text("body")
    page.get_by_text("Decoder (Llama-like)").click()
    page.wait_for_timeout(300)
    wait_idle(page)
    assert "134,515,008" in page.inner_text("body")
    assert _plots(page) >= 1
    _clean(visit)


def test_positions_draws_its_charts(app_url, visit):
    page = _open(visit, app_url, "views/positions.py")
    type_into(page, "A sentence for the real-model parts", "Positions matter in attention.")
    assert _plots(page, 2) >= 2
    for tab in ("Learned (MiniLM)", "RoPE in SmolLM2"):
        _tab(page, tab)
        assert page.locator(".js-plotly-plot:visible").count() >= 2, tab
    _clean(visit)


def test_use_cases_answers_all_five_on_embedded_models(app_url, visit):
    """Each tab is lazy (only the open one computes): its Run gives an answer in that tab."""
    page = _open(visit, app_url, "views/use_cases.py")
    tabs = {
        "Machine translation": "translate",
        "Question answering": "qa",
        "Text generation": "generate",
        "Text classification": "classify",
        "Named entity recognition": "ner",
    }
    for tab, task in tabs.items():
        _tab(page, tab)
        page.locator("button:visible", has_text="Run").first.click()
        page.wait_for_timeout(500)
        wait_idle(page, timeout=240)
        box = page.locator(f".st-key-uc--{task}--result")
        assert box.get_by_text("Answered by").count() >= 1, f"{tab}: no answer caption"
        # the embedded models, or the projects' own (Project 1's classifier, Project 3's tagger)
        shown = box.inner_text()
        assert "embedded, runs offline" in shown or "trained on this machine" in shown, tab
    _clean(visit)
