"""Figures of the Knowledge distillation page: softened distributions, students' curves, seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures import COLORS, last_logged, layout, number
from figures.bert_roberta import accuracy_layout, wording_curves

RUN_COLORS = {"teacher": COLORS[2], "distilled": COLORS[0], "soft only": COLORS[3],
              "control": "#6b7280"}  # fmt: skip


def softened(
    classes: Sequence[str],
    panels: Sequence[tuple[float, Sequence[float], float]],
    title: str,
    height: int = 300,
) -> go.Figure:
    """One bar panel per (temperature, probabilities, entropy in nats)."""
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[f"T = {t:g} · entropy {h:.2f} nats" for t, _, h in panels],
    )
    for i, (_, probs, _) in enumerate(panels, start=1):
        fig.add_trace(go.Bar(x=list(classes), y=list(probs), marker_color=COLORS[0],
                             showlegend=False), row=1, col=i)  # fmt: skip
    fig.update_yaxes(range=[0, 1], title_text="probability", row=1, col=1)
    return layout(fig, height=height, title=title, margin={"t": 70, "b": 10, "l": 10, "r": 10})


def pair(classes: Sequence[str], series: dict[str, Sequence[float]], title: str) -> go.Figure:
    """Two distributions side by side per class (what the KL term compares)."""
    fig = go.Figure()
    for i, (name, probs) in enumerate(series.items()):
        fig.add_trace(go.Bar(x=list(classes), y=list(probs), name=name,
                             marker_color=COLORS[i % len(COLORS)]))  # fmt: skip
    return layout(fig, height=280, barmode="group", title=title, xaxis_title="class",
                  yaxis_title="probability")  # fmt: skip


def student_curves(rows: Sequence[dict[str, Any]], height: int = 300) -> go.Figure | None:
    """Held-out accuracy (new wording) of each student run over its steps."""
    return wording_curves(rows, "step", "step", "run", height)


def seed_results(
    per_seed: Sequence[dict[str, Any]], teacher_acc: float, height: int = 300
) -> go.Figure:
    """Each student run's held-out accuracy per seed (dots), the teacher as a line."""
    runs = list(per_seed[0]["test_acc"]) if per_seed else []
    fig = go.Figure()
    for run in [r for r in runs if r != "teacher"]:
        accs = [s["test_acc"][run] for s in per_seed]
        fig.add_trace(go.Scatter(x=[run] * len(accs), y=accs, mode="markers", name=run,
                                 marker={"size": 11, "color": RUN_COLORS.get(run, COLORS[4])},
                                 text=[f"seed {s['seed']}" for s in per_seed],
                                 showlegend=False))  # fmt: skip
    fig.add_hline(y=teacher_acc, line_color=RUN_COLORS["teacher"],
                  annotation_text=f"teacher {teacher_acc:.0%}")  # fmt: skip
    title = "Held-out reviews in new wording: each student, one dot per seed"
    return accuracy_layout(fig, title, height)


def students_caption(rows: Sequence[dict[str, Any]]) -> str | None:
    last = last_logged(rows, "test_acc")
    if last is None:
        return None
    return (
        f"{last['run']}: step {number(last['step'])} · new wording {last['test_acc']:.0%} · "
        f"familiar wording {last['val_acc']:.0%}"
    )


def sweep(
    points: Sequence[dict[str, Any]], teacher_acc: float, control_acc: float, height: int = 300
) -> go.Figure:
    """The distilled student's held-out accuracy against the number of unlabelled reviews it was
    distilled on: one dot per seed, a line through the means, teacher and control as lines."""
    sizes = sorted({p["unlabelled"] for p in points})
    means = [sum(q["test_acc"] for q in points if q["unlabelled"] == n)
             / sum(1 for q in points if q["unlabelled"] == n) for n in sizes]  # fmt: skip
    fig = go.Figure()
    colour = RUN_COLORS["distilled"]
    fig.add_trace(go.Scatter(x=[p["unlabelled"] for p in points], y=[p["test_acc"] for p in points],
                             mode="markers", marker={"color": colour, "size": 7, "opacity": 0.5},
                             name="one seed", showlegend=False))  # fmt: skip
    fig.add_trace(go.Scatter(x=sizes, y=means, mode="lines+markers", name="distilled (mean)",
                             line={"color": colour}, showlegend=False))  # fmt: skip
    fig.add_hline(y=teacher_acc, line_color=RUN_COLORS["teacher"],
                  annotation_text=f"teacher {teacher_acc:.0%}")  # fmt: skip
    fig.add_hline(y=control_acc, line_color=RUN_COLORS["control"], line_dash="dash",
                  annotation_text=f"control {control_acc:.0%}",
                  annotation_position="bottom right")  # fmt: skip
    fig.update_xaxes(title_text="unlabelled reviews the student was distilled on")
    return accuracy_layout(fig, "More unlabelled text, closer to the teacher", height)
