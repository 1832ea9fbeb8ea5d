"""Tab 3: R1's `<think>` format, live from Project 7's Ollama server when one runs, else the
recorded example shipped in assets/ (labelled as such)."""

from __future__ import annotations

import streamlit as st

from lessons import think_format as tf
from models.server import ServerError
from ui.models import get_model
from ui.page import page_keys, store, stored
from ui.widgets import empty_hint, guarded_text
from views.deepseek import tab_columns

k = page_keys("deepseek")
LESSON = """
DeepSeek-R1 writes its reasoning first, between `<think>` and `</think>`, then the answer. The
chat template opens the assistant turn with `<think>`; R1-Zero's reinforcement learning (GRPO,
see that page) rewarded the answer's correctness **and** this format. Ollama parses the stream
for reasoning models and returns the parts apart (`thinking`, `content`): put together, they are
what the model wrote.
"""


def show(raw: str, source: str) -> None:
    r = tf.split(raw)
    st.caption(source)
    st.code(raw, language="markdown", wrap_lines=True)  # shown as text: nothing here is HTML
    a, b, c = st.columns(3)
    a.metric("Thinking", f"{len(r.thinking.split()):,} words")
    b.metric("Answer", f"{len(r.answer.split()):,} words")
    c.metric("Format reward", f"{tf.format_reward(raw):.0f}", help="1: one closed think block, "
             "then a non-empty answer")  # fmt: skip


def reasoning_models(server) -> list[str]:
    """Served models that can think; [] (after saying why) when the server does not answer."""
    try:
        names = [m.name for m in server.models()]
        thinking = [n for n in names if "thinking" in server.capabilities(n)]
    except ServerError as exc:
        st.info(f"{exc} Meanwhile, the recorded example below.", icon=":material/cloud_off:")
        return []
    if not thinking:
        st.info(f"The server at {server.host} serves no reasoning model: run `ollama pull "
                "deepseek-r1:1.5b`. Meanwhile, the recorded example below.")  # fmt: skip
    return thinking


def ask(server, model: str) -> None:
    prompt = guarded_text("Question", "A train leaves at 14:40 and takes 95 minutes. When "
                          "does it arrive?", k("ask"), max_chars=1_000, area=False)  # fmt: skip
    if st.button("Ask with think=True", key=k("go_ask"), disabled=prompt.empty):
        parts = {"thinking": "", "content": ""}
        try:
            with st.spinner(f"{model} is thinking…"):
                turns = [{"role": "user", "content": prompt.text}]
                for chunk in server.chat(model, turns, think=True):
                    if chunk.kind in parts:
                        parts[chunk.kind] += chunk.text
            store(k("answer"), (model, tf.join(parts["thinking"], parts["content"])))
        except ServerError as exc:
            st.warning(str(exc), icon=":material/cloud_off:")
    if prompt.empty:
        empty_hint("a question")
    done = stored(k("answer"))
    if done:
        show(done[1], f"Live from `{done[0]}` on Ollama at {server.host}: its `thinking` and "
             "`content` put back into one stream.")  # fmt: skip


def render() -> None:
    _, right = tab_columns(LESSON)
    with right:
        handle = get_model("server", optional=True)
        models = reasoning_models(handle.model) if handle is not None else []
        if models:
            model = st.selectbox("Reasoning model", models, key=k("model"))
            ask(handle.model, model)
        else:
            ex = tf.recorded()
            show(ex["raw"], f"**Recorded example** — {ex['label']} Prompt: {ex['prompt']}")
