"""Real Chromium: every page renders, nothing leaves localhost, nothing typed runs."""

from __future__ import annotations

import pytest

from lessons.course import all_pages
from tests.browser.helpers import exceptions, page_url, type_into, wait_idle

pytestmark = pytest.mark.browser

PAGES = all_pages()


@pytest.mark.parametrize("page_file", PAGES, ids=lambda p: p.rsplit("/", 1)[-1][:-3])
def test_page_renders_offline(app_url, visit, page_file):
    visit.page.goto(page_url(app_url, page_file))
    wait_idle(visit.page)
    boxes = visit.page.locator('[data-testid="stMain"]').get_by_role("textbox")
    if boxes.count():  # the page's main input takes a new sentence and re-renders
        boxes.first.fill("A new sentence typed in a real browser, with émojis 👩‍👩‍👧 too.")
        boxes.first.press("Control+Enter")
        visit.page.wait_for_timeout(300)
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


def test_tokenization_shows_wordpiece_and_bpe_pieces_with_ids(app_url, visit):
    page = visit.page
    page.goto(page_url(app_url, "views/tokenization.py"))
    wait_idle(page)
    type_into(page, "Text to tokenize", "Transformers tokenize unbelievably well")
    body = page.inner_text("body")
    for piece in ("token", "##ize", "un", "##bel", "Ġtoken", "Ġunbelie"):
        assert piece in body, piece
    # SmolLM2's ids for " token" and " unbelie" (checked against the tokenizer in test_models).
    assert "9624" in body and "33282" in body
    assert exceptions(page) == [] and visit.foreign == []


def test_typed_script_is_shown_as_text_and_never_runs(app_url, visit):
    page = visit.page
    page.goto(page_url(app_url, "views/tokenization.py"))
    wait_idle(page)
    type_into(page, "Text to tokenize", "<script>alert(1)</script><img src=x onerror=alert(2)>")
    assert visit.dialogs == []
    assert "<script>" in page.inner_text("body")  # visible as text
    assert page.locator("img[src='x']").count() == 0
    assert exceptions(page) == [] and visit.foreign == []
