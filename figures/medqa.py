"""Figures of Project 6: the LoRA run's loss curve and the held-out scores before and after."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import COLORS, curves, last_logged, layout, logged, number


def loss_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """The training loss per step (one batch of 4, noisy) and the held-out answer NLL."""
    if not logged(rows, "loss"):
        return None
    names = {"loss": "train loss (batch)", "held_nll": "held-out answer NLL"}
    return curves(rows, "step", names, x_title="step", y_title="nats per answer token")


def caption(rows: Sequence[dict[str, Any]]) -> str | None:
    first, last = (logged(rows, "held_nll") or [None])[0], last_logged(rows, "held_nll")
    if first is None or last is None:
        return None
    step = last_logged(rows, "step") or {"step": 0}
    drop = (first["held_nll"] - last["held_nll"]) / first["held_nll"]
    return (
        f"step {number(step['step'])} · held-out answer NLL {first['held_nll']:.3f} → "
        f"{last['held_nll']:.3f} ({drop:.1%} lower) on questions never trained on"
    )


def scores(base: dict[str, float], tuned: dict[str, float]) -> go.Figure:
    """Held-out answer NLL (lower is better) and ROUGE-L (higher is better), base vs LoRA."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("answer NLL (lower is better)", "ROUGE-L F1 (higher is better)"),
    )
    for col, key in enumerate(("answer_nll", "rouge_l"), start=1):
        vals = [base[key], tuned[key]]
        fig.add_trace(
            go.Bar(
                x=["base (adapter off)", "LoRA (adapter on)"],
                y=vals,
                marker_color=[COLORS[1], COLORS[0]],
                showlegend=False,
                text=[f"{v:.3f}" for v in vals],
                textposition="auto",
            ),
            row=1,
            col=col,
        )
    return layout(fig, height=280)
