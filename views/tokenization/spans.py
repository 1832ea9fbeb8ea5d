"""Colored token spans over the original text, shared by the page's three tabs."""

from __future__ import annotations

from lessons import tokenization
from lessons.tokenization import Span, Token
from ui.widgets import token_spans_html


def _title(span: Span, tokens: list[Token]) -> str:
    if not span.tokens:
        return "not part of any token (skipped by the pre-tokenizer)"
    return " | ".join(
        f"#{i} id {tokens[i].id} {tokens[i].piece!r} [{tokens[i].start}:{tokens[i].end}]"
        + (" special" if tokens[i].special else "")
        for i in span.tokens
    )


def spans_html(
    text: str,
    tokens: list[Token],
    show_ws: bool,
    show_special: bool = True,
    mute_chars: bool = False,
) -> str:
    """The text cut at the tokens' offsets; gray: gaps, inserted tokens and, with mute_chars,
    pieces that are still one character. Everything is escaped."""
    spans = tokenization.align(text, tokens, show_special)
    muted = [
        i
        for i, s in enumerate(spans)
        if s.kind == "gap" or s.start == s.end or (mute_chars and len(s.text) == 1)
    ]
    return token_spans_html(
        [s.text for s in spans], [_title(s, tokens) for s in spans], show_ws=show_ws, muted=muted
    )
