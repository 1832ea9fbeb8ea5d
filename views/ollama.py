"""Project 7: local inference via Ollama — your own model server, streamed, measured."""

from __future__ import annotations

import streamlit as st

from lessons.sampling import GenConfig
from models.engine import StreamStats, engine_for
from models.server import Figures, ServerError, on_a_space
from ui.models import get_model
from ui.page import header, lesson, page_keys, store, stored
from ui.training import busy_slot
from ui.widgets import guarded_text, show_code

k = page_keys("ollama")
LESSON = """
[Ollama](https://ollama.com) serves quantised GGUF models on your own machine behind a small HTTP
API; the official `ollama` Python client talks to it at `OLLAMA_HOST` (default
`localhost:11434`). Reasoning models such as **DeepSeek-R1** think before they answer: with
`think=True` the server streams that trace apart from the answer (`message.thinking` vs
`message.content`). After each answer the server reports its own timings, in **nanoseconds**:
generation speed = `eval_count / eval_duration`, prompt speed, load time; the client measures the
time to the first token.
"""
SET_UP = """```bash
ollama serve                      # the server, on localhost:11434
ollama pull deepseek-r1:1.5b      # a 1.1 GB distilled R1 (Qwen2.5-1.5B)
OLLAMA_HOST=http://other-box:11434 make run   # or point the gallery at another machine
```"""


def figures_row(f: Figures) -> None:
    a, b, c, d = st.columns(4)
    a.metric("Generation", f"{f.tokens_per_s:,.1f} tok/s", help=f"{f.eval_count:,} tokens")
    b.metric("Prompt", f"{f.prompt_tokens_per_s:,.0f} tok/s", help=f"{f.prompt_eval_count:,} tok")
    c.metric("First token", f"{f.first_token_s:,.2f} s")
    d.metric("Load", f"{f.load_s:,.2f} s")


def history() -> list[dict]:
    return st.session_state.setdefault(k("history"), [])


def show_turn(turn: dict) -> None:
    with st.chat_message(turn["role"]):
        if turn.get("thinking"):
            with st.expander("Thinking", icon=":material/psychology:"):
                st.text(turn["thinking"])
        st.text(turn["content"])  # plain text: nothing a model or a user writes runs as HTML
        if turn.get("figures"):
            figures_row(turn["figures"])


def stream_answer(server, model: str, think: bool) -> None:
    turns = [{"role": t["role"], "content": t["content"]} for t in history()]
    with st.chat_message("assistant"):
        thinking_box = st.expander("Thinking", icon=":material/psychology:") if think else None
        thought = thinking_box.empty() if thinking_box else None
        answer, live = st.empty(), st.empty()
        text = {"thinking": "", "content": ""}
        try:
            for chunk in server.chat(model, turns, think=think):
                if chunk.kind == "done":
                    history().append(
                        {
                            "role": "assistant",
                            "content": text["content"],
                            "thinking": text["thinking"],
                            "figures": chunk.figures,
                        }
                    )
                    break  # fmt: skip
                text[chunk.kind] += chunk.text
                (thought if chunk.kind == "thinking" else answer).text(text[chunk.kind])
                live.caption(f"Streaming… ≈ {chunk.live_tokens_per_s:,.1f} tokens/s")
        except ServerError as exc:
            st.warning(str(exc), icon=":material/cloud_off:")
            return
    st.rerun()


def server_chat(server) -> bool:
    """The server's models and a streamed chat; False when no server answers."""
    try:
        served = server.models()
    except ServerError as exc:
        st.warning(str(exc), icon=":material/cloud_off:")
        return False
    st.success(f"Ollama at {server.host}: {len(served):,} model(s).", icon=":material/dns:")
    pull_box(server)
    if not served:
        st.info("No models yet: pull one above (e.g. `deepseek-r1:1.5b`).")
        return True
    names = [m.name for m in served]
    model = st.selectbox("Model", names, key=k("model"))
    info = served[names.index(model)]
    try:
        caps = server.capabilities(model)
    except ServerError as exc:
        st.warning(str(exc), icon=":material/cloud_off:")
        return True
    st.caption(
        f"{info.family}, {info.parameters} parameters, {info.quantization}, "
        f"{info.size_bytes / 1e9:,.2f} GB · capabilities: {', '.join(caps) or 'none'}"
    )
    think = st.toggle("Show thinking (think=True)", value="thinking" in caps, key=k("think"),
                      disabled="thinking" not in caps)  # fmt: skip
    for turn in history():
        show_turn(turn)
    prompt = st.chat_input("Ask the model", key=k("ask"), max_chars=4_000)
    if prompt and prompt.strip():
        history().append({"role": "user", "content": prompt})
        show_turn(history()[-1])
        stream_answer(server, model, think)
    elif prompt is not None:
        st.info("Type a question first.")
    return True


def pull_box(server) -> None:
    with st.expander("Pull a model", icon=":material/download:"):
        name = guarded_text("Model name", "deepseek-r1:1.5b", k("pull"), max_chars=80, area=False)
        if st.button("Pull", key=k("go_pull"), disabled=name.empty):
            bar = st.progress(0.0, text="Asking the server…")
            try:
                for status, done, total in server.pull(name.text.strip()):
                    bar.progress(done / total if total else 0.0, text=status[:80])
                st.success(f"Pulled `{name.text.strip()}`.")
            except ServerError as exc:
                st.warning(str(exc), icon=":material/cloud_off:")


def stand_in() -> None:
    """Offline, no server: the embedded SmolLM2 on the gallery's own engine, labelled."""
    st.subheader("Meanwhile: the gallery's own local engine")
    handle = get_model("chat", "smollm2-embedded")
    question = guarded_text("Ask SmolLM2-135M (embedded, not Ollama)", "What is a GGUF file?",
                            k("standin"), max_chars=500, area=False)  # fmt: skip
    if st.button("Answer locally", key=k("go_standin"), disabled=question.empty):
        stats = StreamStats()
        with busy_slot(60, "answering") as ok:
            if ok:
                engine = engine_for(handle)
                messages = [{"role": "user", "content": question.text}]
                out = st.write_stream(engine.stream(messages, GenConfig(160), stats))
                store(k("standin_result"), (engine.name, stats.tokens_per_s, str(out)))
    done = stored(k("standin_result"))
    if done:
        st.caption(f"{done[0]} on SmolLM2-135M Q4_1: {done[1]:,.1f} tokens/s on this machine, "
                   "greedy. A 135M model, not a reasoning model: no thinking trace.")  # fmt: skip


def main() -> None:
    header("Project 7: local inference via Ollama", LESSON)
    if on_a_space():
        st.info(
            "This is a hosted Space: it cannot reach an Ollama server on your computer. Run "
            "the gallery locally (`make run`) to talk to yours.",
            icon=":material/cloud:",
        )
    server = get_model("server").model
    if not server_chat(server):
        lesson(SET_UP, label="Start a server", expanded=True)
        stand_in()
    show_code(server.chat)


main()
