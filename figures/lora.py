"""Figures of the LoRA page: training curves, the spectrum of B·A, the α/r scaling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

import figures
from figures import COLORS, layout, log_axis, number


def curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """Training loss (answers of the batch) and held-out loss (answers never trained on)."""
    return figures.curves(
        rows,
        "step",
        {"train_loss": "training loss", "held_loss": "held-out loss"},
        y_title="cross-entropy per answer token",
        height=300,
    )


def caption(rows: Sequence[dict[str, Any]]) -> str | None:
    held = [r["held_loss"] for r in rows if "held_loss" in r]
    if not held:
        return None
    step = max(r.get("step", 0) for r in rows)
    return (
        f"step {number(step)}: held-out loss {held[0]:.2f} → {held[-1]:.2f} "
        "(answers to prompts the adapter never saw)"
    )


def spectrum(values: Sequence[float], r: int, title: str, show: int | None = None) -> go.Figure:
    """Singular values of ΔW, largest first, on a log axis: r of them, then rounding noise."""
    show = show or min(len(values), 2 * r + 8)
    vals = [max(float(v), 1e-12) for v in list(values)[:show]]
    colors = [COLORS[0] if i < r else "#9ca3af" for i in range(len(vals))]
    fig = go.Figure(go.Bar(x=list(range(1, len(vals) + 1)), y=vals, marker_color=colors))
    fig.add_vline(x=r + 0.5, line_dash="dash", annotation_text=f"rank r = {r}")
    log_axis(fig, "y", vals, "singular value")
    return layout(fig, height=300, title=title, xaxis_title="index (largest first)")


def scaling(alpha: float, r: int, ranks: Sequence[int] = (1, 2, 4, 8, 16, 32, 64)) -> go.Figure:
    """What B·A is multiplied by, for this α, as r grows: α/r (LoRA) and α/√r (rsLoRA)."""
    ranks = sorted(set(ranks) | {r})
    fig = go.Figure()
    for i, (name, f) in enumerate((("α / r (LoRA)", lambda k: alpha / k),
                                   ("α / √r (rsLoRA)", lambda k: alpha / k**0.5))):  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=ranks,
                y=[f(k) for k in ranks],
                name=name,
                mode="lines+markers",
                **figures.style(i),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[r],
            y=[alpha / r],
            mode="markers+text",
            text=[f"r = {r}: {alpha / r:.3g}"],
            textposition="top right",
            marker={"size": 14, "color": COLORS[3]},
            name="your setting",
        )
    )
    log_axis(fig, "x", ranks, "rank r")
    log_axis(fig, "y", [alpha / max(ranks), alpha], "scaling of B·A")
    return layout(fig, height=320, legend={"orientation": "h", "y": -0.3})
