"""What the BERT & RoBERTa tabs share: session keys, sentence lists, the measured step cost."""

from __future__ import annotations

import streamlit as st

from models import sentiment as sent
from ui.page import page_keys

k = page_keys("bert")
MAX_SENTENCES = 8


def lines(text: str) -> list[str]:
    """Non-empty lines, at most MAX_SENTENCES of them."""
    return [line.strip() for line in text.splitlines() if line.strip()][:MAX_SENTENCES]


@st.cache_data(show_spinner="Measuring one training step of each model on this machine…")
def step_cost() -> dict:
    return sent.step_cost()


def cost_sentence() -> str:
    """MiniLM's cost against the from-scratch model's, measured here (never typed)."""
    cost = step_cost()
    m, s = cost["minilm"]["ms_per_step"], cost["scratch"]["ms_per_step"]
    return (
        f"On this machine one MiniLM training step costs **{m / s:,.0f}×** a from-scratch step "
        f"({m:,.0f} vs {s:,.1f} ms per batch of 16, measured here)."
    )
