"""Tab 1: the same text through each picked tokenizer, with offsets, ids and counts. A Hub
tokenizer that cannot be loaded here is shown through its stand-in, labelled as such."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from lessons import tokenization, tokenizer_training
from lessons.tokenization import Token
from models import registry
from models import tokenizer_standins as standins
from models.handle import Handle
from ui.models import get_tokenizer
from ui.page import on_handle
from ui.widgets import show_code, token_spans_html
from views.tokenization.spans import spans_html

PIECE_ROW_CAP = 400  # pieces drawn inline; the table holds them all


@dataclass(frozen=True)
class Options:
    show_special: bool = True
    show_ws: bool = False
    split_special: bool = False


@on_handle(max_entries=64)
def tokens_of(handle: Handle, text: str, split_special: bool) -> list[Token]:
    return tokenization.tokenize(handle.tokenizer, text, True, split_special)


def _name(shown: standins.Shown, handle: Handle) -> str:
    short = handle.choice.label.split(" (")[0]
    if shown.standin:
        short = f"{registry.get_choice(shown.asked).label.split(' (')[0]} → {short}"
    return f"{short} ({len(handle.tokenizer):,})"


def tokenized(text: str, keys: list[str], split_special: bool):
    """(shown, handle, tokens | error message) for every picked tokenizer."""
    out = []
    for shown in standins.resolve(keys):
        handle = get_tokenizer(shown.key)
        try:
            out.append((shown, handle, tokens_of(handle, text, split_special)))
        except ValueError as exc:  # a slow tokenizer has no offsets
            out.append((shown, handle, str(exc)))
    return out


def reference(text: str, keys: list[str], split_special: bool):
    """The picked pretrained tokenizers' compression of `text` (gray bars of the next tab)."""
    return [
        tokenizer_training.pretrained_compression(
            _name(shown, h), len(h.tokenizer), text, tokens, h.tokenizer.unk_token_id
        )
        for shown, h, tokens in tokenized(text, keys, split_special)
        if not isinstance(tokens, str)
    ]


def _column(text: str, shown: standins.Shown, handle: Handle, tokens: list[Token], o: Options):
    tok, choice = handle.tokenizer, handle.choice
    standing_in = f" · for {registry.get_choice(shown.asked).label}" if shown.standin else ""
    st.markdown(f"**{choice.label}** · {choice.tokenizer_algo}{standing_in}")
    if shown.note:
        st.caption(f":material/wifi_off: {shown.note}")
    s = tokenization.stats(text, tokens, tok.unk_token_id)
    st.caption(
        f"**{s.content_tokens:,} tokens** + {s.tokens - s.content_tokens:,} added special · "
        f"{s.chars_per_token:.2f} chars/token · {s.unknown:,} unknown · vocabulary {len(tok):,}"
    )
    st.html(spans_html(text, tokens, o.show_ws, o.show_special))
    visible = tokens if o.show_special else [t for t in tokens if not t.inserted]
    st.caption("Vocabulary pieces with their ids:")
    st.html(
        token_spans_html(
            [t.piece for t in visible[:PIECE_ROW_CAP]],
            labels=[str(t.id) for t in visible[:PIECE_ROW_CAP]],
            show_ws=o.show_ws,
        )
    )
    if len(visible) > PIECE_ROW_CAP:
        st.caption(f"First {PIECE_ROW_CAP:,} of {len(visible):,} pieces; all in the table.")
    limit = getattr(tok, "model_max_length", None)
    if limit and limit < 1_000_000 and s.tokens > limit:
        st.caption(
            f":material/content_cut: This model reads at most {limit:,} tokens; "
            f"the other {s.tokens - limit:,} would be cut."
        )
    with st.expander("Token table and ids"):
        rows = tokenization.token_rows(text, tokens, o.show_special)
        st.dataframe(pd.DataFrame(rows), hide_index=True, height=260)
        st.code(tokenization.ids_preview(visible), wrap_lines=True)


def render(text: str, keys: list[str], o: Options) -> None:
    results = tokenized(text, keys, o.split_special)
    cols = st.columns(min(len(results), 3))
    for n, (shown, handle, tokens) in enumerate(results):
        with cols[n % len(cols)]:
            if isinstance(tokens, str):
                st.warning(f"{handle.choice.label}: {tokens}", icon=":material/warning:")
            else:
                _column(text, shown, handle, tokens, o)
    st.caption(
        "Hover a token for its id, vocabulary piece and offsets. Gray: text no token covers "
        "(WordPiece drops spaces) and tokens the tokenizer added. Byte-level pieces that "
        "share one character (emoji bytes) are drawn as one span."
    )
    show_code(tokenization.tokenize, tokenization.align, tokenization.stats)
