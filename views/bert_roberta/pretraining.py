"""Tab: why pre-training matters. MiniLM fine-tuned vs the same data from random weights, on
held-out reviews worded with words the training reviews never use. Opens on the runs `make
prepare` trained (3 seeds, 30 s each); the button trains both again, live."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from figures import bert_roberta as fig
from models import registry
from models import sentiment as sent
from models.sentiment_cli import train_both
from models.sentiment_data import read_rows, unseen_words
from models.sentiment_infer import COMPARE_STATE, compare_runs, spread
from ui import training
from ui.models import get_model
from ui.page import lesson, on_handle, presenter
from ui.widgets import empty_hint, guarded_text
from views.bert_roberta.common import cost_sentence, k

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sentiment" / "sample.jsonl"
ARCHS = ("scratch", "minilm")


@st.cache_data(show_spinner=False)
def sample_rows() -> list:
    return read_rows(SAMPLE)


@on_handle(max_entries=64)
def p_positive(handle, text: str) -> float:
    return sent.predict(handle.model, handle.tokenizer, [text])[0]


def metrics(accs: dict[str, dict | None], label: str) -> None:
    cols = st.columns(len(ARCHS))
    for col, arch in zip(cols, ARCHS, strict=True):
        s = accs.get(arch)
        if s is None:
            continue
        rng = f"{s['min']:.0%} to {s['max']:.0%} over {s['n']:,} seeds" if s["n"] > 1 else "1 run"
        col.metric(
            f"{fig.ARCH_NAMES[arch]}: {label}",
            f"{s['mean']:.1%}",
            rng,
            delta_color="off",
            delta_arrow="off",
        )


def ask_both() -> None:
    keys = [f"pretraining-{a}" for a in ARCHS]
    if not all(registry.get_choice(key).available() for key in keys):
        return
    text = guarded_text("Ask both prepared models", "a riveting story with a sublime score",
                        key=k("ask"), area=False, max_chars=300)  # fmt: skip
    if text.empty:
        empty_hint("a review sentence")
        return
    for col, key in zip(st.columns(2), keys, strict=True):
        handle = get_model("pretraining", key)
        p = p_positive(handle, text.text)
        col.metric(handle.choice.label, f"P(positive) = {p:.2f}")


def prepared_runs() -> None:
    if not training.prepared_note(COMPARE_STATE):
        return
    runs = compare_runs()
    if not runs:
        st.warning("The prepared comparison has no runs; run `make prepare` again.")
        return
    metrics({a: spread(runs, a) for a in ARCHS}, "new wording")
    left, right = st.columns(2)
    left.plotly_chart(fig.seed_results(runs), key=k("seeds"))
    if presenter():  # the curves are the secondary figure
        with right:
            ask_both()
        return
    first = [row for r in runs if r["seed"] == runs[0]["seed"] for row in r["history"]]
    right.plotly_chart(fig.runs_curves(first), key=k("prepared_curves"))
    ask_both()


def live(rows: list) -> None:
    budget = st.slider("Time budget per model (seconds)", 10, 180, 30, step=5, key=k("budget"))
    done = training.training_panel(
        k("both"),
        # From scratch, then MiniLM, each within `budget` (setup included): one slot, one run.
        work=lambda rep: train_both(rows, budget, rep),
        budget_s=2 * budget + 20,  # the hard limit; each run ends on its own before it
        button="Train both",
        idle_text="Press Train both: the model from scratch, then MiniLM, each for the budget.",
        curves=fig.runs_curves,
        caption=fig.runs_caption,
    )
    if isinstance(done, dict) and all(isinstance(t, sent.Trained) for t in done.values()):
        runs = [sent.summary(t) for t in done.values()]
        metrics({a: spread(runs, a) for a in ARCHS}, "new wording (this run)")


def render() -> None:
    rows = sample_rows()
    new = unseen_words(rows)
    n = {part: sum(r.split == part for r in rows) for part in ("train", "val", "test")}
    lesson(
        "The payoff of BERT-style pre-training: a pre-trained encoder needs little labelled data, "
        f"because it already knows words the labels never show. Both models get the **same "
        f"{n['train']:,} labelled reviews**, the same {n['val']:,} validation reviews and the "
        "same time: a small transformer from random weights, and MiniLM with a new 2-class "
        "head.\n\n"
        f"They are then measured on **{n['test']:,} held-out reviews written in other words**: "
        f"{len(new):,} of their words appear in no training review (*{', '.join(new[:14])}*, …), "
        "with other negations (*hardly*, *far from*) and contrasts (*although*, *yet*). To the "
        "model trained from scratch those words are untrained rows of its embedding table; "
        "MiniLM met them in pre-training."
    )
    st.caption(cost_sentence())
    prepared_runs()
    st.subheader("Train both live")
    live(rows)
