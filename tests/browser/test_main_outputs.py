"""Real Chromium: each page's main input produces its main output, offline, on the embedded
models, with no request leaving localhost."""

from __future__ import annotations

import pytest

from tests.browser.helpers import exceptions, page_url, type_into, wait_idle

pytestmark = pytest.mark.browser

ANIMAL = "The animal did not cross the street because it was too tired"


def _plots(page) -> int:
    return page.locator(".js-plotly-plot").count()


def _clean(visit) -> None:
    assert exceptions(visit.page) == []
    assert visit.foreign == [], visit.foreign[:3]
    assert visit.dialogs == []


def test_attention_draws_bertviz_svg_and_a_heatmap(app_url, visit):
    page = visit.page
    page.goto(page_url(app_url, "views/attention.py"))
    wait_idle(page)
    type_into(page, "Your sentence", ANIMAL)
    svg = page.frame_locator("iframe").first.locator("svg")
    svg.first.wait_for(timeout=60_000)
    assert svg.count() >= 1
    page.get_by_role("tab", name="Heatmaps").click()
    page.wait_for_timeout(500)
    assert _plots(page) >= 1
    _clean(visit)


def test_architecture_shows_both_parameter_counts(app_url, visit):
    page = visit.page
    page.goto(page_url(app_url, "views/architecture.py"))
    wait_idle(page)
    type_into(page, "Sentence", ANIMAL)
    assert "22,713,216" in page.inner_text("body")
    page.get_by_text("Decoder (Llama-like)").click()
    page.wait_for_timeout(300)
    wait_idle(page)
    assert "134,515,008" in page.inner_text("body")
    assert _plots(page) >= 1
    _clean(visit)


def test_positions_draws_its_charts(app_url, visit):
    page = visit.page
    page.goto(page_url(app_url, "views/positions.py"))
    wait_idle(page)
    type_into(page, "A sentence for the real-model parts", "Positions matter in attention.")
    assert _plots(page) >= 2
    for tab in ("Learned (MiniLM)", "Rotary / RoPE (SmolLM2)"):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        wait_idle(page)
    assert _plots(page) >= 6
    _clean(visit)


def test_use_cases_answers_all_five_on_embedded_models(app_url, visit):
    page = visit.page
    page.goto(page_url(app_url, "views/use_cases.py"))
    wait_idle(page)
    tabs = [
        "Machine translation",
        "Question answering",
        "Text generation",
        "Text classification",
        "Named entity recognition",
    ]
    for n, tab in enumerate(tabs, 1):
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(200)
        page.locator("button:visible", has_text="Run").first.click()
        page.wait_for_timeout(500)
        wait_idle(page, timeout=240)
        answered = page.get_by_text("Answered by").count()
        assert answered >= n, f"{tab}: no answer caption"
    body = page.inner_text("body")
    assert "(embedded)" in body
    _clean(visit)
