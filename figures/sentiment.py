"""Figures of Project 1: training curves, the confusion matrix, the last layer's attention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures import COLORS, last_logged, layout, number


def training_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """Loss and accuracy, train (dotted) and validation (solid), per evaluation row."""
    points = [r for r in rows if "val_loss" in r]
    if not points:
        return None
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    steps = [r["step"] for r in points]
    for col, (what, colour) in enumerate((("loss", COLORS[0]), ("acc", COLORS[1])), start=1):
        for split_name, dash in (("train", "dot"), ("val", "solid")):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=[r[f"{split_name}_{what}"] for r in points],
                    name=f"{split_name} {what}",
                    line={"color": colour, "dash": dash},
                    mode="lines+markers",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step")
    return layout(fig, height=320)


def training_caption(rows: Sequence[dict[str, Any]]) -> str | None:
    last = last_logged(rows, "val_loss")
    if last is None:
        return None
    return (
        f"step {number(last['step'])} · val accuracy {last['val_acc']:.1%} · "
        f"{number(last['examples_per_s'])} training examples/s · the from-scratch training loss "
        "uses label smoothing 0.1, so it stays above ~0.2 while the validation loss is plain "
        "cross-entropy"
    )


def confusion(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> go.Figure:
    """Counts: rows are the true labels, columns the predictions."""
    n = sum(sum(r) for r in matrix)
    fig = px.imshow(
        np.array(matrix),
        x=[f"predicted {lab}" for lab in labels],
        y=list(labels),
        text_auto=True,
        color_continuous_scale="Blues",
        title=f"Confusion matrix ({n} validation rows)",
    )
    return layout(fig, height=320, coloraxis_showscale=False)


def attention_heads(attention: Sequence, tokens: Sequence[str], per_row: int = 4) -> go.Figure:
    """One panel per head of a (nh, T, T) attention: row i is what token i mixes in."""
    labels = [f"{i}:{t}" for i, t in enumerate(tokens)]  # unique axis labels
    n_heads = len(attention)
    fig = px.imshow(
        np.array(attention),  # (nh, T, T)
        facet_col=0,
        facet_col_wrap=min(per_row, n_heads),
        x=labels,
        y=labels,
        color_continuous_scale="Viridis",
        zmin=0,
        zmax=1,
        labels={"x": "attends to (key)", "y": "token (query)", "color": "weight"},
    )
    fig.for_each_annotation(lambda a: a.update(text=f"head {int(a.text.split('=')[1])}"))
    rows_n = -(-n_heads // per_row)
    return layout(fig, height=260 * rows_n + 120)
