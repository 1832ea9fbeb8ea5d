"""Tab 1: every task as text in, text out; a Hub T5 online, a small T5 trained live offline."""

from __future__ import annotations

import streamlit as st

from figures import t5 as fig
from lessons import t5 as T5
from models import t5_tasks as tt
from ui.page import lesson, on_handle
from ui.training import training_panel
from ui.widgets import empty_hint, guarded_text
from views.t5.common import hub_labels, k, trained


@on_handle(max_entries=64, show_spinner="T5 is writing…")
def answer(handle, text: str) -> str:
    return T5.generate(handle, text)


def hub_part() -> None:
    from ui.models import get_model

    labels = hub_labels()
    if not labels:
        st.info("Offline: t5-small and FLAN-T5 small are not in the local Hugging Face cache, so "
                "the real T5s cannot answer here. The small T5 below is trained on this machine "
                "instead.", icon=":material/wifi_off:")  # fmt: skip
        return
    label = st.radio("Hub model", list(labels), horizontal=True, key=k("hub"))
    handle = get_model("t5", labels[label], optional=True)
    if handle is None:
        return
    prefixes = [p for p, _ in T5.PREFIXED_TASKS]
    i = st.selectbox("Task prefix", range(len(prefixes)), format_func=lambda j: prefixes[j],
                     key=k("prefix"))  # fmt: skip
    text = guarded_text("Input (after the prefix)", T5.PREFIXED_TASKS[i][1], key=k(f"in{i}"),
                        max_chars=1_000, area=False)  # fmt: skip
    if text.empty:
        empty_hint("an input for the task")
        return
    st.code(prefixes[i] + text.text, language=None, wrap_lines=True)
    st.markdown(f"**{handle.choice.label}:**")
    st.code(answer(handle, prefixes[i] + text.text) or "(empty)", language=None, wrap_lines=True)


def render() -> None:
    lesson(
        "T5 (Raffel et al. 2020) casts **every task as text to text**: the input names the task "
        "with a prefix, the output is the answer written out, even for classification "
        "(`cola sentence: …` → `acceptable`) or regression (`stsb …` → `3.8`). One model, one "
        "cross-entropy loss, one decoding loop for translation, summaries, questions, labels."
    )
    st.subheader("A real T5 on prefixed tasks")
    hub_part()
    st.subheader("A small T5 trained here: one model, three prefixes")
    lesson(
        "There is no T5 checkpoint offline, so this one starts from random weights "
        "(`T5Config`, 2 + 2 layers, 64 wide) and learns three tasks at once with transformers' "
        "`Seq2SeqTrainer`. The words are the same for every task; **only the prefix says what "
        "to write**: `copy:`, `reverse:` or `sort:` (alphabetical). Accuracy is exact match on "
        "lists it never saw."
    )
    budget = st.slider("Time budget (seconds)", 20, 180, 60, step=10, key=k("budget"))
    cfg = tt.TaskConfig()
    training_panel(
        k("train"),
        work=lambda rep, cfg=cfg, budget=budget: tt.train(cfg, budget - 1, rep),
        budget_s=budget, name="t5-tasks", curves=fig.training_curves,
        caption=fig.training_caption,
        idle_text="Press Train: about a minute gives a T5 that copies, reverses and sorts.",
    )  # fmt: skip
    run = trained()
    if run is None:
        return
    st.caption(f"Words it knows: {', '.join(tt.WORDS)} (others read as <unk>).")
    text = guarded_text("Your prefixed input", "reverse: fox owl red gold", key=k("mine"),
                        max_chars=200, area=False)  # fmt: skip
    if text.empty:
        empty_hint("a prefix and a few words, e.g. sort: owl cat emu")
        return
    src = " ".join(text.text.split()[: 2 * tt.TaskConfig.max_words])
    out = tt.generate(run.model, run.tokenizer, [src])[0]
    st.markdown(f"**The small T5 (trained here, {run.fit.steps:,} steps):** `{out or '(empty)'}`")
