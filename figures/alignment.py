"""Figures of the RLHF & DPO page: the reward model's fit and scores, the KL leash, PPO's clip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import COLORS, curves, layout, text_label


def xy(fig: go.Figure, height: int, title: str, x: str, y: str | None = None) -> go.Figure:
    """The gallery's layout with axis titles and the legend under the plot."""
    return layout(fig, height=height, title=title, xaxis_title=x, yaxis_title=y,
                  legend={"orientation": "h", "y": -0.3})  # fmt: skip


def reward_fit(history: Sequence[dict[str, Any]]) -> go.Figure | None:
    """Bradley–Terry loss and training accuracy per step."""
    return curves(
        history,
        "step",
        {"loss": "Bradley–Terry loss", "train_accuracy": "training-pair accuracy"},
        title="Reward model fit",
        y_title="loss / accuracy",
    )


def reward_scatter(
    chosen: Sequence[float], rejected: Sequence[float], groups: Sequence[str]
) -> go.Figure:
    """One point per held-out pair: r(chosen) against r(rejected). Below the diagonal = ranked
    the human way."""
    fig = go.Figure()
    for i, g in enumerate(sorted(set(groups))):
        idx = [j for j, x in enumerate(groups) if x == g]
        fig.add_trace(
            go.Scatter(
                x=[rejected[j] for j in idx],
                y=[chosen[j] for j in idx],
                mode="markers",
                name=text_label(g or "pairs"),
                marker={"color": COLORS[i % len(COLORS)], "size": 9},
            )
        )
    lo = min([*chosen, *rejected, 0.0])
    hi = max([*chosen, *rejected, 0.0])
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[lo, hi],
            mode="lines",
            name="r(chosen) = r(rejected)",
            line={"color": "#9ca3af", "dash": "dash"},
        )
    )
    return xy(
        fig,
        360,
        "Held-out pairs: above the line = ranked like the person did",
        "reward of the rejected answer",
        "reward of the chosen answer",
    )


def leash_bars(labels: Sequence[str], reference: Sequence[float], policy: Sequence[float]):
    """π_ref and the KL-regularised optimum π* over the same answers."""
    names = [text_label(s, 48) for s in labels]
    series = (("π_ref (SmolLM2)", reference, 7), ("π* (optimum at this β)", policy, 0))
    fig = go.Figure(
        [
            go.Bar(y=names, x=list(xs), orientation="h", name=name, marker_color=COLORS[c])
            for name, xs, c in series
        ]
    )
    return layout(
        fig,
        height=120 + 48 * len(labels),
        barmode="group",
        xaxis={"title": "probability among these answers", "range": [0, 1]},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.3},
    )


def leash_tradeoff(rows: Sequence[dict[str, float]], beta: float) -> go.Figure:
    """Expected reward against KL(π* ‖ π_ref) as β varies; the current β marked."""
    fig = go.Figure(
        go.Scatter(
            x=[r["kl"] for r in rows],
            y=[r["expected_reward"] for r in rows],
            mode="lines+markers",
            text=[f"β = {r['beta']:g}" for r in rows],
            name="optimum for each β",
            line={"color": COLORS[0]},
        )
    )
    here = min(rows, key=lambda r: abs(r["beta"] - beta))
    fig.add_trace(
        go.Scatter(
            x=[here["kl"]],
            y=[here["expected_reward"]],
            mode="markers",
            marker={"size": 14, "color": COLORS[1]},
            name=f"β = {here['beta']:g}",
        )
    )
    return xy(
        fig, 300, "The leash: more reward costs more KL", "KL(π* ‖ π_ref), nats", "expected reward"
    )


def ppo_clip(ratios: Sequence[float], pos: Sequence[float], neg: Sequence[float], eps: float):
    """PPO's clipped surrogate against the probability ratio, for A = +1 and A = −1."""
    fig = go.Figure(
        [
            go.Scatter(x=list(ratios), y=list(pos), name="advantage +1", line={"color": COLORS[2]}),
            go.Scatter(x=list(ratios), y=list(neg), name="advantage −1", line={"color": COLORS[1]}),
        ]
    )
    for x in (1 - eps, 1 + eps):
        fig.add_vline(x=x, line_dash="dot", line_color="#9ca3af")
    return xy(
        fig,
        300,
        f"PPO's clip (ε = {eps:g}): no gain from moving a token past 1 ± ε",
        "ρ = π(token) / π_old(token)",
        "surrogate objective",
    )
