"""Question answering: point at the answer in the passage (extractive), or write it (generative)."""

from __future__ import annotations

import time

import streamlit as st

import figures
from lessons import ner_parsing, sentence_search, task_prompts
from models import registry
from ui.models import get_model
from ui.widgets import empty_hint, guarded_text, show_code
from views.use_cases import calls
from views.use_cases import common as c

k = c.k
RANKING = "minilm-ranking"
READERS = {"top": "MiniLM's top sentence (retrieve, then read)", "passage": "the whole passage"}


def render() -> None:
    left, _ = c.tab_columns(
        "**Extractive** QA points at the answer inside the passage. BERT-style readers "
        "(SQuAD) score every token as answer start and end. Offline we do a coarser version: "
        "embed the question and each sentence with MiniLM (mean pooling, unit length) and "
        "pick the sentence with the highest **cosine** similarity. **Generative** QA lets "
        "the instruct model write the answer; a 135M reader does better when it is handed "
        "only the sentence retrieval found."
    )
    with left:
        c.example_picker("qa", {"passage": k("qa::passage"), "question": k("qa::question")})
        passage = guarded_text(
            "Passage", c.first("qa", "passage"), key=k("qa::passage"), height=140
        )
        question = guarded_text(
            "Question",
            c.first("qa", "question"),
            key=k("qa::question"),
            area=False,
            max_chars=300,
        )
        hub = [ch.key for ch in registry.choices("qa", only_available=True)]
        backend = st.selectbox(
            "Extractive model",
            [RANKING, *hub],
            format_func=lambda key: (
                "MiniLM sentence ranking (embedded)"
                if key == RANKING
                else registry.get_choice(key).label
            ),
            key=k("qa::backend"),
        )
        reader = st.radio(
            "The chat model reads",
            list(READERS),
            format_func=READERS.get,
            key=k("qa::reader"),
            horizontal=True,
        )
        run = c.run_button("qa")
    inputs = (passage.text, question.text, backend, reader)
    with c.result_box("qa"):
        if passage.empty or question.empty:
            empty_hint("a passage and a question")
            return
        if run:
            st.session_state.pop(k("qa::result"), None)
        res = c.recall("qa", inputs) or {}
        if not (run or res):
            st.caption("Press **Run** to answer.")
            return
        ext, gen = st.columns(2, gap="large")
        with ext:
            res = _extractive(inputs, res)  # shown before the slower generative answer starts
        with gen:
            _generative(inputs, res)
    show_code(sentence_search.mean_pool, sentence_search.embed, sentence_search.rank_sentences)


def _extractive(inputs: tuple, res: dict) -> dict:
    passage, question, backend, _ = inputs
    if not res:
        t0 = time.perf_counter()
        task = get_model("qa", backend, optional=True) if backend != RANKING else None
        enc = get_model("encoder")
        span = calls.squad(task, question, passage) if task is not None else None
        res = {
            "task": task,
            "span": span,
            "enc": enc,
            "ranked": calls.ranked(enc, question, passage),
        }
        res["ext_seconds"] = time.perf_counter() - t0
        c.remember("qa", inputs, **res)
    st.markdown("**Extractive answer**")
    if res["span"] is not None:
        st.html(ner_parsing.highlight_html(passage, [res["span"]], label="answer"))
        c.answered_by(res["task"])
    elif not res["ranked"]:
        st.info("The passage has no sentences with letters or digits to rank.")
    else:
        ranked = res["ranked"]
        st.html(ner_parsing.highlight_html(passage, [ranked[0].span], label="best"))
        gap = sentence_search.margin([r.score for r in ranked])
        c.answered_by(
            res["enc"], how=f" · cosine {ranked[0].score:.3f}, {gap:.3f} ahead of the next"
        )
        top = ranked[:6]
        fig = figures.bar(
            [t.span.text for t in top],
            [t.score for t in top],
            "cosine similarity to the question (−1 … 1)",
            fmt=".3f",
        )
        st.plotly_chart(fig, key=k("qa::chart"))
        if res["enc"].choice.key == registry.MINILM.key:
            held = calls.qa_score(res["enc"])
            c.score(
                f"MiniLM's top sentence holds the answer for {c.share(held)} held-out questions"
            )
    c.elapsed(res["ext_seconds"])
    return res


def _generative(inputs: tuple, res: dict) -> None:
    passage, question, _, reader = inputs
    if "r" not in res:
        t0 = time.perf_counter()
        lm = get_model("chat")
        context = (
            passage if reader == "passage" or not res["ranked"] else res["ranked"][0].span.text
        )
        res["r"] = c.ask(lm, task_prompts.qa_messages(context, question), c.gen_cfg("qa"))
        res["lm"], res["gen_seconds"] = lm, time.perf_counter() - t0
        c.remember("qa", inputs, **res)
    st.markdown("**Generative answer**")
    st.code(res["r"].text or "(empty answer)", language=None, wrap_lines=True)
    c.answered_by(res["lm"], res["r"], how=f", reading {READERS[reader]}")
    if res["lm"].choice.key == registry.SMOLLM2.key:
        key = f"qa_reader_{reader}"
        c.recorded_score(
            key,
            lambda s: (
                f"SmolLM2 reading {READERS[reader].split(' (')[0]}: the "
                f"answer is in its reply for {s[key]:,} of {s['qa_n']:,} held-out "
                "questions"
            ),
        )
    c.weak("A 135M model often repeats the question, answers from memory or invents a number.")
    c.elapsed(res["gen_seconds"])
    c.raw_output(res["r"])
