"""Figures of the Position embeddings page: position tables and similarity matrices, curves over
offset or distance, RoPE's rotating pairs. Pure builders: arrays in, `go.Figure` out."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from figures import layout, style, text_label

HEIGHT = 380


def table(
    z: np.ndarray,
    title: str,
    x_title: str,
    y_title: str,
    colorbar: str,
    scale: str = "RdBu",
    zrange: tuple[float, float] | None = None,
    height: int = HEIGHT,
) -> go.Figure:
    """A position-indexed matrix (rows top to bottom): PE[p, j], cos(p, q), p·ω_i."""
    trace = {"z": np.asarray(z), "colorscale": scale, "colorbar": {"title": {"text": colorbar}}}
    if zrange is None:
        trace["zmid"] = 0.0
    else:
        trace["zmin"], trace["zmax"] = zrange
    fig = go.Figure(go.Heatmap(**trace))
    fig.update_yaxes(autorange="reversed")
    return layout(fig, height=height, title=title, xaxis_title=x_title, yaxis_title=y_title)


def lines(
    series: Sequence[tuple[str, Sequence[float], Sequence[float] | None]],
    title: str,
    x_title: str,
    y_title: str,
    height: int = HEIGHT,
) -> go.Figure:
    """Curves as (name, y, x or None for 0..n-1); series that coincide stay visible
    (`figures.style`: the first widest, the next dashed on top)."""
    fig = go.Figure()
    for i, (name, y, x) in enumerate(series):
        y = np.asarray(y)
        x = np.arange(len(y)) if x is None else np.asarray(x)
        fig.add_trace(
            go.Scatter(x=x, y=y, mode="lines", name=text_label(name), line=style(i)["line"])
        )
    return layout(
        fig,
        height=height,
        title=title,
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.25},
    )


def rotating_pairs(
    xy: np.ndarray, pairs: Sequence[int], wavelengths: Sequence[float], height: int = HEIGHT
) -> go.Figure:
    """Where each chosen 2-D pair of a query lands at positions 0..T-1: (T, P, 2) coordinates,
    one circle per pair, an arrow at the last position."""
    xy = np.asarray(xy)  # (T, P, 2)
    n_pos = xy.shape[0]
    fig = go.Figure()
    for j, i in enumerate(pairs):
        fig.add_trace(
            go.Scatter(
                x=xy[:, j, 0],
                y=xy[:, j, 1],
                mode="lines+markers",
                marker={"size": 5},
                name=f"pair {i}: a turn every {wavelengths[i]:,.0f} tokens",
                text=[f"p = {p:,}" for p in range(n_pos)],
                hovertemplate="%{text}<br>(%{x:.2f}, %{y:.2f})",
            )
        )
        fig.add_annotation(x=float(xy[-1, j, 0]), y=float(xy[-1, j, 1]), ax=0, ay=0,
                           axref="x", ayref="y", showarrow=True, arrowhead=2)  # fmt: skip
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return layout(
        fig,
        height=height,
        title=f"Pairs of a query rotating for positions 0–{n_pos - 1:,} (arrow = last position)",
        xaxis_title="first coordinate of the pair",
        yaxis_title="second coordinate of the pair",
    )


def angles(theta_wrapped: np.ndarray, height: int = HEIGHT) -> go.Figure:
    """The angle table p·ω_i folded to [−π, π): fast pairs cycle, slow pairs barely move."""
    return table(
        theta_wrapped,
        "Angle table p·ω_i, folded to [−π, π)",
        "frequency index i (pair)",
        "position p (tokens)",
        "angle (rad)",
        scale="Twilight",
        zrange=(-math.pi, math.pi),
        height=height,
    )
