"""Figures of the LLMs page: parameters by component, memory by what holds it, KV cache growth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from figures import COLORS, layout, log_axis, style

GIB = 1024**3


def parameter_bars(components: Mapping[str, int], active: Mapping[str, int] | None = None):
    """Horizontal bars of parameters per component (billions), total beside active for MoE."""
    names = list(components)
    fig = go.Figure(
        go.Bar(
            y=names,
            x=[components[n] / 1e9 for n in names],
            orientation="h",
            name="total",
            marker_color=COLORS[0],
            text=[f"{components[n]:,}" for n in names],
            textposition="auto",
        )
    )
    if active is not None and active != components:
        fig.add_bar(
            y=names,
            x=[active.get(n, 0) / 1e9 for n in names],
            orientation="h",
            name="active per token",
            marker_color=COLORS[2],
        )
    fig.update_yaxes(autorange="reversed")
    return layout(fig, height=80 + 34 * len(names), xaxis_title="parameters (billions)",
                  barmode="group", legend={"orientation": "h", "y": -0.25})  # fmt: skip


def memory_stack(rows: Mapping[str, Mapping[str, float]], title: str | None = None):
    """One stacked bar per method ({method: {part: bytes}}), in GiB."""
    methods = list(rows)
    parts = list(next(iter(rows.values())))
    fig = go.Figure()
    for i, part in enumerate(parts):
        fig.add_bar(
            x=methods,
            y=[rows[m][part] / GIB for m in methods],
            name=part,
            marker_color=COLORS[i % len(COLORS)],
        )
    totals = [sum(rows[m].values()) / GIB for m in methods]
    fig.add_scatter(x=methods, y=totals, mode="text", text=[f"{t:,.1f} GiB" for t in totals],
                    textposition="top center", showlegend=False)  # fmt: skip
    return layout(fig, height=360, title=title, barmode="stack", yaxis_title="GiB",
                  legend={"orientation": "h", "y": -0.2})  # fmt: skip


def kv_growth(
    tokens: Sequence[int], series: Mapping[str, Sequence[float]], mark: int | None = None
):
    """KV cache (GiB) against context length on log-log axes, one line per attention layout;
    distinct dashes so lines that coincide stay visible."""
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_scatter(x=list(tokens), y=[v / GIB for v in values], name=name,
                        mode="lines+markers", **style(i))  # fmt: skip
    if mark:
        fig.add_vline(x=mark, line_dash="dot", line_color="#6b7280")
    all_values = [v / GIB for values in series.values() for v in values if v > 0]
    log_axis(fig, "x", tokens, "context length (tokens)")
    log_axis(fig, "y", all_values, "KV cache (GiB)")
    return layout(fig, height=360, legend={"orientation": "h", "y": -0.25})
