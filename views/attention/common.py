"""What the attention tabs share: session keys, the config, cached model work per (model key,
sentence, …) under the handle's lock."""

from __future__ import annotations

from typing import Any

import streamlit as st

from lessons import attention as A
from lessons import bertviz_offline as BV
from ui.models import get_model, warming
from ui.page import on_handle, page_keys

k = page_keys("attn")
CFG = A.AttentionConfig()
ROLES = {"encoder": "Encoder · bidirectional", "chat": "Decoder · causal"}
ARCH = {"encoder": "encoder", "chat": "decoder"}


@on_handle(max_entries=16, show_spinner="Running the model with output_attentions…")
def attention_run(handle, text: str, arch: str, max_tokens: int) -> A.AttentionRun:
    return A.run_attention(handle.model, handle.tokenizer, text, max_tokens, arch=arch)


@on_handle(max_entries=64)
def head_by_hand(handle, text: str, arch: str, layer: int, head: int) -> A.HeadSteps:
    return A.head_steps(
        handle.model, attention_run(handle, text, arch, CFG.max_tokens), layer, head
    )


@on_handle(max_entries=16)
def head_summary(handle, text: str, arch: str) -> A.HeadSummary:
    return A.summarize_heads(attention_run(handle, text, arch, CFG.max_tokens).attentions)


@on_handle(max_entries=16, show_spinner="Building the bertviz view…")
def bertviz_page(handle, text: str, arch: str, view: str, layers: tuple[int, ...]) -> str:
    run = attention_run(handle, text, arch, CFG.max_tokens)
    if len(run.tokens) > CFG.bertviz_tokens:
        # A causal map's first rows are already a shorter run; an encoder must run again.
        short = CFG.bertviz_tokens
        run = A.first_tokens(run, short) if run.causal else attention_run(handle, text, arch, short)
    cfg = BV.BertvizConfig(view=view, max_tokens=CFG.bertviz_tokens)
    return BV.bertviz_html(run.attentions, run.tokens, cfg, layers=list(layers))


def run_for(role: str, text: str) -> tuple[Any, A.AttentionRun]:
    """The role's handle and its (cached) run on `text`; a model that cannot run says why."""
    with warming(role):
        handle = get_model(role)
        try:
            return handle, attention_run(handle, text, ARCH[role], CFG.max_tokens)
        except ValueError as exc:  # a model without eager attention weights, an empty tokenization
            st.error(f"{handle.choice.label}: {exc}")
            st.stop()
            raise
