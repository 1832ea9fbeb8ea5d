"""What every Use cases tab shares: generation limits, the chat call, result widgets ("answered
by", raw output, elapsed), the example picker and the measured scores."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from lessons import chat
from lessons import task_eval as te
from lessons.sampling import GenConfig
from models import prepared, registry
from ui.page import lesson_columns, page_keys
from ui.widgets import empty_hint
from views.use_cases import calls

k = page_keys("uc")
MAX_TOKENS_KEY = k("max_new_tokens")  # tests set these low to stay fast
BUDGET_KEY = k("time_budget")
SCORES = "use-case-scores"  # the prepared state `python -m models.use_cases evaluate` writes
# Per task: room for a right answer, not for rambling.
TASK_TOKENS = {
    "translate": 40,
    "code": 96,
    "qa": 32,
    "continue": 48,
    "summary": 96,
    "classify": 6,
    "ner": 60,
}
SOURCES = {
    "embedded": "embedded, runs offline",
    "prepared": "trained on this machine by `make prepare`",
    "hub": "from the Hugging Face Hub",
    "server": "a model server",
}
EXAMPLES = te.load_examples()


def tab_columns(markdown: str):
    """A tab's layout: the controls on the left, its lesson on the right. Returns (left, right)."""
    return lesson_columns(markdown, (3, 2), lesson_first=False)


def gen_cfg(
    task: str, temperature: float = 0.0, seed: int = 0, tokens: int | None = None
) -> GenConfig:
    """The task's token cap (or `tokens`), lowered by the page's slider; greedy unless T > 0."""
    cap = int(st.session_state.get(MAX_TOKENS_KEY, 128))
    return GenConfig(
        max_new_tokens=max(1, min(tokens or TASK_TOKENS[task], cap)),
        temperature=temperature,
        seed=seed,
        time_budget_s=float(st.session_state.get(BUDGET_KEY, 20)),
    )


def ask(handle: Any, messages: list[dict[str, str]], cfg: GenConfig) -> chat.ChatResult:
    """The chat model's answer, cached per input; an answer cut by the clock is not kept."""
    try:
        r = calls.chat_answer(handle, messages, cfg)
    except ValueError as exc:  # a Hub model whose tokenizer has no chat template
        st.error(f"{handle.choice.label} cannot chat: {exc}", icon=":material/error:")
        st.stop()
    if r.hit_time_budget:  # a busy machine cut it short: let the next Run try again
        calls.chat_answer.clear()
    return r


def md(text: str) -> str:
    """Backslash-escape markdown so a typed '**x**' or '[a](b)' shows as typed."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$:])", r"\\\1", text)


def who(handle: Any) -> str:
    """'**MiniLM-L6** (embedded, runs offline)': the name once, where it came from once."""
    c = handle.choice
    name = re.sub(r"\s*\((?:embedded|prepared|Hub)[^)]*\)$", "", c.label)
    return f"**{name}** ({SOURCES.get(c.source, c.source)})"


def answered_by(handle: Any, r: chat.ChatResult | None = None, how: str = "") -> None:
    speed = ""
    if r is not None:
        speed = f" · {r.new_tokens:,} new tokens in {r.seconds:,.1f} s ({r.tokens_per_s:,.1f}/s)"
    st.caption(f":material/smart_toy: Answered by {who(handle)}{how}{speed}")
    if r is not None and r.hit_time_budget:
        st.warning(
            f"Stopped by the {st.session_state.get(BUDGET_KEY, 20)} s time budget after "
            f"{r.new_tokens:,} tokens: the answer is cut short. Raise the budget or Run again.",
            icon=":material/timer:",
        )
    elif r is not None and r.stopped_by == "max_new_tokens":
        st.caption(f"Stopped at the {r.new_tokens:,}-token cap; the answer may be cut short.")


def raw_output(r: chat.ChatResult) -> None:
    with st.expander("Raw model output and the prompt it saw", icon=":material/data_object:"):
        st.code(r.text or "(empty)", language=None, wrap_lines=True)
        st.caption(f"Prompt ({r.prompt_tokens:,} tokens, chat template applied):")
        st.code(r.prompt_text, language=None, wrap_lines=True)


def elapsed(seconds: float) -> None:
    st.caption(f":material/schedule: {seconds:,.2f} s from Run to result.")


def weak(text: str) -> None:
    """What a 135M model does: kept on the page, labelled as such."""
    st.caption(f":material/warning: {text}")


def score(text: str) -> None:
    st.caption(f":material/analytics: {text}")


def share(s: te.Score) -> str:
    return f"{s.correct:,} of {s.n:,} ({s.rate:.0%})"


def recorded() -> dict[str, Any] | None:
    """The last line of `python -m models.use_cases evaluate` on this machine, if it ran."""
    rec = prepared.record(SCORES)
    return rec.result if rec else None


def recorded_score(key: str, show: Callable[[dict[str, Any]], str]) -> None:
    """A score the eval command measured (generation is too slow to score on every visit)."""
    res = recorded()
    if res is None or key not in res:
        score(
            "Not scored on this machine yet: `make prepare` runs `python -m models.use_cases "
            "evaluate` (about 2 minutes) and this line shows its result."
        )
    else:
        score(show(res) + " · measured by `python -m models.use_cases evaluate`")


ANSWERED_BY = {"tagger": "Project 3's tagger", "chat": "the chat model"}


def _title(example: dict) -> str:
    """The example's title, and which models get it right where they differ (NER)."""
    who = [ANSWERED_BY[m] for m in example.get("answered_by", ())]
    return f"{example['title']} (right: {', '.join(who)})" if who else example["title"]


def example_picker(task: str, keys: dict[str, str], items: list[dict] | None = None) -> None:
    """Examples the embedded models answer right; picking one fills the widgets in `keys`
    (example field -> session key). `items` defaults to the task's examples."""
    items = items if items is not None else EXAMPLES[task]

    def fill() -> None:
        ex = items[st.session_state[k(f"{task}::example")]]
        for field, key in keys.items():
            if field in ex:
                st.session_state[key] = ex[field]

    st.selectbox(
        "Example",
        range(len(items)),
        format_func=lambda i: _title(items[i]),
        key=k(f"{task}::example"),
        on_change=fill,
        help="Inputs the offline models get right. The scores below are on other, held-out ones.",
    )


def first(task: str, field: str) -> Any:
    """The first example's value for a widget: what the tab opens on."""
    return EXAMPLES[task][0][field]


def run_button(task: str) -> bool:
    return st.button("Run", key=k(f"{task}::run"), type="primary", icon=":material/play_arrow:")


def result_box(task: str):
    """The container a tab's result is drawn in (tests look inside it)."""
    return st.container(key=k(f"{task}::result"))


CHAT = "chat"  # the model option "the sidebar's chat model, prompted"


def model_select(label: str, options: list[str], key: str, help: str | None = None) -> str:
    """A registry choice, or CHAT: the chat model asked to do the task."""
    return st.selectbox(
        label,
        options,
        format_func=lambda o: (
            "The chat model, prompted (sidebar)" if o == CHAT else registry.get_choice(o).label
        ),
        key=key,
        help=help,
    )


def result(
    task: str,
    inputs: tuple,
    run: bool,
    compute: Callable[[tuple], None],
    show: Callable[[dict], None],
    missing: str | None = None,
    verb: str = "see the result",
) -> None:
    """In the tab's result box: the hint for a missing input, else compute on Run and show the
    stored result while the inputs stay the same."""
    with result_box(task):
        if missing:
            empty_hint(missing)
            return
        if run:
            compute(inputs)
        res = recall(task, inputs)
        if res is None:
            st.caption(f"Press **Run** to {verb}.")
            return
        show(res)


def remember(task: str, inputs: tuple, /, **result: Any) -> None:
    """Keep a Run's result for these inputs (a recalled result's own "inputs" is replaced)."""
    st.session_state[k(f"{task}::result")] = {**result, "inputs": inputs}


def recall(task: str, inputs: tuple) -> dict | None:
    """The stored result of the last Run, if it was for these inputs."""
    res = st.session_state.get(k(f"{task}::result"))
    return res if res and res["inputs"] == inputs else None
