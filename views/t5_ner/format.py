"""Tab 1: entities written as text, parsed back, scored per entity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lessons import ner_format as nf
from ui.page import presenter
from views.t5_ner.common import lookup_scores, sample, split


def render() -> None:
    sents = sample()
    st.markdown(
        "A token classifier puts one label on every token. A text-to-text model has only text "
        "to give, so the labels are **written into the sentence**: each word is copied, and a "
        "word inside an entity is followed by its type. Reading the answer back is parsing: "
        "consecutive words of one type form one entity."
    )
    rows = []
    for s in sents[:4]:
        rows.append({"input": nf.source_text(s.words), "target": nf.target_text(s),
                     "entities": "; ".join(f"{sp.text(s.words)} ({sp.type})"
                                           for sp in nf.spans_of(s.tags))})  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.markdown(
        "The T5 trained **from scratch** here writes a tag after *every* word, `[O]` for none "
        "(`EU [ORG] rejects [O] German [MISC] …`). Its decoding is **constrained to copy** the "
        "input, so its only free choice is that tag; with the sparse form above, choosing "
        "*no tag* means predicting the next word, which a model trained for minutes cannot do "
        "yet. A pre-trained T5 (the AutoTrain tab) learns the sparse form."
    )
    adj, n = nf.adjacent_same_type(sents)
    st.caption(
        f"What the format cannot write: two entities of one type side by side merge into one "
        f"({adj:,} of the sample's {n:,} entities)."
    )
    st.markdown(
        "**Scoring** (`seqeval`, as in the CoNLL-2003 shared task): an entity counts only if "
        "its words *and* its type are exactly right. Precision = right / predicted, recall = "
        "right / true, F1 their harmonic mean, per type and over all entities."
    )
    base = lookup_scores()
    train, val = split()
    st.metric(
        "Memorising baseline on the held-out sentences",
        f"F1 {base['f1']:.2f}",
        f"P {base['precision']:.2f} · R {base['recall']:.2f}",
        delta_color="off",
        help="The shared task's baseline: tag a word sequence if it was an entity in training.",
    )
    if not presenter():
        st.caption(
            f"Tagging only entity strings seen in the {len(train):,} training sentences, on the "
            f"{len(val):,} held out ({base['entities']:,} entities): a model must beat this to "
            "have learned more than a list of names."
        )
