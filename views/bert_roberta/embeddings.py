"""Tab: contextual vs static vectors of one word, and sentence similarity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from figures import bert_roberta as fig
from lessons import embeddings as emb
from ui.models import get_model
from ui.page import lesson_columns, on_handle, presenter
from ui.widgets import empty_hint, guarded_text
from views.bert_roberta.common import MAX_SENTENCES, k, lines


@on_handle(max_entries=16, show_spinner="Running the encoder on your sentences…")
def word_view(handle, sentences: tuple[str, ...], word: str) -> dict:
    wv = emb.word_vectors(handle, list(sentences), word)
    return {
        "sentences": wv.sentences,
        "pieces": wv.pieces,
        "missing": wv.missing,
        "contextual": emb.cosine_matrix(wv.contextual).numpy() if wv.sentences else None,
        "static": emb.cosine_matrix(wv.static).numpy() if wv.sentences else None,
        "spread": emb.off_diagonal_range(emb.cosine_matrix(wv.contextual))
        if wv.sentences
        else None,
        "layers": handle.model.config.num_hidden_layers,
    }


@on_handle(max_entries=16, show_spinner="Embedding your sentences…")
def similarity(handle, sentences: tuple[str, ...]) -> np.ndarray:
    return emb.sentence_similarity(handle, list(sentences)).numpy()


def sentence_box(label: str, default: str, key: str) -> list[str]:
    box = guarded_text(f"{label} (one per line, up to {MAX_SENTENCES})", default, key=key,
                       max_chars=1_500, height=140)  # fmt: skip
    return lines(box.text)


def _word(handle) -> None:
    left, right = lesson_columns(
        "The **input** vector of a word is a row of the embedding table: the same in every "
        "sentence. The **output** vector (last layer) has attended to its neighbours, so "
        "*bank* by a river and *bank* with an account move apart. Words split into pieces "
        "get the mean of their pieces."
    )
    with left:
        word = guarded_text("Word", "bank", key=k("word"), area=False, max_chars=40)
        sentences = sentence_box(
            "Sentences containing it",
            "We had a picnic on the river bank.\nI opened a savings account at the bank.\n"
            "The bank raised its interest rates.\nYou can bank on me.",
            k("word_sentences"),
        )
    with right:
        if word.empty or not sentences:
            empty_hint("a word and a few sentences that use it")
            return
        out = word_view(handle, tuple(sentences), word.text)
        if out["missing"]:
            st.caption(
                f":material/info: {len(out['missing']):,} sentence(s) do not contain the word "
                "(whole word, any case) and are left out."
            )
        if not out["sentences"]:
            st.warning("The word appears in none of the sentences.", icon=":material/search:")
            return
        names = [f"S{i + 1}" for i in range(len(out["sentences"]))]
        pieces = [" ".join(p) for p in out["pieces"]]
        st.dataframe(
            pd.DataFrame({"sentence": out["sentences"], "pieces of the word": pieces}, index=names),
            width="stretch",
        )
        c1, c2 = st.columns(2)
        c1.plotly_chart(fig.cosines(out["contextual"], names, "Output (contextual) vectors"))
        c2.plotly_chart(fig.cosines(out["static"], names, "Input (static) embeddings"))
        if out["spread"] is not None:
            lo, hi = out["spread"]
            st.caption(
                f"Contextual cosine between sentences: {lo:.2f} to {hi:.2f}; the input embeddings "
                "are identical (1.00) wherever the word has the same pieces. Model: "
                f"{handle.choice.label}, last of its {out['layers']} layers."
            )


def _similarity(handle) -> None:
    st.subheader("Sentence similarity")
    left, right = lesson_columns(
        "Average all the output vectors of a sentence (**mean pooling**) and you get one "
        "vector per sentence. MiniLM was trained so that paraphrases land close together: the "
        "cosine ranks meaning, not shared words."
    )
    with left:
        sentences = sentence_box(
            "Sentences",
            "A man is playing a guitar.\nSomeone strums an acoustic guitar.\n"
            "The stock market fell sharply today.\nShares dropped at the close of trading.",
            k("sim_sentences"),
        )
    with right:
        if len(sentences) < 2:
            empty_hint("at least two sentences, one per line")
            return
        names = [f"S{i + 1}" for i in range(len(sentences))]
        matrix = similarity(handle, tuple(sentences))
        st.plotly_chart(fig.cosines(matrix, names, "Cosine of mean-pooled embeddings"))
        st.dataframe(pd.DataFrame({"sentence": sentences}, index=names), width="stretch")


def render() -> None:
    handle = get_model("encoder")
    _word(handle)
    if not presenter():  # a second figure: off the stage screen
        _similarity(handle)
