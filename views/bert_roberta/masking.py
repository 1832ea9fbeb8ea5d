"""Tab: BERT's 80 / 10 / 10 corruption, static (BERT) vs dynamic (RoBERTa) masking, measured."""

from __future__ import annotations

import streamlit as st

from figures import bert_roberta as fig
from lessons import masking
from ui.models import get_tokenizer
from ui.page import lesson, lesson_columns, on_handle, presenter
from ui.widgets import empty_hint, guarded_text, token_spans_html
from views.bert_roberta.common import k

ACTION_LABELS = {masking.MASKED: "MASK", masking.RANDOM: "rand", masking.UNCHANGED: "same"}
SELECTIONS = {
    "exact": "exactly 15% per sequence (BERT's script)",
    "bernoulli": "each token with p = 15% (Hugging Face collator)",
}


@on_handle(max_entries=16)
def mask_demo(handle, text: str, schedule: masking.ScheduleConfig, selection: str):
    return masking.demo(handle.tokenizer, text, schedule, masking.MaskConfig(selection=selection))


def rows_html(view: masking.StrategyView, original: list[str]) -> str:
    parts = []
    for epoch, (pieces, action) in enumerate(view.rows, start=1):
        labels = [ACTION_LABELS.get(a, "") for a in action]
        muted = [i for i, a in enumerate(action) if a == masking.NOT_SELECTED]
        row = token_spans_html(pieces, [f"original: {o}" for o in original], muted=muted,
                               labels=labels)  # fmt: skip
        # Pieces carry no spaces between them: give the browser a place to wrap long rows.
        row = row.replace("</span><span", "</span>\u200b<span")
        parts.append(f'<div style="font-size:0.8em;color:#6b7280">epoch {epoch}</div>{row}')
    return "".join(parts)


LESSON = (
    "BERT picks **15%** of the tokens as targets; of those **80%** become `[MASK]`, "
    "**10%** a random token and **10%** stay as they are (the model must check every "
    "token, since fine-tuning text has no `[MASK]`). Special tokens are never picked.\n\n"
    "**Static** (BERT): the data is masked once during preprocessing, so every epoch "
    "shows the same mask (RoBERTa's static baseline used 10 copies, each seen 4 times). "
    "**Dynamic** (RoBERTa): a fresh mask every epoch, so far more positions get trained."
)


def render() -> None:
    # On a projector: the controls in one row on top, the epochs full width below.
    if presenter():
        lesson(LESSON)
        left, right = st.container(), st.container()
    else:
        left, right = lesson_columns(LESSON)
    with left:
        text = guarded_text(
            "Sentence (first 48 tokens)",
            "The quick brown fox jumps over the lazy dog while the farmer sleeps under a tree.",
            key=k("mask_text"),
            max_chars=400,
            height=68 if presenter() else 80,
        )
        c1, c2, c3 = st.columns(3) if presenter() else (*st.columns(2), st.container())
        # Four epochs on a projector: the same contrast, half the rows.
        epochs = c1.slider("Epochs", 4, 8, 4 if presenter() else 6, key=k("mask_epochs"))
        copies = c2.select_slider("Static copies", [1, 2, 4], value=1, key=k("mask_copies"))
        more = c3.expander("Selection and seed") if presenter() else st.container()
        selection = more.radio("Selection", list(SELECTIONS), format_func=SELECTIONS.get,
                               key=k("mask_selection"))  # fmt: skip
        seed = more.number_input("Seed", 0, 10_000, 0, key=k("mask_seed"))
    with right:
        if text.empty:
            empty_hint("a sentence to mask")
            return
        schedule = masking.ScheduleConfig("static", epochs, copies, int(seed))
        demo = mask_demo(get_tokenizer("minilm-embedded"), text.text, schedule, selection)
        for name, view in (("Static", demo.static), ("Dynamic", demo.dynamic)):
            cov = view.coverage
            st.markdown(f"**{name}** · one row per epoch")
            st.html(rows_html(view, demo.original))
            st.caption(
                f"{cov.distinct_masks:,} distinct mask(s) in {epochs} epochs · "
                f"{cov.ever_target:.0%} of positions were a target at least once · "
                "grey: not a target; labels: MASK, rand(om) or same (unchanged)"
            )
        if not presenter():
            st.plotly_chart(fig.mask_positions(demo.static.coverage.times_target,
                                               demo.dynamic.coverage.times_target))  # fmt: skip
        s = demo.stats
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Targets", f"{s.selected:.1%}", help="of maskable tokens, over 2,000 draws")
        m2.metric("→ [MASK]", f"{s.masked:.1%}")
        m3.metric("→ random", f"{s.random:.1%}")
        m4.metric("→ unchanged", f"{s.unchanged:.1%}")
        if not presenter():  # a projector skips this note
            st.caption(
                f"Measured over {s.draws:,} masks of this sentence; special tokens picked: "
                f"{s.special_selected:,}. With exact selection a short sentence gets "
                "round(15% of n) targets, so its share can differ from 15%."
            )
