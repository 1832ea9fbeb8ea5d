"""Tab 3: a whole answer, streamed by the fastest engine, with the same GenConfig."""

from __future__ import annotations

from typing import Any

import streamlit as st

from lessons import chat
from lessons.sampling import GenConfig
from models.engine import StreamStats, engine_for
from ui.page import lesson, store, stored
from ui.training import busy_slot
from views.gpt.common import k


def _why(stopped: str, gen: GenConfig) -> str:
    return {
        "eos": "the model ended its turn (end-of-sequence token)",
        "max_new_tokens": f"the cap of {gen.max_new_tokens:,} new tokens",
        "time_budget": f"the {gen.time_budget_s:.0f} s time budget",
        "stopped": "a stop request",
    }.get(stopped, stopped or "unknown")


def describe(gen: GenConfig) -> str:
    if gen.greedy:
        how = "greedy (temperature 0)"
    else:
        how = f"sampled at temperature {gen.temperature:g}, seed {gen.seed:,}"
    knobs = [f"top-k {gen.top_k:,}" if gen.top_k else "", f"top-p {gen.top_p:g}" if gen.top_p < 1
             else "", f"repetition penalty {gen.repetition_penalty:g}"
             if gen.repetition_penalty != 1 else ""]  # fmt: skip
    return ", ".join([how, *[x for x in knobs if x]])


def render(handle: Any, text: str, gen: GenConfig) -> None:
    lesson(
        "Whole answers stream token by token through the fastest engine for this model "
        "(llama.cpp on the embedded GGUF when installed, else transformers `generate`), with "
        "**the same knobs** as the other tabs. The prompt always goes in as a **user turn of the "
        "chat template** here.",
        label="The engine",
    )
    st.caption(f"With the knobs above: {describe(gen)}; at most {gen.max_new_tokens:,} tokens.")
    go = st.button("Generate the answer", key=k("stream"), type="primary",
                   icon=":material/play_arrow:")  # fmt: skip
    if go:
        stats = StreamStats()
        with busy_slot(60, "generating") as ok:
            if ok:
                engine = engine_for(handle)
                out = st.write_stream(engine.stream(chat.build_messages(text), gen, stats))
                store(k("stream_result"), {
                    "text": out if isinstance(out, str) else "".join(map(str, out)),
                    "engine": engine.name, "tokens": stats.new_tokens, "seconds": stats.seconds,
                    "tps": stats.tokens_per_s, "stopped": stats.stopped_by, "gen": gen,
                })  # fmt: skip
    res = stored(k("stream_result"))
    if res:
        if not go:
            st.code(res["text"] or "(empty answer)", language=None, wrap_lines=True)
        st.caption(
            f":material/speed: {res['tokens']:,} tokens in {res['seconds']:.1f} s "
            f"(**{res['tps']:.1f} tokens/s**, measured) · engine: **{res['engine']}** · "
            f"{describe(res['gen'])} · stopped by {_why(res['stopped'], res['gen'])}."
        )
        if res["gen"] != gen:
            st.caption(":material/tune: The knobs changed since: generate again to use them.")
