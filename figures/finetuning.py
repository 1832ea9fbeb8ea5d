"""Figures of the fine-tuning techniques page: live curves, memory parts, forgetting, cost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

import figures
from figures import COLORS, last_logged, layout, log_axis, number, text_label

PARTS = (
    ("weights", "weights"),
    ("gradients", "gradients"),
    ("optimizer", "AdamW states"),
    ("activations", "saved activations"),
)


def curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """Held-out accuracy per technique against the step, from the logged rows."""
    fig = figures.curves(
        rows,
        "step",
        {"val_acc": "held-out accuracy"},
        group="technique",
        y_title="held-out accuracy",
        height=340,
    )
    if fig is not None:
        fig.update_yaxes(tickformat=".0%")
    return fig


def caption(rows: Sequence[dict[str, Any]]) -> str | None:
    last = last_logged(rows, "val_acc", "technique")
    if last is None:
        return None
    return (
        f"{last['technique']}: step {number(last['step'])}, held-out accuracy "
        f"{last['val_acc']:.1%}. The techniques train one after the other on the same batches."
    )


def memory(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Stacked training memory per technique: what is saved, and what is not."""
    names = [r["technique"] for r in rows]
    fig = go.Figure()
    for i, (key, label) in enumerate(PARTS):
        fig.add_trace(
            go.Bar(
                y=names,
                x=[r["memory_parts_mb"][key] for r in rows],
                name=label,
                orientation="h",
                marker_color=COLORS[i],
            )
        )
    return layout(
        fig,
        height=110 + 34 * len(rows),
        barmode="stack",
        xaxis_title="MB during training (one batch)",
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.3},
    )


def forgetting(rows: Sequence[dict[str, Any]], before: float) -> go.Figure:
    """The encoder's similarity score after each technique, against the untouched model."""
    names = [text_label(r["technique"]) for r in rows]
    after = [r["similarity"] for r in rows]
    err = [r.get("similarity_sd", 0.0) for r in rows]
    colors = [COLORS[1] if v < before - 1 else COLORS[2] for v in after]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=after,
            error_y={"type": "data", "array": err, "visible": any(err)},
            marker_color=colors,
            text=[f"{v:.1f}" for v in after],
            textposition="outside",
            name="after training",
        )
    )
    fig.add_hline(
        y=before,
        line_dash="dash",
        annotation_text=f"before: {before:.1f}",
        annotation_position="top left",
    )
    lo = min([*after, before]) - 5
    return layout(
        fig,
        height=340,
        yaxis={"title": "similarity score (Spearman × 100)", "range": [max(0, lo), 100]},
        showlegend=False,
    )


def cost(rows: Sequence[dict[str, Any]]) -> go.Figure:
    """Accuracy against trainable parameters (log axis): where the cheap techniques land."""
    fig = go.Figure()
    for i, r in enumerate(rows):
        fig.add_trace(
            go.Scatter(
                x=[r["trainable"]],
                y=[r["val_acc"]],
                mode="markers+text",
                text=[text_label(r["technique"])],
                textposition="top center",
                marker={"size": 14, "color": COLORS[i % len(COLORS)]},
                name=text_label(r["technique"]),
                showlegend=False,
            )
        )
    log_axis(fig, "x", [r["trainable"] for r in rows], "trainable parameters (peft's count)")
    fig.update_yaxes(title="held-out accuracy", tickformat=".0%")
    return layout(fig, height=320)
