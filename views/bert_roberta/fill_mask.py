"""Tab: fill-mask with BERT and RoBERTa (Hub), and SmolLM2's next-token view as the offline
stand-in (MiniLM has no masked-LM head)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lessons import fill_mask as fm
from models import registry
from ui.models import get_model
from ui.page import lesson_columns, on_handle
from ui.widgets import empty_hint, guarded_text
from views.bert_roberta.common import k


@on_handle(max_entries=32, show_spinner="Filling the mask…")
def guesses(handle, text: str) -> list[list[fm.Guess]]:
    return fm.fill_mask(handle, text)


@on_handle(max_entries=32, show_spinner="Reading the text before the mask…")
def next_tokens(handle, text: str) -> fm.NextTokens:
    return fm.next_token_view(handle, text)


def guess_table(rows: list[fm.Guess], title: str, key: str) -> None:
    st.dataframe(
        pd.DataFrame({"guess": [g.token for g in rows], "probability": [g.prob for g in rows]}),
        hide_index=True,
        key=key,
        column_config={
            "probability": st.column_config.ProgressColumn(title, min_value=0.0, max_value=1.0)
        },
    )


def _masked_lms(text: str, keys: list[str]) -> None:
    for col, key in zip(st.columns(len(keys)), keys, strict=True):
        with col:
            handle = get_model("fill-mask", key, optional=True)
            if handle is None:
                continue
            st.markdown(f"**{handle.choice.label}** · reads both sides of the gap")
            try:
                out = guesses(handle, text)
            except fm.FillMaskError as exc:
                st.warning(str(exc), icon=":material/error:")
                continue
            for n, row in enumerate(out, start=1):
                guess_table(row, f"P at mask {n}", k(f"fill_{key}_{n}"))


def _stand_in(text: str) -> None:
    handle = get_model("chat")
    st.markdown(
        f"**Stand-in: {handle.choice.label}, next token** · reads only the text *before* the gap"
    )
    try:
        out = next_tokens(handle, text)
    except fm.FillMaskError as exc:
        st.warning(str(exc), icon=":material/error:")
        return
    if out.cut:
        st.caption(f"Only the last {fm.MAX_TOKENS} tokens before the gap are read.")
    guess_table(out.guesses, "P(next token)", k("fill_next"))
    st.caption(
        "Not a fill-mask: a left-to-right model ranks what comes next after "
        f"“{out.prefix[-60:]}”; the words after the gap never reach it."
    )


def render() -> None:
    keys = [c.key for c in registry.choices("fill-mask", only_available=True)]
    left, right = lesson_columns(
        "BERT and RoBERTa were pre-trained to fill gaps: a softmax over the vocabulary at each "
        "`[MASK]`, reading the words on **both** sides. RoBERTa's mask token is `<mask>`; type "
        "`[MASK]` for either. A decoder such as GPT or SmolLM2 only ever reads to the left."
    )
    with left:
        if not keys:
            st.info(fm.NO_HEAD_NOTE + " Below: SmolLM2's next-token view of the same sentence.",
                    icon=":material/wifi_off:")  # fmt: skip
        text = guarded_text("A sentence with [MASK]", "The capital of France is [MASK].",
                            key=k("fill_text"), area=False, max_chars=500)  # fmt: skip
    with right:
        if text.empty:
            empty_hint("a sentence with [MASK] in it")
            return
        if keys:
            _masked_lms(text.text, keys)
        _stand_in(text.text)
