"""Figures of the DistilBERT page."""

from __future__ import annotations

from collections.abc import Collection

import plotly.graph_objects as go

from figures import COLORS, layout


def kept_layers(n_layers: int, keep: Collection[int]) -> go.Figure:
    """The teacher's layers: the ones copied into the student tall and coloured, the rest grey."""
    fig = go.Figure(
        go.Bar(
            x=[f"layer {i}" for i in range(n_layers)],
            y=[1 if i in keep else 0.15 for i in range(n_layers)],
            marker_color=[COLORS[4] if i in keep else "#d1d5db" for i in range(n_layers)],
            hovertext=["copied into the student" if i in keep else "dropped"
                       for i in range(n_layers)],
        )
    )  # fmt: skip
    return layout(fig, height=200, yaxis_visible=False, xaxis_title="teacher layer",
                  margin={"t": 10, "b": 40, "l": 10, "r": 10})  # fmt: skip
