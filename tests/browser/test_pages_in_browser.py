"""Real Chromium: every page renders, nothing leaves localhost, nothing typed runs."""

from __future__ import annotations

import pytest

from lessons.course import built_topics
from tests.browser.helpers import exceptions, page_url, wait_idle

pytestmark = pytest.mark.browser

PAGES = [None] + [t.page for t in built_topics()]


@pytest.mark.parametrize("page_file", PAGES, ids=lambda p: p or "home")
def test_page_renders_offline(app_url, visit, page_file):
    visit.page.goto(page_url(app_url, page_file))
    wait_idle(visit.page)
    assert exceptions(visit.page) == []
    assert visit.page.locator("h1").count() >= 1
    assert visit.foreign == [], f"requests left localhost: {visit.foreign[:5]}"
    assert visit.page_errors == []


def test_home_lists_course_and_sidebar_state(app_url, visit):
    visit.page.goto(app_url + "/")
    wait_idle(visit.page)
    body = visit.page.inner_text("body")
    assert "Course map" in body and "Named entity recognition" in body
    assert "Offline" in body
    assert visit.foreign == []
