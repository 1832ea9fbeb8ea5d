"""Tab 2: the prepared T5 and MiniLM taggers on the same held-out sentences; tab 3: train live."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import ner as fig
from models import ner
from ui.training import prepared_note, training_panel
from views.t5_ner.common import (
    PREPARED,
    k,
    lookup_scores,
    prepared_handle,
    prepared_scores,
    sample,  # fmt: skip
    sample_cfg,
    split,
)

STEP = {"ner-t5-prepared": "ner-t5", "ner-minilm-prepared": "ner-minilm"}


def table(scores: dict[str, dict], params: dict[str, int]) -> None:
    st.dataframe(pd.DataFrame([
        {"model": name, "precision": s["precision"], "recall": s["recall"], "F1": s["f1"],
         "sentences/s": s.get("sentences_per_s"), "parameters": params.get(name)}
        for name, s in scores.items()]), hide_index=True,
        column_config={"parameters": st.column_config.NumberColumn(format="localized")},
    )  # fmt: skip


def render_prepared() -> None:
    st.markdown(
        "Both taggers were trained by the project's own command on the same 80% of the sample "
        "and are scored here on the same 20% they never saw. MiniLM starts pre-trained (a "
        "language model, then fine-tuned on ~1B sentence pairs); the T5 starts from random weights."
    )
    scores, params = {}, {}
    for key, name in PREPARED.items():
        with st.container(border=True):
            st.markdown(f"**{name}**")
            if not prepared_note(STEP[key]):
                continue
            handle = prepared_handle(key)
            if handle is not None:
                scores[name] = prepared_scores(key, handle)
                params[name] = handle.params
    scores["memorising baseline"] = lookup_scores()
    st.plotly_chart(fig.f1_per_type(scores), width="stretch", key=k("prep_f1"))
    table(scores, params)


def render_train() -> None:
    archs = {"T5 from scratch (Seq2SeqTrainer)": "t5", "MiniLM token classification (Trainer)":
             "minilm"}  # fmt: skip
    arch = archs[st.radio("Model", list(archs), horizontal=True, key=k("arch"))]
    budget = st.slider("Time budget (seconds)", 20, 240, 90, step=10, key=k("budget"))
    st.caption(
        f"{len(split()[0]):,} training sentences, {len(split()[1]):,} held out; the curve's F1 "
        "is measured on the held-out ones during the run, and the best weights are kept. The T5 "
        "learns with **Adafactor**, T5's own optimizer (each step relative to the weight's "
        "scale); MiniLM with AdamW at a small rate, so as not to erase what it knows."
    )
    res = training_panel(
        k("train"),
        work=lambda rep, arch=arch, budget=budget: ner.run_training(
            sample(), sample_cfg(arch), budget - 1, rep),
        budget_s=budget, name=f"ner-{arch}", curves=fig.training_curves,
        caption=fig.training_caption,
        idle_text="Pick a model and a budget, then press Train.",
    )  # fmt: skip
    if isinstance(res, ner.Trained):
        name = f"{res.tagger.cfg.arch} trained live ({res.fit.steps:,} steps)"
        scores = {name: res.scores, "memorising baseline": lookup_scores()}
        st.plotly_chart(fig.f1_per_type(scores), width="stretch", key=k("live_f1"))
        table(scores, {name: res.tagger.params})
