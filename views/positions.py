"""Position embeddings: sinusoidal (2017 paper), learned (MiniLM's table), rotary (SmolLM2). The
tabs live in views/positions/ and compute only when open."""

from __future__ import annotations

from lessons import rope
from ui.page import header, lazy_tabs
from ui.widgets import guarded_text
from views.positions import learned, rotary, sinusoidal
from views.positions.common import k

TABS = ["Sinusoidal", "Learned (MiniLM)", "RoPE: the rotation", "RoPE in SmolLM2"]

controls = header(
    "Position embeddings",
    "Attention compares every token with every other one and **ignores order**: shuffle the "
    "words and each token gets the same mix. Position has to be injected. Three answers:\n"
    "1. **Sinusoidal** (2017): add a fixed pattern of sines and cosines to each token.\n"
    "2. **Learned** (BERT, GPT-2): add a trained vector per position index.\n"
    "3. **Rotary** (RoPE; Llama, SmolLM2, Qwen): rotate queries and keys by an angle that grows "
    "with position, so attention scores see only the *relative* distance.",
)
with controls:
    guarded = guarded_text(
        "A sentence for the real-model parts",
        rope.DEFAULT_SENTENCE,
        key=k("text"),
        max_chars=1_000,
        area=False,
        help="MiniLM shows which position rows it uses; SmolLM2 gives real queries and keys.",
    )

renders = (
    sinusoidal.render,
    lambda: learned.render(guarded),
    rotary.render_rotation,
    lambda: rotary.render_real(guarded),
)
for tab, render in zip(lazy_tabs(TABS, k("tabs")), renders, strict=True):
    if tab.open:  # only the open tab computes
        with tab:
            render()
