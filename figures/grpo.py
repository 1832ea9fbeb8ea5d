"""Figures of GRPO: TRL's reward and completion-length curves, one group's advantages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import COLORS, curves, layout, number, text_label

REWARDS = {
    "reward": "reward (weighted total)",
    "rewards/correct/mean": "correct",
    "rewards/format/mean": "format",
    "reward_std": "reward_std",
}
LENGTH = {
    "completions/mean_length": "mean completion length (tokens)",
    "frac_reward_zero_std": "share of groups with zero spread",
}


def reward_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    return curves(rows, "step", REWARDS, title="Rewards per step (TRL's logs)", y_title="reward")


def length_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    return curves(rows, "step", LENGTH, title="Completion length and dead groups", height=260)


def caption(rows: Sequence[dict[str, Any]]) -> str | None:
    pts = [r for r in rows if "reward" in r]
    if not pts:
        return None
    last = pts[-1]
    n = len(pts)
    first = sum(r["reward"] for r in pts[: max(1, n // 4)]) / max(1, n // 4)
    tail = sum(r["reward"] for r in pts[-max(1, n // 4) :]) / max(1, n // 4)
    return (
        f"step {number(last['step'])} · mean reward of the first quarter of steps {first:.2f}, "
        f"of the last quarter {tail:.2f} · loss {last.get('loss', 0):+.3f} · "
        f"zero-spread groups {last.get('frac_reward_zero_std', 0):.0%}"
    )


def advantages(group: dict[str, Any]) -> go.Figure:
    """One prompt's completions as bars of their advantage; a dead group shows flat zeros."""
    labels = [f"{i + 1}: {text_label(t, 28)}" for i, t in enumerate(group["completions"])]
    adv = list(group["advantage"])
    colors = [COLORS[2] if a > 0 else COLORS[1] if a < 0 else "#9ca3af" for a in adv]
    fig = go.Figure(
        go.Bar(
            x=adv,
            y=labels,
            orientation="h",
            marker_color=colors,
            text=[f"{a:+.2f}" for a in adv],
            textposition="auto",
        )
    )
    title = "advantage (r − mean) / std"
    if group.get("zero_spread"):
        title += " — zero spread: every completion scored the same, nothing to learn"
    return layout(
        fig,
        height=120 + 34 * len(labels),
        title=title,
        xaxis={"title": "advantage", "zeroline": True},
        yaxis={"autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
    )
