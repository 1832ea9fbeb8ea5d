"""Real Chromium: Project 1 trains live (background job, curves, results) with no network."""

from __future__ import annotations

import pytest

from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser


def test_sentiment_trains_live_and_shows_results(app_url, visit):
    page = visit.page
    page.goto(page_url(app_url, "views/sentiment.py"))
    wait_idle(page)
    slider = page.get_by_role("slider", name="Time budget (seconds)")
    slider.focus()
    slider.press("Home")  # the minimum budget: 10 s
    page.wait_for_timeout(300)
    wait_idle(page)
    page.get_by_role("button", name="Train").click()
    page.get_by_text("Finished in").wait_for(timeout=240_000)  # may wait for a busy slot first
    # The results come with the full rerun the finished run asks for, a moment after "Finished":
    # wait for them, not for the page to look quiet (on a busy machine that rerun comes late).
    page.get_by_text("Best validation accuracy").wait_for(timeout=60_000)
    wait_idle(page, timeout=120)
    # Curves, then the confusion matrix (plotly draws after the run's last rerun).
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    assert exceptions(page) == [] and visit.foreign == []
