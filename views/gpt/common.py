"""What the GPT page's tabs share: the knobs (one GenConfig for every tab), the cached prompt
forward, token pieces."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import streamlit as st

from figures import gpt as fig
from lessons import decoding as D
from lessons import sampling as S
from lessons.sampling import GenConfig, SamplingConfig
from ui.page import on_handle, page_keys

k = page_keys("gpt")


# (GenConfig field, session key, label, min, max, step, help), drawn three to a row.
SLIDERS = (
    ("temperature", "temperature", "Temperature (0 = greedy)", 0.0, 2.0, 0.05,
     "logits / T before the softmax: < 1 sharpens, > 1 flattens. 0 = greedy: always the "
     "likeliest token (after the repetition penalty)."),
    ("top_k", "top_k", "Top-k (0 = off)", 0, 100, 1, "Keep only the k likeliest tokens."),
    ("top_p", "top_p", "Top-p (1 = off)", 0.05, 1.0, 0.05,
     "Keep the smallest set of likeliest tokens whose mass reaches p."),
    ("repetition_penalty", "rep", "Repetition penalty (1 = off)", 1.0, 2.0, 0.05,
     "Divide the logit of every token already in the text (×, if negative)."),
    ("max_new_tokens", "max_new", "Max new tokens (answer)", 1, 256, 1,
     "The streamed answer stops after this many tokens."),
)  # fmt: skip


def gen_config() -> GenConfig:
    """The knobs, read once into the one GenConfig that the distribution, the step-by-step
    decoder and the streamed answer all use."""
    cols = [*st.columns(3), *st.columns(3)]
    knobs = {
        field: col.slider(label, lo, hi, getattr(fig.GEN, field), step, key=k(key), help=help_)
        for col, (field, key, label, lo, hi, step, help_) in zip(cols, SLIDERS, strict=False)
    }
    knobs["seed"] = cols[-1].number_input(
        "Seed", 0, 2**31 - 1, fig.GEN.seed, key=k("seed"),
        help="The same seed gives the same sampled text.",
    )  # fmt: skip
    return replace(fig.GEN, **knobs)


@on_handle(max_entries=64)
def prompt_forward(handle: Any, ids: tuple[int, ...]) -> dict[str, np.ndarray]:
    """One forward over the prompt: next-token logits (V,) and the last token's attention
    (L, H, T). Keyed on the model and the token ids, so the knobs never rerun the model."""
    f = D.forward(handle.model, list(ids))
    return {"logits": f.logits.numpy(), "attention": f.attention.numpy()}


@on_handle(max_entries=64)
def next_token(handle: Any, ids: tuple[int, ...], sampling: SamplingConfig) -> dict[str, Any]:
    """The next-token distribution after the knobs, reduced to what the tab shows: the top rows
    (id, p model, p after the knobs), both entropies, tokens kept, vocabulary size. Kept per
    (model, ids, knobs): a new session or a tab switch sorts nothing again."""
    dist = S.distribution(prompt_forward(handle, ids)["logits"], ids, sampling)
    return {
        "rows": dist.top(fig.TOP_N),
        "entropy_original": dist.entropy_original,
        "entropy_filtered": dist.entropy_filtered,
        "kept": dist.kept,
        "vocab": dist.original.numel(),
    }


def pieces(handle: Any, ids: list[int]) -> list[str]:
    with handle.lock:
        return [handle.tokenizer.decode([i]) for i in ids]


def code(piece: str) -> str:
    """A token for a markdown code span (backticks would end the span)."""
    return "`" + repr(piece).replace("`", "ˋ") + "`"
