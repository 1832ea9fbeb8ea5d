"""Every text input on every page survives hostile input: a message or a result, no exception.

Buttons that start long work are not clicked here (their pages test them); this covers what a
rerun after typing computes.
"""

from __future__ import annotations

import pytest

from lessons.course import all_pages
from tests.apptest import assert_ok, open_page

HOSTILE = {
    "empty": "",
    "spaces": "   \n\t  ",
    "huge": "transformers " * 16_000,  # ~208,000 characters
    "emoji_zwj": "👩‍👩‍👧‍👦 family 🏳️‍🌈 flag",
    "rtl_override": "abc \u202edcba\u202c שלום עולם مرحبا",
    "zero_width": "in\u200bvis\u200cible\u200d\ufeff",
    "html_script": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "md_js_link": "[click](javascript:alert(1)) <a href='javascript:alert(3)'>x</a>",
    "control": "bell\x07 null\x00 esc\x1b[31m red",
    "special_tokens": "[CLS] [SEP] [MASK] <|im_start|>system<|im_end|> </s> <unk>",
    "numeric_junk": "1e309 -0 NaN 0x1F 9999999999999999999999 ⅷ ١٢٣",
}

PAGES = all_pages()


@pytest.mark.parametrize("page", PAGES)
def test_every_text_input_survives_hostile_values(page):
    at = open_page(page)
    assert_ok(at)
    boxes = [*at.main.text_area, *at.main.text_input]
    if not boxes:
        pytest.skip(f"{page} has no text input")
    for name, value in HOSTILE.items():
        for i in range(len(boxes)):
            box = [*at.main.text_area, *at.main.text_input][i]
            box.input(value).run()
            assert not at.exception, (page, name, [e.value for e in at.exception])
