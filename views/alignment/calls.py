"""Cached model calls of the RLHF & DPO page (per model key and input)."""

from __future__ import annotations

import streamlit as st

from lessons import dpo, reward_model
from ui.alignment import builtin_pairs
from ui.page import on_handle


@on_handle(max_entries=4, show_spinner="Embedding every answer with MiniLM…")
def embeddings(handle, which: str):
    ps = builtin_pairs(which)
    return reward_model.embed_pairs(
        handle, [p.prompt for p in ps], [p.chosen for p in ps], [p.rejected for p in ps]
    )


@on_handle(max_entries=32)
def embed_answers(handle, prompt: str, answers: tuple[str, ...]):
    from lessons.use_cases import embed

    return embed(handle, [reward_model.pair_text(prompt, a) for a in answers])


@on_handle(max_entries=32, show_spinner="Scoring the answers with SmolLM2…")
def ref_logps(handle, prompt: str, answers: tuple[str, ...]) -> list[float]:
    return dpo.handle_logps(handle, [prompt] * len(answers), answers)


@st.cache_data(show_spinner=False, max_entries=16)
def fit_rm(steps: int, lr: float, _tr, model_key: str) -> reward_model.RewardModel:
    return reward_model.fit(*_tr, reward_model.RewardConfig(steps=steps, lr=lr))
