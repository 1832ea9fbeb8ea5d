"""Text classification: Project 1's trained classifier, zero-shot MiniLM, and the chat model."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

import figures
from lessons import task_eval, task_prompts, zero_shot
from models import prepared, registry
from ui.models import get_model
from ui.page import presenter
from ui.training import prepared_note
from ui.widgets import guarded_text, show_code
from views.use_cases import calls
from views.use_cases import common as c

k = c.k
MODES = ("Sentiment", "Topic or spam")


def render() -> None:
    enc = get_model("encoder")
    best = calls.wording_scores(enc)[0].wording  # measured on the built-in reviews, ~1 s once
    left, right = c.tab_columns(
        "A classifier is usually an **encoder** plus a small head trained on labelled "
        "examples: Project 1's MiniLM fine-tune. With no training at all (**zero-shot**), "
        f"each label becomes a sentence (*“{c.md(best.template)}”*), and the label whose "
        "sentence is closest to the text (cosine of MiniLM embeddings) wins. The **margin**, "
        "the winner's cosine minus the runner-up's, says how sure it is: the wording matters."
    )
    with right:
        c.weak("SmolLM2-135M is asked to name a label; it often names the wrong one or none.")
    with left:
        mode = st.radio("Task", MODES, horizontal=True, key=k("cls::mode"))
        task = "sentiment" if mode == MODES[0] else "topic"
        keys = {
            "text": k(f"cls::{task}::text"),
            "labels": k(f"cls::{task}::labels"),
            "template": k(f"cls::{task}::tpl"),
        }
        c.example_picker(task, keys)
        d_labels = ", ".join(best.labels) if task == "sentiment" else c.first(task, "labels")
        d_tpl = best.template if task == "sentiment" else c.first(task, "template")
        text = guarded_text("Text", c.first(task, "text"), key=keys["text"], height=90)
        labels_in = guarded_text(
            "Zero-shot labels (comma-separated)",
            d_labels,
            key=keys["labels"],
            area=False,
            max_chars=400,
        )
        tpl_in = guarded_text(
            "Zero-shot template",
            d_tpl,
            key=keys["template"],
            area=False,
            max_chars=200,
            help="{label} is replaced by each label.",
        )
        run = c.run_button("classify")
    labels = tuple(zero_shot.parse_labels(labels_in.text))
    template = tpl_in.text.strip() or d_tpl
    inputs = (task, text.text, labels, template)
    missing = "a text to classify" if text.empty else None
    if not missing and not labels:
        missing = "at least one label (e.g. 'spam, work')"
    c.result(
        "classify",
        inputs,
        run,
        lambda i: _run(i, enc),
        lambda r: _show(r, enc),
        missing,
        "classify",
    )
    show_code(
        zero_shot.hypothesis,
        zero_shot.zero_shot,
        zero_shot.score_wordings,
        task_prompts.classify_messages,
        task_prompts.pick_label,
    )


def _run(inputs: tuple, enc) -> None:
    task, text, labels, template = inputs
    t0 = time.perf_counter()
    trained = task == "sentiment" and registry.choices("sentiment", only_available=True)
    clf = get_model("sentiment", optional=True) if trained else None
    probs = calls.class_probs(clf, text) if clf is not None else None
    zs = calls.zero_shot(enc, text, labels, template)
    lm = get_model("chat")
    r = c.ask(lm, task_prompts.classify_messages(text, list(labels)), c.gen_cfg("classify"))
    c.remember(
        "classify",
        inputs,
        clf=clf,
        probs=probs,
        zs=zs,
        lm=lm,
        r=r,
        picked=task_prompts.pick_label(r.text, list(labels)),
        seconds=time.perf_counter() - t0,
    )


def _show(res: dict, enc) -> None:
    task = res["inputs"][0]
    cols = st.columns(2, gap="large") if task == "sentiment" else [st.container()]
    if task == "sentiment":
        with cols[0]:
            _trained(res) if res["clf"] is not None else _untrained()
    with cols[-1]:
        _zero_shot_chart(res["zs"])
        c.answered_by(enc, how=f" · margin {res['zs'].margin:.3f}")
        _zero_shot_scores(enc, res["inputs"])
    st.markdown(
        f"Instruct model picks: **{c.md(res['picked'])}**"
        if res["picked"]
        else "Instruct model named **none** of your labels."
    )
    if not presenter():  # on a projector the raw output expander below still has it
        st.code(res["r"].text or "(empty answer)", language=None, wrap_lines=True)
    c.answered_by(res["lm"], res["r"])
    if task == "sentiment" and res["lm"].choice.key == registry.SMOLLM2.key:
        c.recorded_score(
            "smollm2_sentiment",
            lambda s: (
                f"Right on {s['smollm2_sentiment']:,} of {s['sentiment_n']:,} held-out reviews"
            ),
        )
    c.elapsed(res["seconds"])
    c.raw_output(res["r"])


def _trained(res: dict) -> None:
    names, probs = zip(*res["probs"], strict=True)
    st.markdown(f"{res['clf'].choice.label.split(' (')[0]}: **{c.md(names[0])}**")
    st.plotly_chart(figures.bar(names, probs, "probability", ".1%"), key=k("cls::clf_chart"))
    c.answered_by(res["clf"])
    held = calls.classifier_score(res["clf"])
    c.score(f"Right on {c.share(held)} held-out reviews written for this page")
    if res["clf"].choice.source == "prepared":
        with st.expander("How it was trained", icon=":material/inventory_2:"):
            prepared_note(res["clf"].choice.repo)


def _untrained() -> None:
    s = prepared.step(registry.SENTIMENT_PREPARED.repo)
    st.info(
        f"{s.title} has not been trained on this machine: `make prepare` trains it (about "
        f"{s.minutes:g} min). Until then MiniLM zero-shot and the chat model answer alone.",
        icon=":material/hourglass_empty:",
    )


@st.fragment
def _zero_shot_chart(res: zero_shot.ZeroShotResult) -> None:
    """Temperature only re-scales stored cosines: no model runs when it moves."""
    t = st.slider(
        "Softmax temperature T",
        0.01,
        0.5,
        0.05,
        0.01,
        key=k("cls::temp"),
        help="probability = softmax(cosine / T) over your labels.",
    )
    probs = zero_shot.softmax_t(res.cosines, t)
    st.markdown(f"MiniLM zero-shot: **{c.md(res.best)}**")
    st.plotly_chart(
        figures.bar(res.labels, probs, "probability (softmax of cosine / T)", ".0%"),
        key=k("cls::chart"),
    )
    st.caption(
        "Cosines: "
        + ", ".join(
            f"{c.md(lab)} {cos:+.3f}" for lab, cos in zip(res.labels, res.cosines, strict=True)
        )
    )


def _zero_shot_scores(enc, inputs: tuple) -> None:
    task, _, labels, template = inputs
    if enc.choice.key != registry.MINILM.key:
        return
    if task == "topic":
        topic_labels = task_eval.topic_labels(
            task_eval.read_jsonl(task_eval.ASSETS / "topics_heldout.jsonl")
        )
        held = calls.zero_shot_score(enc, tuple(topic_labels), task_eval.TOPIC_TEMPLATE, "topic")
        c.score(
            f"With the labels {', '.join(topic_labels)}: right on {c.share(held)} held-out texts"
        )
        return
    table = calls.wording_scores(enc)
    mine = next(
        (s for s in table if (s.wording.labels, s.wording.template) == (labels, template)), None
    )
    if mine is not None:
        held = calls.zero_shot_score(enc, labels, template, "sentiment")
        c.score(
            f"This wording: {mine.accuracy:.0%} right on the {mine.n:,} built-in reviews "
            f"(mean margin {mine.mean_margin:.3f}), {c.share(held)} on held-out ones"
        )
    else:
        c.score("Your own wording: no held-out score (its labels' order is unknown).")
    with st.expander("Every wording measured on the built-in reviews", icon=":material/table:"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "labels (negative, positive)": ", ".join(s.wording.labels),
                        "template": s.wording.template,
                        "accuracy": s.accuracy,
                        "mean margin": s.mean_margin,
                    }
                    for s in table
                ]
            ),
            hide_index=True,
            column_config={
                "accuracy": st.column_config.NumberColumn(format="percent"),
                "mean margin": st.column_config.NumberColumn(format="%.3f"),
            },
        )
