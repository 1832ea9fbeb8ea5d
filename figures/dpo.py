"""Figures of DPO: TRL's logged curves, the loss over the two log-ratios, the loss against the
margin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import COLORS, curves, layout, number
from figures.alignment import xy

REWARDS = {
    "rewards/chosen": "rewards/chosen",
    "rewards/rejected": "rewards/rejected",
    "rewards/margins": "rewards/margins",
}
LOSS = {"loss": "loss", "rewards/accuracies": "rewards/accuracies"}


def reward_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """TRL's implicit rewards per step: chosen, rejected and their margin."""
    return curves(
        rows, "step", REWARDS, title="Implicit rewards (TRL's logs)", y_title="β·log π/π_ref"
    )


def loss_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    return curves(rows, "step", LOSS, title="Loss and reward accuracy (per batch)", height=260)


def caption(rows: Sequence[dict[str, Any]]) -> str | None:
    pts = [r for r in rows if "rewards/margins" in r]
    if not pts:
        return None
    first, last = pts[0], pts[-1]
    return (
        f"step {number(last['step'])} · margin {last['rewards/margins']:+.2f} · rewards/chosen "
        f"{first['rewards/chosen']:+.2f} → {last['rewards/chosen']:+.2f} · rewards/rejected "
        f"{first['rewards/rejected']:+.2f} → {last['rewards/rejected']:+.2f} · batch accuracy "
        f"{last['rewards/accuracies']:.0%}"
    )


def loss_landscape(
    xs: list, ys: list, z: list, beta: float, path: Sequence[tuple[float, float]] = ()
) -> go.Figure:
    """−log σ(β(x − y)) over chosen log-ratio x and rejected log-ratio y; `path` (a run's mean
    log-ratios per step) drawn on top. The contours are diagonals: only x − y matters."""
    fig = go.Figure(
        go.Contour(
            x=xs,
            y=ys,
            z=z,
            colorscale="Blues_r",
            contours={"showlabels": True},
            colorbar={"title": "loss"},
        )
    )
    if path:
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in path],
                y=[p[1] for p in path],
                mode="lines+markers",
                name="the run, step by step",
                line={"color": COLORS[1]},
                marker={"size": 5},
            )
        )
    return xy(
        fig,
        380,
        f"DPO loss at β = {beta:g}",
        "chosen: log π/π_ref (nats)",
        "rejected: log π/π_ref (nats)",
    )


def margin_curve(
    beta: float, margins: list[float], losses: list[float], weights: list[float], here: float
) -> go.Figure:
    """Loss and gradient weight σ(−m) against the margin m, the current pair marked."""
    fig = go.Figure(
        [
            go.Scatter(x=margins, y=losses, name="loss −log σ(m)", line={"color": COLORS[0]}),
            go.Scatter(
                x=margins,
                y=weights,
                name="gradient weight σ(−m)",
                line={"color": COLORS[3], "dash": "dash"},
            ),
        ]
    )
    fig.add_vline(x=here, line_color=COLORS[1])
    return layout(
        fig,
        height=280,
        title=f"The loss only sees the margin m (β = {beta:g})",
        xaxis_title="margin m = r(chosen) − r(rejected)",
        legend={"orientation": "h", "y": -0.3},
    )
