"""T5: text-to-text with task prefixes, span corruption with sentinels, relative position
buckets, and the three attentions of an encoder-decoder. The tabs live in views/t5/ and compute
only when open."""

from __future__ import annotations

from lessons import span_corruption, t5
from models import t5_tasks
from ui.page import header
from ui.widgets import show_code
from views.t5 import attention, corruption, positions, text2text
from views.t5.common import k, render_tabs

TABS = ["Text-to-text", "Span corruption", "Relative positions", "Three attentions"]

header(
    "T5: one model, every task as text",
    "**T5** (Text-to-Text Transfer Transformer, Google 2020) is an **encoder-decoder**: the "
    "encoder reads the whole input at once, the decoder writes the output token by token while "
    "looking back at the encoder through **cross-attention**. Every task is written as text: "
    "`translate English to German: …`, `summarize: …`, `cola sentence: …`. It was pre-trained "
    "by filling in hidden spans of web text (C4), and it replaces position embeddings with a "
    "learned **relative position bias** per attention head.",
)
renders = (text2text.render, corruption.render, positions.render, attention.render)
render_tabs(TABS, k("tabs"), renders)

show_code(span_corruption.noise_mask, span_corruption.apply, t5.relative_bucket,
          t5.seq2seq_attention, t5_tasks.train)  # fmt: skip
