"""What the position tabs share: session keys, the base slider, cached model reads."""

from __future__ import annotations

from typing import Any

import streamlit as st

from lessons import learned_positions as lp
from lessons import rope
from ui.page import on_handle, page_keys

k = page_keys("pos")
ROPE_TOKENS = 32  # real q/k heatmaps stay readable (and fast) up to here
BASES = [100, 1_000, 10_000, 100_000, 500_000, 1_000_000]


def base_slider(label: str, key: str, default: float) -> float:
    options = sorted({*BASES, int(default)})
    return float(
        st.select_slider(
            label, options=options, value=int(default), key=k(key), format_func="{:,}".format,
            help="Larger base = slower slowest clock = more distinct positions before repeats.",
        )
    )  # fmt: skip


@on_handle(max_entries=4)
def position_table(handle: Any) -> lp.PositionTable:
    return lp.position_table(handle.model)


@on_handle(max_entries=32, show_spinner="Running the encoder's tokenizer…")
def sentence_positions(handle: Any, text: str, n_positions: int) -> tuple[list[str], int]:
    return lp.sentence_positions(handle.tokenizer, text, n_positions)


@on_handle(max_entries=16, show_spinner="Running the decoder once on your sentence…")
def real_qk(handle: Any, text: str) -> rope.RealQK:
    return rope.real_qk(handle.model, handle.tokenizer, text, ROPE_TOKENS)
