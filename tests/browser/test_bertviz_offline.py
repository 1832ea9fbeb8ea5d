"""bertviz's generated views, with their JavaScript vendored, draw in Chromium with every
request blocked; a hostile token cannot run script."""

from __future__ import annotations

import pytest

from lessons import attention as A
from lessons import bertviz_offline as BV
from tests.test_attention import HOSTILE, SENTENCE


@pytest.mark.browser
@pytest.mark.parametrize("view", ["head", "model"])
def test_bertviz_draws_svg_in_chromium_with_no_network(minilm, browser, view):
    run = A.run_attention(minilm.model, minilm.tokenizer, SENTENCE + HOSTILE)
    page_html = BV.bertviz_html(run.attentions, run.tokens, BV.BertvizConfig(view=view))
    requests, errors, dialogs = [], [], []
    ctx = browser.new_context()
    try:
        ctx.route("**/*", lambda route: (requests.append(route.request.url), route.abort()))
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.set_content(page_html)
        page.wait_for_selector("#vis svg", timeout=15_000)
        texts = page.locator("svg text").all_text_contents()
    finally:
        ctx.close()
    assert requests == [] and errors == [] and dialogs == []
    if view == "head":
        assert "animal" in texts and "tired" in texts  # real tokens drawn as text nodes
