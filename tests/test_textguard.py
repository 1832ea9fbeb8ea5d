"""The input guard and the escaped token renderer: examples and properties (hypothesis)."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from models.textguard import guard_text
from ui.widgets import token_spans_html, visible_ws


def test_long_input_is_capped_with_a_notice():
    g = guard_text("a" * 200_000, max_chars=5_000)
    assert len(g.text) == 5_000 and g.truncated and g.original_chars == 200_000
    assert any("200,000" in n and "5,000" in n for n in g.notices)


def test_empty_and_whitespace_are_empty_not_errors():
    assert guard_text("").empty and guard_text("  \n\t ").empty
    assert guard_text(None).empty


def test_wrong_types_are_converted_with_a_notice():
    g = guard_text(12345)
    assert g.text == "12345" and "int" in g.notices[0]
    assert guard_text(b"caf\xc3\xa9").text == "café"


def test_bidi_overrides_zero_width_and_controls_are_removed_but_emoji_joiners_kept():
    family = "👩\u200d👩\u200d👧"
    g = guard_text(f"ab\u202ecd\u202c x\u200by {family} bell\x07 nul\x00 keep\nnewline\ttab")
    assert "\u202e" not in g.text and "\u200b" not in g.text
    assert "\x07" not in g.text and "\x00" not in g.text
    assert family in g.text  # ZWJ sequences survive
    assert "\n" in g.text and "\t" in g.text
    assert g.removed == 5 and g.notices


def test_rtl_text_is_kept():
    assert guard_text("שלום עולם مرحبا").text == "שלום עולם مرحبا"


def test_token_spans_escape_markup():
    out = token_spans_html(["<script>", "alert(1)", "</script>", '" onmouseover="x'])
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert 'onmouseover="x' not in out


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3000), st.integers(min_value=1, max_value=2000))
def test_guard_properties(text, cap):
    g = guard_text(text, max_chars=cap)
    assert len(g.text) <= cap
    assert g.truncated == (len(text) > cap)
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in g.text)
    assert all(c in "\n\t" or ord(c) >= 32 for c in g.text if ord(c) < 0x7F)
    assert guard_text(g.text, max_chars=cap).text == g.text  # idempotent


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=20), max_size=30), st.booleans())
def test_token_spans_never_contain_raw_markup(pieces, ws):
    out = token_spans_html(pieces, titles=pieces, show_ws=ws)
    # Each piece appears escaped; no unescaped '<' other than our own span/div tags.
    stripped = out.replace("<span", "").replace("</span>", "").replace("<div", "")
    stripped = stripped.replace("</div>", "")
    assert "<" not in stripped
    for p in pieces:
        shown = visible_ws(p) if ws else p
        if shown:
            assert html.escape(shown) in out
