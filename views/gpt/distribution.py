"""Tab 1: the next-token distribution, before and after the knobs."""

from __future__ import annotations

from typing import Any

import streamlit as st

from figures import gpt as fig
from lessons import sampling as S
from lessons.sampling import GenConfig
from ui.page import lesson
from ui.widgets import show_code
from views.gpt.common import code, k, next_token, pieces


def render(handle: Any, ids: tuple[int, ...], gen: GenConfig) -> None:
    dist = next_token(handle, ids, gen.sampling())
    rows = dist["rows"]
    names = pieces(handle, [i for i, _, _ in rows])
    labels = [fig.token_label(r + 1, p) for r, p in enumerate(names)]
    st.plotly_chart(fig.distribution(rows, labels), key=k("dist_chart"))
    vocab = dist["vocab"]
    a, b, c = st.columns(3)
    a.metric("Entropy, model", f"{dist['entropy_original']:.2f} bits")
    b.metric(
        "Entropy, after the knobs",
        f"{dist['entropy_filtered']:.2f} bits",
        delta=f"{dist['entropy_filtered'] - dist['entropy_original']:+.2f}",
        delta_color="off",
    )
    c.metric("Tokens with p > 0", f"{dist['kept']:,} of {vocab:,}")
    greedy = (
        f" **Temperature 0 = greedy**: decoding takes the top bar, {code(names[0])}, every time; "
        "the bars show the model's own distribution (T = 1) after top-k / top-p."
        if gen.greedy
        else ""
    )
    st.caption(
        f"Top-{fig.TOP_N} of the model's {vocab:,} tokens, in %. Removed tokens get probability "
        "0; the rest is renormalised, so the orange bars of kept tokens grow." + greedy
    )
    lesson(
        "The same knobs drive the step-by-step decoder and the streamed answer (next tabs). "
        "Greedy decoding ignores temperature, top-k and top-p (they never change the argmax) "
        "but not the repetition penalty.",
        label="One set of knobs",
    )
    show_code(S.repetition_penalty, S.temperature, S.top_k, S.top_p, S.filter_logits)
