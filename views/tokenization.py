"""Tokenization: one text through several real tokenizers, tokenizers trained on the spot, and
byte pair encoding written from scratch, merge by merge. The tabs live in views/tokenization/."""

from __future__ import annotations

import streamlit as st

from figures import tokenization as fig
from models import registry
from models import tokenizer_standins as standins
from ui.page import header, lazy_tabs, page_keys
from ui.widgets import empty_hint, guarded_text
from views.tokenization import scratch, side, train

k = page_keys("tok")
MAX_CHARS = 5_000  # side by side and the trained-tokenizer comparison
TABS = ("Side by side", "Train your own", "BPE from scratch, merge by merge")

LESSON = """
A model never sees characters. A **tokenizer** cuts the text into pieces from a fixed vocabulary
and maps each piece to an **id**, a row of the embedding table.

- **WordPiece** (BERT, MiniLM) lowercases, splits on spaces and punctuation, then takes the
  longest vocabulary piece at each point; `##` marks a piece inside a word; a word it cannot
  spell becomes `[UNK]`. It adds `[CLS]` … `[SEP]` around every input.
- **Byte-level BPE** (GPT-2, Llama, SmolLM2) replays learned merges on the text's UTF-8 bytes; a
  leading space belongs to the next token (`Ġ` in the vocabulary), and any string can be encoded:
  no `[UNK]`, but an emoji may take several tokens.
- **Unigram** (T5, via SentencePiece) picks the most probable segmentation.

**Offsets** map every token back to the characters it covers; that is how the colors line up.
More characters per token means shorter sequences: cheaper attention and more text in context.
"""

controls = header("Tokenization", LESSON, ratio=(2, 3))
with controls:
    guarded = guarded_text(
        "Text to tokenize",
        fig.DEFAULT_TEXT,
        key=k("text"),
        max_chars=MAX_CHARS,
        height=120,
        help=f"Up to {MAX_CHARS:,} characters. Try emoji, other scripts, code or numbers.",
    )
    choices = registry.choices("tokenizer")
    keys = st.multiselect(
        "Tokenizers",
        [c.key for c in choices],
        default=[c.key for c in choices if c.source == "embedded"],
        format_func=standins.option_label,
        key=k("keys"),
        help="Hub tokenizers need the network or a copy in the local cache; offline, the "
        "embedded tokenizer of the same algorithm stands in, and the column says so.",
    )
    t1, t2, t3 = st.columns(3)
    options = side.Options(
        show_special=t1.toggle("Special tokens", value=True, key=k("special")),
        show_ws=t2.toggle("Show spaces", value=False, key=k("ws"),
                          help="Visible whitespace: · space, ↵ newline"),
        split_special=t3.toggle(
            "Split typed specials", value=False, key=k("split"),
            help="By default a typed '[CLS]' or '<|im_start|>' becomes the real control token: "
            "prompt injection. On: it is split into ordinary pieces.",
        ),
    )  # fmt: skip

side_tab, train_tab, scratch_tab = lazy_tabs(TABS, k("tabs"))
with side_tab:
    if side_tab.open:
        if guarded.empty:
            empty_hint("a sentence")
        elif not keys:
            st.info("Pick at least one tokenizer above.", icon=":material/token:")
        else:
            side.render(guarded.text, keys, options)
with train_tab:
    if train_tab.open:
        train.render(guarded.text, guarded.empty, keys, options, k)
with scratch_tab:
    if scratch_tab.open:
        scratch.render(guarded.text, k)
