"""Use cases: translation, question answering, generation, classification and NER on your text.

The page file the router runs; each tab lives in `views/use_cases/<tab>.py` and computes only
when open. Offline, every task uses the best model the gallery has for it (the projects' own
trained models when `make prepare` has made them), says which model answered and how well that
model scores on held-out inputs.
"""

from __future__ import annotations

import streamlit as st

from ui.page import header, lazy_tabs
from views.use_cases import classification, common, generation, ner, qa, translation

TABS = {
    "Machine translation": translation,
    "Question answering": qa,
    "Text generation": generation,
    "Text classification": classification,
    "Named entity recognition": ner,
}

controls = header(
    "What transformers are used for",
    "Five jobs, each live on your text. Offline they run on what this machine has: **MiniLM-L6** "
    "(an encoder: sentence embeddings), **SmolLM2-135M-Instruct** (a decoder you talk to through "
    "its chat template) and the models the course's projects train here: Project 1's sentiment "
    "classifier, Project 2's extractive summarizer, Project 3's NER tagger. Each tab has "
    "examples, a **Run** button, says which model answered and shows how that model scores on "
    "inputs it was not picked on. Online, models trained for one task join the lists.",
)
with controls, st.expander("Generation limits", icon=":material/tune:"):
    st.slider(
        "Max new tokens per answer",
        4,
        128,
        128,
        key=common.MAX_TOKENS_KEY,
        help="Each task has its own cap; this lowers all of them.",
    )
    st.slider(
        "Time budget per answer (s)",
        5,
        60,
        20,
        key=common.BUDGET_KEY,
        help="Generation stops after this long, with a notice.",
    )

for tab, module in zip(lazy_tabs(list(TABS), common.k("tabs")), TABS.values(), strict=True):
    if tab.open:
        with tab:
            module.render()
