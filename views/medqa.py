"""Project 6: fine-tuning Llama for medical QA with LitGPT — LoRA on SmolLM2 (a Llama), live."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from figures import medqa as fig
from lessons import llm_calculator as calc
from lessons import medqa as L
from models import medqa as M
from models import prepared
from ui.models import get_model
from ui.page import header, lazy_tabs, lesson, page_keys, presenter
from ui.training import busy_slot, prepared_note, training_panel
from ui.widgets import empty_hint, guarded_text, show_code

k = page_keys("medqa")
OUT = "out/medqa-smollm2"


@st.cache_data(max_entries=1)
def builtin(name: str) -> list[dict[str, str]]:
    return M.read_pairs(M.DATA / name)


def prepared_json(name: str):
    try:
        return json.loads((prepared.path(M.PREPARED) / name).read_text())
    except (OSError, ValueError):
        return None


def training_pairs(source: str) -> list[dict[str, str]]:
    if source == "The gallery's pairs":
        return builtin("train.json")
    up = st.file_uploader("LitGPT JSON: a list of {instruction, input, output}", type=["json"])
    if up is None:
        return []
    try:
        return M.parse_pairs(up.getvalue(), up.name)
    except M.DataError as exc:
        st.warning(str(exc), icon=":material/error:")
        return []


controls = header(
    "Project 6: fine-tuning Llama for medical QA with LitGPT",
    "SmolLM2-135M-Instruct is a small **Llama**: RMSNorm, SwiGLU, RoPE, grouped-query "
    "attention. LitGPT converts its weights (`litgpt convert_to_litgpt`) and wraps the query "
    "and value projections in **LoRA** (r = 8, `finetune_lora`'s defaults): W stays frozen, "
    "only B·A trains. The pairs are 191 medical questions with concise textbook answers "
    "written for the gallery; 40 other questions are held out. The score is **answer NLL**: "
    "how surprised the model is by the reference answer, per token (lower is better), plus "
    "ROUGE-L of what it actually writes.",
)
with controls:
    source = st.radio("Training pairs", ("The gallery's pairs", "Upload JSON"), key=k("source"))
    pairs = training_pairs(source)
    c1, c2 = st.columns(2)
    budget = c1.select_slider("Budget (s)", [60, 120, 180, 300], 120, key=k("budget"))
    lr = c2.select_slider("Learning rate", [3e-4, 1e-3, 2e-3], M.Settings.lr, key=k("lr"))
    more = st.toggle(
        "Continue from the prepared adapter",
        prepared.ready(M.PREPARED),
        key=k("more"),
        disabled=not prepared.ready(M.PREPARED),
    )

st.warning(
    "**Not medical advice.** A 135-million-parameter model fine-tuned for minutes on 191 "
    "answers writes fluent text that can be wrong. Verify anything medical with a clinician.",
    icon=":material/medical_information:",
)
held = builtin("heldout.json")
rec = prepared.record(M.PREPARED)
t_train, t_answers, t_gpu = lazy_tabs(
    ["Training", "Before / after answers", "Llama 3.1 8B on a GPU"], k("tabs")
)

if t_train.open:
    with t_train:
        prepared_note(M.PREPARED)
        settings = M.Settings(lr=lr, eval_n=6)  # 6 held-out questions on the live curve
        init = prepared.path(M.PREPARED) if more and prepared.ready(M.PREPARED) else None
        result = training_panel(
            k("train"),
            work=lambda rep, p=pairs, s=settings, b=budget, i=init: M.train(
                p, held, s, b - 25, rep, init=i, answer_n=2
            ),
            budget_s=budget,
            name="medqa-lora",
            disabled=not pairs,
            idle_text="Press Train to run LitGPT's LoRA live (SmolLM2 loads first, then steps).",
            curves=fig.loss_curves,
            caption=fig.caption,
        )
        if result is not None:
            st.success(
                f"{result.steps:,} step(s), {result.examples:,} examples, in {result.seconds:.0f} s"
                f", {result.seconds_per_step:.2f} s per step here; held-out answer NLL "
                f"{result.nll_before:.3f} → {result.nll_after:.3f} "
                f"({L.relative_drop(result.nll_before, result.nll_after):.1%} lower)."
            )
        elif rec is not None:
            curve = fig.loss_curves(prepared_json("history.json") or [])
            if curve is not None and not presenter():
                st.plotly_chart(curve, key=k("prep"))
            r = rec.result
            st.plotly_chart(
                fig.scores({"answer_nll": r["base_answer_nll"], "rouge_l": r["base_rouge_l"]}, r),
                key=k("scores"),
            )
            st.caption(
                f"The prepared run: {r['steps']:,} steps at {r['s_per_step']:.2f} s per step, "
                f"scored on {r.get('heldout', len(held)):,} held-out questions (ROUGE-L: greedy)."
            )
        with st.expander("The same run with LitGPT's own command line", icon=":material/terminal:"):
            st.code(M.litgpt_commands(OUT), language="bash")

if t_answers.open:
    with t_answers:
        live = st.session_state.get(f"job::{k('train')}")
        live = live.result if live is not None and live.finished else None
        rows = live.answers if live is not None and live.answers else prepared_json("answers.json")
        lesson(
            "The same held-out question and prompt, greedy decoding, with the LoRA update "
            "switched off (the base SmolLM2) and on. The reference is the gallery's answer."
        )
        if rows:
            st.caption(
                "From your live run."
                if live is not None and live.answers
                else "From the prepared adapter (trained by `make prepare`)."
            )
            shown = rows[:3] if presenter() else rows
            st.dataframe(pd.DataFrame(shown), hide_index=True, width="stretch")
        else:
            st.info("No adapter yet: run `make prepare` or train on the first tab.")
        text = guarded_text(
            "Your own question", "What is a fever?", key=k("q"), area=False, max_chars=300
        )
        if text.empty:
            empty_hint("a question")
        elif rec is None and live is None:
            st.info("Answers need an adapter: prepare or train one first.")
        elif st.button(
            "Answer with the adapter off and on", key=k("ask"), icon=":material/compare:"
        ):
            handle = live.handle if live is not None else get_model("medqa")
            with busy_slot(30, "answering") as ok:
                if ok:
                    a, b = st.columns(2)
                    a.markdown("**Adapter off (base SmolLM2)**")
                    a.text(M.answer(handle, text.text, base=True) or "(empty)")
                    b.markdown("**Adapter on (LoRA)**")
                    b.text(M.answer(handle, text.text) or "(empty)")

if t_gpu.open:
    with t_gpu:
        lesson(
            "The project's brief names **Llama 3.3 8B**, which does not exist: Llama 3.3 was "
            "released only as a 70B model. The 8B model of that generation is **Llama 3.1 8B "
            "Instruct** (gated: accept Meta's licence on the Hub, then use an access token). "
            "The same LitGPT recipe runs on one GPU, in bf16, with these commands:"
        )
        st.code(M.llama_commands(), language="bash")
        mem = L.llama_8b_lora_memory()
        parts = {k_: calc.human_bytes(v) for k_, v in mem.as_dict().items()}
        st.markdown(
            f"`lessons.llm_calculator.training_memory` for this run (Llama 3.1 8B's published "
            f"config, bf16 frozen weights, LoRA r = 8 on q and v: **{mem.trainable:,}** "
            f"trainable parameters, micro-batch 1, 512 tokens): **{calc.human_bytes(mem.total)}**"
            " — " + ", ".join(f"{n} {v}" for n, v in parts.items()) + ". A 24 GB card fits it; "
            "the CUDA context and allocator slack add about 1–2 GB."
        )

show_code(M.train, M.nll, M.answer, M.adapter_off, L.answer_nll, L.rouge_l)
