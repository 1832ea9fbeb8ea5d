"""Figures of the T5 page: the live run's curves, relative position buckets, a layer's bias."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures import COLORS, heatmap, last_logged, layout, number, style

TASKS = ("copy", "reverse", "sort")


def loss_and_scores(
    points: Sequence[dict[str, Any]], series: dict[str, str], right: str
) -> go.Figure:
    """Training loss (left) and held-out scores in [0, 1] (right, `series`: row key -> name),
    from the rows a trainer logged at each evaluation."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss", right))
    loss = [r for r in points if "train_loss" in r]
    fig.add_trace(go.Scatter(x=[r["step"] for r in loss], y=[r["train_loss"] for r in loss],
                             name="loss", mode="lines+markers",
                             line={"color": COLORS[7]}), row=1, col=1)  # fmt: skip
    for i, (key, name) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=[r["step"] for r in points], y=[r.get(key) for r in points],
                                 name=name, mode="lines+markers", **style(i)),
                      row=1, col=2)  # fmt: skip
    fig.update_yaxes(range=[-0.02, 1.02], row=1, col=2)
    fig.update_xaxes(title_text="step")
    return layout(fig, height=300, legend={"orientation": "h", "y": -0.3})


def training_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """Training loss and held-out exact-match accuracy per prefix."""
    points = [r for r in rows if "val_acc" in r]
    if not points:
        return None
    return loss_and_scores(points, {f"acc_{t}": f"{t}:" for t in TASKS}, "exact match, held out")


def training_caption(rows: Sequence[dict[str, Any]]) -> str | None:
    last = last_logged(rows, "val_acc")
    if last is None:
        return None
    accs = " · ".join(f"{t}: {last.get(f'acc_{t}', 0):.0%}" for t in TASKS)
    return (f"step {number(last['step'])} · {accs} · {number(last['examples_per_s'])} "
            "training examples/s")  # fmt: skip


def buckets(rel: Sequence[int], bidirectional: Sequence[int], causal: Sequence[int],
            max_distance: int) -> go.Figure:  # fmt: skip
    """Bucket index against relative position (key - query), encoder and decoder."""
    fig = go.Figure()
    for i, (name, b) in enumerate((("encoder (bidirectional)", bidirectional),
                                   ("decoder (causal)", causal))):  # fmt: skip
        fig.add_trace(go.Scatter(x=list(rel), y=list(b), name=name, mode="lines",
                                 line_shape="hv", **style(i)))  # fmt: skip
    for x in (-max_distance, max_distance):
        fig.add_vline(x=x, line_dash="dot", line_color="#9ca3af")
    return layout(fig, height=320, xaxis_title="relative position (key − query)",
                  yaxis_title="bucket", legend={"orientation": "h", "y": -0.25})  # fmt: skip


def bias_heads(bias: np.ndarray, title: str) -> go.Figure:
    """A layer's learned position bias, (H, q, k) -> one row of heads (mean over none)."""
    H, q, k = bias.shape
    grid = np.concatenate([np.pad(b, ((0, 0), (0, 1)), constant_values=np.nan) for b in bias], 1)
    labels = [f"h{h}:{j}" for h in range(H) for j in [*range(k), "|"]]
    fig = heatmap(grid[:, : len(labels)], labels, [str(i) for i in range(q)], title=title,
                  colorscale="RdBu", height=300)  # fmt: skip
    fig.update_xaxes(showticklabels=False, title="key position, one block per head")
    fig.update_yaxes(title="query position")
    return fig
