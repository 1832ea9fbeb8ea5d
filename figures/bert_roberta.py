"""Figures of the BERT & RoBERTa page: cosine matrices, masked positions, pre-trained vs scratch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import COLORS, curves, heatmap, last_logged, layout, number

ARCH_NAMES = {"scratch": "from scratch", "minilm": "MiniLM fine-tune"}
ARCH_COLORS = {"scratch": COLORS[1], "minilm": COLORS[0]}


def accuracy_layout(fig: go.Figure, title: str | None, height: int) -> go.Figure:
    """An accuracy axis from 0 to 100% with the 50% chance line: every accuracy figure here."""
    fig.add_hline(y=0.5, line_dash="dot", line_color="#9ca3af", annotation_text="chance")
    return layout(fig, height=height, title=title,
                  yaxis={"range": [0, 1.02], "tickformat": ".0%", "title": "accuracy"})  # fmt: skip


def cosines(matrix: Any, names: Sequence[str], title: str, height: int = 340) -> go.Figure:
    """A cosine-similarity matrix, values printed in the cells."""
    lo = -1.0 if float(min(min(r) for r in matrix)) < 0 else 0.0
    fig = heatmap(matrix, names, title=title, zmin=lo, zmax=1.0, text_fmt=".2f", height=height)
    fig.update_xaxes(title_text="sentence")
    fig.update_yaxes(title_text="sentence")
    return fig


def mask_positions(static: Sequence[int], dynamic: Sequence[int], height: int = 300) -> go.Figure:
    """How many epochs each position was a prediction target, static vs dynamic masking."""
    fig = go.Figure()
    for name, times, colour in (("static", static, COLORS[0]), ("dynamic", dynamic, COLORS[1])):
        fig.add_trace(go.Bar(x=list(range(len(times))), y=list(times), name=name,
                             marker_color=colour))  # fmt: skip
    return layout(
        fig,
        height=height,
        barmode="group",
        title="How often each position was a target",
        xaxis_title="token position (0 = [CLS])",
        yaxis_title="epochs as a target",
    )


WORDING = {"val_acc": "familiar wording (val)", "test_acc": "new wording (test)"}


def wording_curves(
    rows: Sequence[dict[str, Any]], x: str, x_title: str, group: str, height: int = 300
) -> go.Figure | None:
    """Accuracy on familiar (val) and new (test) wording over `x`, one colour per `group`."""
    fig = curves([r for r in rows if "val_acc" in r and "test_acc" in r], x, WORDING,
                 x_title=x_title, y_title="accuracy", height=height, group=group)  # fmt: skip
    return None if fig is None else accuracy_layout(fig, None, height)


def runs_curves(rows: Sequence[dict[str, Any]], height: int = 300) -> go.Figure | None:
    """Accuracy over training time, one colour per architecture: solid on the familiar-wording
    validation rows, dashed on the held-out rows in new wording."""
    points = [{**r, "arch": ARCH_NAMES.get(r.get("arch"), r.get("arch"))} for r in rows]
    return wording_curves(points, "elapsed_s", "seconds of training", "arch", height)


def seed_results(runs: Sequence[dict[str, Any]], height: int = 300) -> go.Figure:
    """Every run's held-out accuracy (new wording), one dot per seed, a bar at the mean."""
    fig = go.Figure()
    for arch in ("scratch", "minilm"):
        accs = [r["test_acc"] for r in runs if r["arch"] == arch and r.get("test_acc") is not None]
        if not accs:
            continue
        name = ARCH_NAMES[arch]
        fig.add_trace(go.Bar(x=[name], y=[sum(accs) / len(accs)], marker_color=ARCH_COLORS[arch],
                             opacity=0.35, showlegend=False, hoverinfo="skip"))  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=[name] * len(accs),
                y=accs,
                mode="markers+text",
                text=[f"seed {r['seed']}" for r in runs if r["arch"] == arch],
                textposition="middle right",
                marker={"size": 11, "color": ARCH_COLORS[arch]},
                showlegend=False,
            )
        )
    return accuracy_layout(fig, "Held-out reviews in new wording: accuracy per seed", height)


def runs_caption(rows: Sequence[dict[str, Any]]) -> str | None:
    last = last_logged(rows, "val_acc")
    if last is None:
        return None
    new = f" · new wording {last['test_acc']:.0%}" if "test_acc" in last else ""
    arch = ARCH_NAMES.get(last.get("arch"), last.get("arch"))
    return (
        f"{arch + ': ' if arch else ''}step {number(last['step'])} · familiar wording "
        f"{last['val_acc']:.0%}{new} · "
        f"{number(last['examples_per_s'])} training examples/s"
    )
