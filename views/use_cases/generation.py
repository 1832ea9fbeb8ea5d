"""Text generation: continue a prompt, or summarize (Project 2's extractive pick vs the LM)."""

from __future__ import annotations

import html
import time

import streamlit as st

from lessons import abstractive as ab
from lessons import chat, ner_parsing
from lessons import extractive as ex
from models import registry
from ui.models import get_model
from ui.widgets import empty_hint, guarded_text, show_code
from views.use_cases import calls
from views.use_cases import common as c

k = c.k
MODES = ("Continue a prompt", "Summarize")


def _summary_examples() -> list[dict]:
    """The email written for this page, then Project 2's built-in articles."""
    return c.EXAMPLES["summary"] + [
        {"title": f"Article: {e.title}", "text": e.article} for e in ex.load_examples()
    ]


def render() -> None:
    left, _ = c.tab_columns(
        "A **decoder** predicts the next token, appends it and repeats. *Continue* feeds your "
        "text raw (no chat template), which is what a base LM does; temperature 0 is greedy "
        "(always the likeliest token), higher values sample. *Summarize* compares two ideas: "
        "Project 2's **extractive** summary picks the sentences most of the text agrees with "
        "(PageRank on MiniLM cosines), the instruct model **writes** one."
    )
    with left:
        mode = st.radio("Task", MODES, horizontal=True, key=k("gen::mode"))
        if mode == MODES[0]:
            c.example_picker("continue", {"text": k("gen::prompt")})
            text = guarded_text(
                "Prompt", c.first("continue", "text"), key=k("gen::prompt"), height=80
            )
            c1, c2 = st.columns(2)
            temp = c1.slider("Temperature (0 = greedy)", 0.0, 1.5, 0.0, 0.1, key=k("gen::temp"))
            seed = c2.number_input("Seed", 0, 9_999, 0, key=k("gen::seed"), disabled=temp == 0)
            extra = (temp, int(seed))
        else:
            c.example_picker("summary", {"text": k("gen::doc")}, _summary_examples())
            text = guarded_text(
                "Text to summarize",
                c.first("summary", "text"),
                key=k("gen::doc"),
                height=170,
                max_chars=ex.ArticleLimits().max_chars,
            )
            extra = (st.slider("Sentences to pick", 1, 5, 2, key=k("gen::k")),)
        run = c.run_button("generate")
    inputs = (mode, text.text, *extra)
    with c.result_box("generate"):
        if text.empty:
            empty_hint("a prompt or a text to summarize")
            return
        if run:
            st.session_state.pop(k("generate::result"), None)
        res = c.recall("generate", inputs)
        if not (run or res):
            st.caption("Press **Run** to generate.")
            return
        if mode == MODES[0]:
            _continue(inputs, res)
        else:
            _summarize(inputs, res)
    show_code(chat.encode_plain, chat.complete, ex.summarize, ex.pagerank, chat.TimeBudget)


def _continue(inputs: tuple, res: dict | None) -> None:
    _, prompt, temp, seed = inputs
    if res is None:
        t0 = time.perf_counter()
        lm = get_model("chat")
        r = calls.continuation(lm, prompt, c.gen_cfg("continue", temp, seed))
        if r.hit_time_budget:
            calls.continuation.clear()
        res = {"lm": lm, "r": r, "seconds": time.perf_counter() - t0}
        c.remember("generate", inputs, **res)
    st.html(
        '<div style="white-space:pre-wrap;line-height:1.6">'
        f"<span style='color:#6b7280'>{html.escape(prompt)}</span> "
        f"<b>{html.escape(res['r'].text)}</b></div>"
    )
    c.answered_by(res["lm"], res["r"], how=", greedy" if temp == 0 else f", T = {temp:g}")
    c.weak("A 135M model's continuations wander and repeat after a sentence or two.")
    c.elapsed(res["seconds"])
    c.raw_output(res["r"])


def _summarize(inputs: tuple, res: dict | None) -> None:
    _, doc, n = inputs
    ext_col, gen_col = st.columns(2, gap="large")
    res = res or {}
    with ext_col:
        st.markdown("**Extractive: Project 2's PageRank pick**")
        if "pick" not in res:
            t0 = time.perf_counter()
            enc = get_model("encoder")
            try:
                res["pick"] = calls.extractive_summary(enc, doc, n)
            except ValueError as exc:  # fewer than 2 sentences
                res["pick"] = str(exc)
            res["enc"], res["ext_seconds"] = enc, time.perf_counter() - t0
            c.remember("generate", inputs, **res)
        pick = res["pick"]
        if isinstance(pick, str):
            st.info(pick)
        else:
            spans = [pick.spans[i] for i in pick.picked]
            st.code(pick.summary, language=None, wrap_lines=True)
            c.answered_by(res["enc"], how=f" · {len(spans):,} of {len(pick.spans):,} sentences")
            if res["enc"].choice.key == registry.MINILM.key:
                r = calls.summary_score(res["enc"])
                c.score(
                    f"ROUGE-1 F1 against the human summaries of Project 2's "
                    f"{len(ex.load_examples()):,} articles: {r['pagerank']:.3f} "
                    f"(the first sentences: {r['lead']:.3f})"
                )
            with st.expander("Where the picked sentences are", icon=":material/format_quote:"):
                st.html(ner_parsing.highlight_html(doc, spans, label="picked"))
        c.elapsed(res["ext_seconds"])
    with gen_col:
        st.markdown("**Abstractive: the chat model writes it**")
        if "r" not in res:
            t0 = time.perf_counter()
            lm = get_model("chat")
            msgs = chat.build_messages(ab.summary_prompt(doc, n))
            res["r"] = c.ask(lm, msgs, c.gen_cfg("summary", tokens=ab.token_cap(n)))
            res["lm"], res["gen_seconds"] = lm, time.perf_counter() - t0
            c.remember("generate", inputs, **res)
        text, cut = ab.trim_to_sentence(res["r"].text)
        st.code(text or "(empty answer)", language=None, wrap_lines=True)
        c.answered_by(res["lm"], res["r"])
        if cut:
            st.caption(f"Cut at the token cap; the unfinished end is not shown: “{c.md(cut)}”")
        for flag in ab.check_facts(text, doc)[:6]:
            c.weak(f"{c.md(flag.reason)} (“{c.md(flag.said)}”)")
        if res["lm"].choice.key == registry.SMOLLM2.key:
            c.recorded_score(
                "summary_rouge1_smollm2",
                lambda s: f"ROUGE-1 F1 on the same articles: {s['summary_rouge1_smollm2']:.3f}",
            )
        c.elapsed(res["gen_seconds"])
        c.raw_output(res["r"])
