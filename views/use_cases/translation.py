"""Machine translation: an encoder-decoder trained for one pair (Hub), or the chat model asked."""

from __future__ import annotations

import time

import streamlit as st

from lessons import chat, task_prompts
from models import registry
from ui.models import get_model
from ui.widgets import guarded_text, show_code
from views.use_cases import calls
from views.use_cases import common as c

k = c.k
CHAT = c.CHAT


def _model_options() -> list[str]:
    """Task models that can load here (online, or in the local cache), then the chat model."""
    return [ch.key for ch in registry.choices("translate", only_available=True)] + [CHAT]


def render() -> None:
    left, right = c.tab_columns(
        "**Encoder-decoder** models were built for this (the 2017 Transformer paper): the "
        "encoder reads the source, the decoder writes the target token by token, attending "
        "to the source. A chat model does it by being **asked**: the instruction and the "
        "text are one prompt, the translation is the continuation."
    )
    with right:
        c.weak(
            "SmolLM2-135M saw mostly English: beyond greetings its French and German are "
            "mostly invented (its score on held-out sentences is below each answer). Short "
            "Python → JavaScript functions come out right. Online, a Marian model trained on "
            "one language pair does far better."
        )
    with left:
        c.example_picker(
            "translate",
            {
                "mode": k("tr::mode"),
                "text": k("tr::text"),
                "source": k("tr::src"),
                "target": k("tr::tgt"),
            },
        )
        mode = st.radio("Translate", ["Text", "Code"], horizontal=True, key=k("tr::mode"))
        langs = task_prompts.LANGUAGES if mode == "Text" else task_prompts.CODE_LANGUAGES
        text = guarded_text(mode, c.first("translate", "text"), key=k("tr::text"), height=110)
        c1, c2 = st.columns(2)
        src = c1.selectbox("From", langs, index=0, key=k("tr::src"))
        tgt = c2.selectbox("To", langs, index=1, key=k("tr::tgt"))
        options = _model_options() if mode == "Text" else [CHAT]
        backend = c.model_select(
            "Model",
            options,
            k("tr::backend"),
            help="Hub task models are listed when the Hub or the local cache has them.",
        )
        run = c.run_button("translate")
    inputs = (mode, text.text, src, tgt, backend)
    missing = "some text to translate" if text.empty else None
    c.result("translate", inputs, run, _run, _show, missing, "translate")
    show_code(task_prompts.translation_messages, task_prompts.code_translation_messages, chat.chat)


def _run(inputs: tuple) -> None:
    mode, text, src, tgt, backend = inputs
    t0 = time.perf_counter()
    task = get_model("translate", backend, optional=True) if backend != CHAT else None
    if task is not None:
        out = calls.seq2seq(task, text, c.gen_cfg("translate").max_new_tokens)
        c.remember(
            "translate", inputs, out=out, handle=task, r=None, seconds=time.perf_counter() - t0
        )
        return
    lm = get_model("chat")
    build = (
        task_prompts.translation_messages
        if mode == "Text"
        else task_prompts.code_translation_messages
    )
    r = c.ask(lm, build(text, src, tgt), c.gen_cfg("translate" if mode == "Text" else "code"))
    c.remember("translate", inputs, out=r.text, handle=lm, r=r, seconds=time.perf_counter() - t0)


def _show(res: dict) -> None:
    mode, _, src, tgt, _ = res["inputs"]
    st.markdown(f"**{mode} translation, {src} → {tgt}**")
    st.code(res["out"] or "(empty answer)", language=None, wrap_lines=True)
    c.answered_by(res["handle"], res["r"])
    if res["r"] is None:
        st.caption(f"{res['handle'].choice.note} It reads the text only: From/To are ignored.")
    elif mode == "Text" and res["handle"].choice.key == registry.SMOLLM2.key:
        c.recorded_score(
            "translation_chrf",
            lambda s: (
                f"SmolLM2 on {s['translation_n']:,} held-out English → French sentences: "
                f"chrF {s['translation_chrf']:.1f} of 100; copying the English unchanged scores "
                f"{s['translation_chrf_copy']:.1f}"
            ),
        )
    c.elapsed(res["seconds"])
    if res["r"] is not None:
        c.raw_output(res["r"])
