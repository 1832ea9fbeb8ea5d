"""What the alignment track's pages share (RLHF & DPO, Project 5, GRPO): the gallery's pairs,
the policy a training page shows (this session's live run, else the prepared adapter), the
prepared run's logs and the run controls."""

from __future__ import annotations

from typing import Any

import streamlit as st

from models import alignment, prepared
from models import dpo as dpo_model
from models.handle import ModelHandle
from ui import training


@st.cache_data(show_spinner=False)
def builtin_pairs(which: str) -> list:
    """The gallery's preference pairs: "train" (120) or "heldout" (40)."""
    path = dpo_model.TRAIN_PAIRS if which == "train" else dpo_model.HELDOUT_PAIRS
    return dpo_model.read_pairs(path)


@st.cache_data(show_spinner=False)
def plain_run() -> list[dict[str, Any]]:
    """The shipped, measured 10-minute plain-DPO run (rows, held-out figures, answers)."""
    return alignment.log_rows(dpo_model.PLAIN_RUN)


@st.cache_resource(show_spinner="Loading the prepared LoRA adapter…", max_entries=2)
def _prepared_policy(name: str, created: str, model_key: str, _handle: ModelHandle):
    """A private copy of the chat model with the prepared adapter (one per state and process)."""
    return alignment.policy(_handle, prepared.path(name))


@st.cache_data(show_spinner=False, max_entries=4)
def prepared_log(name: str, created: str) -> list[dict[str, Any]]:
    """Every JSON line the prepared state's command printed (rows, groups, answers, result)."""
    return alignment.log_rows(prepared.path(name) / "train.log")


def prepared_created(name: str) -> str | None:
    rec = prepared.record(name)
    return rec.created if rec is not None else None


def current_policy(run_key: str, name: str, handle: ModelHandle) -> tuple[Any, str, Any]:
    """(policy handle or None, where it came from, the live run's result or None)."""
    live = training.result(run_key)
    if live is not None:
        rec = live.record
        return live.policy, f"this session's run ({rec.steps:,} steps, {rec.seconds:.0f} s)", live
    created = prepared_created(name)
    if created is None:
        return None, "", None
    try:
        pol = _prepared_policy(name, created, handle.choice.key, handle)
    except alignment.AdapterError as exc:
        st.warning(f"The prepared adapter cannot be used: {exc}", icon=":material/warning:")
        return None, "", None
    return pol, "the prepared adapter (`make prepare`)", None


def run_controls(k, name: str, lrs: list[float], lr: float, column) -> tuple[float, int, Any]:
    """Learning rate (in `column`), time budget, the prepared state's note and the "continue from
    it" toggle: (learning rate, budget in seconds, adapter folder to continue from or None)."""
    lr = column.select_slider("Learning rate", lrs, lr, key=k("lr"), format_func=lambda v: f"{v:g}")
    budget = st.slider("Time budget (seconds)", 30, 300, 90, step=15, key=k("budget"))
    have = training.prepared_note(name)
    cont = st.toggle("Continue from the prepared adapter", have, key=k("cont"), disabled=not have)
    return lr, budget, prepared.path(name) if cont and have else None


def chart(figure, key: str) -> None:
    """A plotly figure, or nothing while a builder has nothing to draw (it returned None)."""
    if figure is not None:
        st.plotly_chart(figure, width="stretch", key=key)


def rows_of(log: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """The metric rows (those with `key` and a step) of a command's output."""
    return [r for r in log if key in r and "step" in r]


def steps(n: int) -> str:
    return f"{n:,} step" + ("" if n == 1 else "s")


def no_adapter_yet() -> None:
    st.info(
        "No trained adapter yet: run `make prepare`, or train on the Training tab.",
        icon=":material/hourglass_empty:",
    )
