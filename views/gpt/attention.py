"""Tab 4: what the newest token attends to, and the attention sink."""

from __future__ import annotations

from typing import Any

import streamlit as st

from figures import gpt as fig
from lessons import decoding as D
from ui.page import lesson, presenter
from ui.widgets import show_code
from views.gpt.common import code, k, pieces
from views.gpt.steps import last_forward


def render(handle: Any, dec: D.Decoder) -> None:
    _, attn = last_forward(handle, dec)
    n_layers, n_heads, n_pos = attn.shape  # (L, H, T)
    left, right = st.columns([3, 2])
    with right:
        lesson(
            "A GPT is **causal**: position *i* attends only to positions 0..*i*; the upper "
            "triangle of every attention matrix is masked to −∞ before the softmax. So the "
            "newest token's row is the only one that can see the whole text: it is the one "
            "whose output predicts the next token.",
            label="Causal attention",
        )
        if not presenter():
            st.plotly_chart(fig.causal_mask(), key=k("mask_fig"))
        first, peak_frac = D.sink_stats(attn)
        st.markdown(
            f"**Attention sink.** Averaged over heads, the first token gets "
            f"**{100 * float(first.mean()):.0f} %** of the newest token's attention over the "
            f"{n_layers:,} layers (uniform would give {100 / n_pos:.0f} %), and it is the "
            f"most-attended position in **{100 * peak_frac:.0f} %** of the layers. Softmax "
            "must put its weight somewhere; heads with nothing useful to read park it on the "
            "first token, whatever that token is."
        )
    with left:
        heads = ["mean over heads"] + [f"head {h}" for h in range(n_heads)]
        head = st.selectbox("Heads", heads, key=k("head"))
        z = attn.mean(dim=1) if head == heads[0] else attn[:, heads.index(head) - 1]  # (L, T)
        text = pieces(handle, dec.ids[-n_pos:])
        labels = [fig.token_label(j, p) for j, p in enumerate(text)]
        height = 520 if presenter() else 620
        st.plotly_chart(fig.newest_attention(z.numpy(), labels, height), key=k("attn_fig"))
        st.caption(
            f"Row = layer, column = a token of the text; each row sums to 1. The query is the "
            f"newest token, {code(text[-1])} at position {n_pos - 1:,}."
        )
    show_code(D.sink_stats)
