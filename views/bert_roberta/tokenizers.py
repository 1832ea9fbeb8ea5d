"""Tab: WordPiece (BERT, MiniLM) vs byte-level BPE (RoBERTa; SmolLM2 offline)."""

from __future__ import annotations

import streamlit as st

from lessons import tokenization
from models import registry
from ui.models import get_tokenizer
from ui.page import lesson_columns, on_handle
from ui.widgets import empty_hint, guarded_text, token_spans_html
from views.bert_roberta.common import k


@on_handle(max_entries=32)
def token_view(handle, text: str) -> tuple[list, dict]:
    tok = handle.tokenizer
    tokens = tokenization.tokenize(tok, text, split_special_tokens=True)
    s = tokenization.stats(text, tokens, tok.unk_token_id)
    spans = tokenization.align(text, tokens, show_special=True)
    return spans, {"tokens": s.content_tokens, "unknown": s.unknown, "vocab": len(tok)}


def render() -> None:
    left, right = lesson_columns(
        "BERT's **WordPiece** splits words into pieces from a 30k vocabulary (`##` marks a "
        "continuation); a character it has never seen becomes **[UNK]**: that text is lost. "
        "RoBERTa's **byte-level BPE** starts from the 256 bytes, so every string can be "
        "spelled (`Ġ` marks a leading space): no unknown token exists.\n\n"
        "MiniLM uses bert-base-uncased's WordPiece vocabulary. RoBERTa's own tokenizer needs "
        "the Hub; offline, SmolLM2's byte-level BPE shows the same behaviour."
    )
    with left:
        text = guarded_text(
            "Text to tokenize",
            "Tokenizers 🤗 don't agree: naïve café-goers say “supercalifragilistic” 🚀!",
            key=k("tok_text"),
            max_chars=500,
            height=90,
        )
    with right:
        if text.empty:
            empty_hint("a sentence (try emoji or another script)")
            return
        bpe = "roberta-base" if registry.get_choice("roberta-base").available() else None
        for col, key in zip(
            st.columns(2), ["minilm-embedded", bpe or "smollm2-embedded"], strict=True
        ):
            with col:
                handle = get_tokenizer(key)
                spans, s = token_view(handle, text.text)
                st.markdown(f"**{handle.choice.label}** · {handle.choice.tokenizer_algo}")
                c1, c2 = st.columns(2)
                c1.metric("Tokens", f"{s['tokens']:,}")
                c2.metric("Unknown [UNK]", f"{s['unknown']:,}")
                muted = [i for i, sp in enumerate(spans) if sp.kind != "token"]
                st.html(token_spans_html([sp.text for sp in spans], muted=muted, show_ws=True))
                st.caption(f"vocabulary {s['vocab']:,} · grey: gaps and added special tokens")
