"""Figures of Project 3: training curves, entity F1 per type, the T5 tagger's choices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import COLORS, heatmap, layout, number, text_label
from figures.t5 import loss_and_scores

TYPES = ("PER", "ORG", "LOC", "MISC")


def training_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """Training loss and held-out entity F1, precision and recall."""
    points = [r for r in rows if "val_f1" in r]
    if not points:
        return None
    series = {"val_f1": "f1", "val_precision": "precision", "val_recall": "recall"}
    return loss_and_scores(points, series, "held-out entities")


def training_caption(rows: Sequence[dict[str, Any]]) -> str | None:
    points = [r for r in rows if "val_f1" in r]
    if not points:
        return None
    last = points[-1]
    return (f"step {number(last['step'])} · held-out entity F1 {last['val_f1']:.2f} · "
            f"{number(last['examples_per_s'])} training sentences/s")  # fmt: skip


def f1_per_type(scores: dict[str, dict]) -> go.Figure:
    """Grouped bars: entity F1 per type (and overall) for each model's seqeval report."""
    fig = go.Figure()
    cats = [*TYPES, "all"]
    for i, (name, s) in enumerate(scores.items()):
        vals = [s["per_type"].get(t, {}).get("f1", 0.0) for t in TYPES] + [s["f1"]]
        fig.add_trace(go.Bar(x=cats, y=vals, name=text_label(name), marker_color=COLORS[i],
                             text=[f"{v:.2f}" for v in vals], textposition="outside"))  # fmt: skip
    return layout(fig, height=320, barmode="group", yaxis={"range": [0, 1.1], "title": "F1"},
                  legend={"orientation": "h", "y": -0.2})  # fmt: skip


def tag_choices(words: Sequence[str], probs: Sequence[dict[str, float]]) -> go.Figure:
    """The decoder's five-way choice after each word: P(no entity) and P(each type)."""
    rows = ["none", *TYPES]
    z = [[p.get(r, float("nan")) for p in probs] for r in rows]
    labels = [f"{i}:{w}" for i, w in enumerate(words)]
    fig = heatmap(z, labels, rows, zmin=0, zmax=1, colorscale="Blues", text_fmt=".2f",
                  height=260)  # fmt: skip
    fig.update_xaxes(tickangle=-45)
    return fig
