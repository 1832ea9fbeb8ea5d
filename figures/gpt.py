"""Figures of the GPT page, its default inputs, and `warm()` (those inputs computed).

distribution(rows, labels)    the model's next-token probabilities beside the knobs' ones
causal_mask(n)                which positions each query may attend to
newest_attention(z, labels)   the newest token's attention, one row per layer
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from figures import COLORS, layout
from lessons.sampling import GenConfig

# The page's default inputs (the page and warm() both read these).
PROMPT = "The capital of France is"
GEN = GenConfig(max_new_tokens=64, temperature=0.7, top_k=0, top_p=0.9, repetition_penalty=1.0)
TOP_N = 20


def token_label(rank: int, piece: str) -> str:
    """A candidate token for an axis: its rank (two tokens can print alike), escaped, with
    visible whitespace (plotly reads tags in text)."""
    shown = piece.replace(" ", "·").replace("\n", "↵").replace("\t", "→")
    return f"{rank}. {html.escape(shown) or '∅'}"


def distribution(rows: Sequence[tuple[int, float, float]], labels: Sequence[str]) -> go.Figure:
    """Grouped bars, in %: the model's probability (T = 1) and the one after the knobs, for
    the rows (id, p model, p after) of `lessons.sampling.Distribution.top`."""
    fig = go.Figure()
    fig.add_bar(y=list(labels), x=[100 * r[1] for r in rows], orientation="h",
                name="model (T = 1)", marker_color="#93c5fd")  # fmt: skip
    fig.add_bar(y=list(labels), x=[100 * r[2] for r in rows], orientation="h",
                name="after the knobs", marker_color="#f97316")  # fmt: skip
    return layout(
        fig,
        height=120 + 26 * len(labels),
        barmode="group",
        xaxis_title="probability of being the next token (%)",
        yaxis={"title": "candidate token (rank by the model)", "autorange": "reversed"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
    )


def causal_mask(n: int = 6) -> go.Figure:
    """The causal mask: row i (a query) may look at columns 0..i."""
    mask = np.tril(np.ones((n, n)))  # (n, n)
    fig = go.Figure(
        go.Heatmap(z=mask, x=[str(j) for j in range(n)], y=[str(i) for i in range(n)],
                   colorscale=[[0, "#f3f4f6"], [1, COLORS[0]]], showscale=False,
                   hovertemplate="query %{y} → key %{x}: %{z:.0f}<extra></extra>")
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title="query position (row)", type="category")
    fig.update_xaxes(title="key position (column)", type="category")
    return layout(fig, height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10})


def newest_attention(z: Any, labels: Sequence[str], height: int = 620) -> go.Figure:
    """(L, T) attention of the newest token: row = layer, column = a token of the text."""
    fig = go.Figure(
        go.Heatmap(z=z, x=list(labels), y=[f"layer {i}" for i in range(len(z))],
                   colorscale="Blues", colorbar={"title": {"text": "weight"}},
                   hovertemplate="%{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>")
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title="layer", type="category")
    fig.update_xaxes(title="key position in the text (token)", type="category", tickangle=-60)
    return layout(fig, height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10})


def warm(handle: Any = None) -> dict[str, Any]:
    """Compute the page's default views (for `make preflight`): the default prompt through the
    chat model (the embedded SmolLM2 unless a handle is given), the next-token distribution
    under the default knobs, one decoding step, the attention sink. The streamed answer is
    button-gated. Returns what it found, with the seconds it took."""
    import torch

    from lessons import decoding, sampling
    from models import loader

    t0 = time.perf_counter()
    handle = handle or loader.load("smollm2-embedded")
    with handle.lock:
        prompt = decoding.encode_prompt(handle.tokenizer, PROMPT, chat_template=False)
        fwd = decoding.forward(handle.model, prompt.ids)
        dist = sampling.distribution(fwd.logits, torch.tensor(prompt.ids), GEN.sampling())
        rows = dist.top(TOP_N)
        labels = [token_label(r + 1, handle.tokenizer.decode([i])) for r, (i, _, _) in
                  enumerate(rows)]  # fmt: skip
        dec = decoding.Decoder(list(prompt.ids), len(prompt.ids), seed=GEN.seed)
        dec.last = fwd
        pick = dec.step(handle.model, GEN.sampling(), greedy=True)
        first, peak = decoding.sink_stats(dec.last.attention)
        top = handle.tokenizer.decode([rows[0][0]])
        greedy_next = handle.tokenizer.decode([pick.token])
    distribution(rows, labels)
    newest_attention(dec.last.attention.mean(dim=1).numpy(), [str(i) for i in dec.ids])
    return {
        "prompt_tokens": len(prompt.ids),
        "top_token": top,
        "greedy_next": greedy_next,
        "kept_tokens": dist.kept,
        "sink_first_token_weight": round(float(first.mean()), 3),
        "sink_peak_fraction": round(peak, 3),
        "seconds": round(time.perf_counter() - t0, 2),
    }
