"""GPT: the next-token distribution, the sampling knobs, decoding step by step, a streamed answer,
and what the newest token attends to, on the sidebar's causal chat LM (SmolLM2 offline). One
GenConfig from the knobs drives every tab; the tabs live in views/gpt/."""

from __future__ import annotations

import streamlit as st

from figures import gpt as fig
from lessons import decoding as D
from ui.models import get_model
from ui.page import header, lazy_tabs
from ui.widgets import empty_hint, guarded_text
from views.gpt import attention, distribution, steps, stream
from views.gpt.common import gen_config, k

TABS = ("Next-token distribution", "Step by step", "Streamed answer", "What the newest token sees")

controls = header(
    "GPT: predicting the next token",
    "A GPT reads a text and outputs, for the next position, a score (**logit**) for every token "
    "of its vocabulary; softmax turns the scores into probabilities. That is all it does: "
    "answers, stories and code are this one step repeated. How we **pick** from the "
    "distribution (temperature, top-k, top-p, a repetition penalty, greedy or sampled) changes "
    "the text as much as the weights do.",
)
with controls:
    text = guarded_text("Prompt", fig.PROMPT, key=k("prompt"), max_chars=1_000, height=80)
    use_tmpl = st.toggle(
        "Use the chat template (the prompt becomes a user turn)", value=False, key=k("tmpl"),
        help="Off: raw continuation, what a base LM does. On: <|im_start|>user … "
        "<|im_start|>assistant, what an instruct model was tuned on.",
    )  # fmt: skip
    gen = gen_config()
    st.caption("Model: the sidebar's *Causal chat LM*. The knobs apply to every tab.")

if text.empty:
    empty_hint("a prompt")
    st.stop()

handle = get_model("chat")
try:
    with handle.lock:
        prompt = D.encode_prompt(handle.tokenizer, text.text, use_tmpl)
except ValueError as exc:  # a Hub model whose tokenizer has no chat template
    st.warning(f"{handle.choice.label} cannot do this: {exc}", icon=":material/block:")
    st.stop()
if prompt.cut_tokens:
    st.caption(
        f":material/content_cut: The prompt is {prompt.cut_tokens + D.MAX_PROMPT_TOKENS:,} "
        f"tokens; only the first {D.MAX_PROMPT_TOKENS:,} are used."
    )

dist_tab, step_tab, stream_tab, attn_tab = lazy_tabs(TABS, k("tabs"))
with dist_tab:
    if dist_tab.open:
        distribution.render(handle, tuple(prompt.ids), gen)
with step_tab:
    if step_tab.open:
        steps.render(handle, prompt, gen)
with stream_tab:
    if stream_tab.open:
        stream.render(handle, text.text, gen)
with attn_tab:
    if attn_tab.open:
        attention.render(handle, steps.decoder(handle, prompt, gen.seed))
