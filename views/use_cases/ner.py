"""Named entity recognition: a trained tagger when there is one, else the chat model asked."""

from __future__ import annotations

import time

import streamlit as st

from lessons import ner_parsing as ner
from lessons import task_eval, task_prompts
from models import registry
from ui.models import get_model
from ui.training import prepared_note
from ui.widgets import guarded_text, show_code
from views.use_cases import calls
from views.use_cases import common as c

k = c.k
CHAT = c.CHAT
TAGGER_KINDS = ("token-cls", "seq2seq")


def _model_options() -> list[str]:
    """Taggers that can load here, the ones trained on this machine (Project 3) first, then the
    chat model: the best one available is the default."""
    ready = [ch for ch in registry.choices("ner", only_available=True) if ch.kind in TAGGER_KINDS]
    ready.sort(key=lambda ch: ch.source != "prepared")
    return [ch.key for ch in ready] + [CHAT]


def render() -> None:
    left, right = c.tab_columns(
        "NER labels spans of text: **people, organisations, places, dates**. A trained tagger "
        "labels every token (B-PER, I-PER, O …) or, like Project 3's T5, writes the sentence "
        "back with a type after each entity word. Without one, we ask the chat model for "
        "`TYPE: text` lines after one worked example, parse them, find each entity in your "
        "text for its character offsets, and add dates from a regex."
    )
    with right:
        c.weak(
            "SmolLM2 misses and mislabels entities and names some the text never mentions "
            "(listed, not highlighted)."
        )
        st.html(
            "".join(
                f'<mark style="background:{col};padding:1px 4px;margin-right:4px">{t}</mark>'
                for t, col in ner.ENTITY_COLORS.items()
            )
        )
    with left:
        c.example_picker("ner", {"text": k("ner::text")})
        text = guarded_text("Text", c.first("ner", "text"), key=k("ner::text"), height=110)
        tip = "Project 3's tagger appears here once `make prepare` has trained it."
        backend = c.model_select("Model", _model_options(), k("ner::backend"), help=tip)
        run = c.run_button("ner")
    missing = "a text with names, places or dates" if text.empty else None
    c.result("ner", (text.text, backend), run, _run, _show, missing, "find the entities")
    show_code(
        task_prompts.ner_messages,
        ner.parse_entities,
        ner.match_entities,
        ner.aggregate_bio,
        ner.tagger_entities,
    )


def _run(inputs: tuple) -> None:
    text, backend = inputs
    t0 = time.perf_counter()
    tagger = get_model("ner", backend, optional=True) if backend != CHAT else None
    if tagger is not None:
        spans = calls.tagged(tagger, text)
        c.remember(
            "ner",
            inputs,
            handle=tagger,
            matched=ner.MatchedEntities(spans, [], []),
            parsed=None,
            r=None,
            seconds=time.perf_counter() - t0,
        )
        return
    lm = get_model("chat")
    r = c.ask(lm, task_prompts.ner_messages(text), c.gen_cfg("ner"))
    parsed = ner.parse_entities(r.text)
    c.remember(
        "ner",
        inputs,
        handle=lm,
        matched=ner.match_entities(text, parsed.entities),
        parsed=parsed,
        r=r,
        seconds=time.perf_counter() - t0,
    )


def _show(res: dict) -> None:
    text, m, handle = res["inputs"][0], res["matched"], res["handle"]
    st.html(ner.highlight_html(text, m.spans))
    c.answered_by(handle, res["r"])
    if any(s.source == "regex" for s in m.spans):
        st.caption("DATE spans marked *regex* come from the date pattern, not the model.")
    if m.spans:
        st.dataframe(
            [
                {
                    "entity": s.text_in(text),
                    "type": s.label,
                    "found by": s.source,
                    "characters": f"{s.start:,}–{s.end:,}",
                }
                for s in m.spans
            ],
            hide_index=True,
        )
        st.caption(f"{len(m.spans):,} entities found.")
    else:
        st.info("No entity from the model was found in the text.")
    if res["parsed"] is not None:
        _lm_details(res)
    else:
        held = calls.tagger_score(handle)
        c.score(
            f"Entity F1 {held.f1:.2f} on {len(task_eval.load_ner()):,} held-out sentences "
            f"({held.correct:,} of {held.gold:,} entities exact, dates from the regex)"
        )
        if handle.choice.source == "prepared":
            with st.expander("How it was trained", icon=":material/inventory_2:"):
                prepared_note(handle.choice.repo)
    c.elapsed(res["seconds"])
    if res["r"] is not None:
        c.raw_output(res["r"])


def _lm_details(res: dict) -> None:
    parsed, m = res["parsed"], res["matched"]
    st.caption(f"Parsed the answer as: {parsed.format}.")
    for p in parsed.problems:
        st.caption(f":material/error: {c.md(p)}")
    if m.not_found:
        c.weak(
            "Named by the model but **not in your text**: "
            + ", ".join(f"{c.md(e.text)} ({e.label})" for e in m.not_found)
        )
    if m.implausible:
        st.caption(
            "Too long to be a name, skipped: "
            + ", ".join(f"{c.md(e.text[:60])} ({e.label})" for e in m.implausible)
        )
    if res["handle"].choice.key == registry.SMOLLM2.key:
        c.recorded_score(
            "ner_smollm2_f1",
            lambda s: (
                f"Entity F1 {s['ner_smollm2_f1']:.2f} on "
                f"{s['ner_n']:,} held-out sentences (dates from the regex)"
            ),
        )
