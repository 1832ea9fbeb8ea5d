"""Pure plotly figure builders: data in, `go.Figure` out. No Streamlit, unit-tested.

One module per topic (`figures/sentiment.py`, `figures/attention.py`, …); the pieces every topic
uses are here: the one LAYOUT, horizontal bars, heatmaps, curves from logged metric rows, log axes
with readable ticks, and series styles that keep overlapping lines visible.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import plotly.graph_objects as go

LAYOUT: dict[str, Any] = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "height": 340}
COLORS = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777", "#0891b2", "#4b5563")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def layout(fig: go.Figure, height: int | None = None, title: str | None = None, **kw) -> go.Figure:
    """Apply the gallery's layout (margins, height) plus any plotly layout keywords."""
    opts: dict[str, Any] = {**LAYOUT, **kw}
    if height is not None:
        opts["height"] = height
    if title is not None:
        opts["title"] = title
    fig.update_layout(**opts)
    return fig


def text_label(s: str, limit: int = 60) -> str:
    """Plotly reads tags in text: escape anything that came from a user, and keep it short."""
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return html.escape(s)


def bar(
    labels: Sequence[str],
    values: Sequence[float],
    x_title: str,
    fmt: str = ".2f",
    color: str = "#60a5fa",
) -> go.Figure:
    """Horizontal bars, first label on top, each bar labelled with its value."""
    fig = go.Figure(
        go.Bar(
            x=list(values),
            y=[text_label(s) for s in labels],
            orientation="h",
            text=[f"{v:{fmt}}" for v in values],
            textposition="auto",
            marker_color=color,
        )
    )
    return layout(
        fig,
        height=90 + 32 * len(labels),
        xaxis_title=x_title,
        yaxis={"title": "", "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )


def heatmap(
    matrix: Any,
    x: Sequence[str],
    y: Sequence[str] | None = None,
    title: str | None = None,
    zmin: float | None = None,
    zmax: float | None = None,
    colorscale: str = "Viridis",
    height: int | None = None,
    text_fmt: str | None = None,
) -> go.Figure:
    """A labelled matrix; rows top to bottom in the order given."""
    y = list(y if y is not None else x)
    trace: dict[str, Any] = {
        "z": matrix,
        "x": [text_label(s, 24) for s in x],
        "y": [text_label(s, 24) for s in y],
        "zmin": zmin,
        "zmax": zmax,
        "colorscale": colorscale,
    }
    if text_fmt:
        trace["texttemplate"] = "%{z:" + text_fmt + "}"
    fig = go.Figure(go.Heatmap(**trace))
    fig.update_yaxes(autorange="reversed")
    return layout(fig, height=height, title=title)


def curves(
    rows: Sequence[dict[str, Any]],
    x: str,
    series: dict[str, str],
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int | None = 300,
    group: str | None = None,
) -> go.Figure | None:
    """Line chart of logged metric rows: `series` maps a row key to its legend name. Rows that
    lack a key are skipped for that series. With `group`, one line per (group value, series).
    Returns None while there is nothing to draw."""
    fig = go.Figure()
    groups = sorted({r.get(group) for r in rows if group in r}, key=str) if group else [None]
    n = 0
    for g_i, g in enumerate(groups):
        for s_i, (key, name) in enumerate(series.items()):
            pts = [r for r in rows if key in r and x in r and (group is None or r.get(group) == g)]
            if not pts:
                continue
            label = name if g is None else f"{g} · {name}"
            fig.add_trace(
                go.Scatter(
                    x=[r[x] for r in pts],
                    y=[r[key] for r in pts],
                    name=text_label(str(label)),
                    mode="lines+markers",
                    line={"color": COLORS[(g_i if group else s_i) % len(COLORS)],
                          "dash": DASHES[s_i % len(DASHES)] if group else "solid"},
                )
            )  # fmt: skip
            n += 1
    if n == 0:
        return None
    return layout(
        fig,
        height=height,
        title=title,
        xaxis_title=x_title or x,
        yaxis_title=y_title,
        legend={"orientation": "h", "y": -0.25},
    )


def log_ticks(lo: float, hi: float, steps: Iterable[int] = (1, 2, 5)) -> tuple[list, list]:
    """Tick values and labels for a log axis between lo and hi: 1, 2, 5 × 10^k, written in full
    ("0.5", "20", "1,000") so no tick reads as a bare mantissa."""
    if lo <= 0 or hi <= 0 or not (math.isfinite(lo) and math.isfinite(hi)):
        return [], []
    lo, hi = min(lo, hi), max(lo, hi)
    vals: list[float] = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in steps:
            v = m * 10.0**k
            if lo / 1.0001 <= v <= hi * 1.0001:
                vals.append(v)
    if len(vals) < 2:  # a narrow range: fall back to the ends
        vals = [lo, hi]
    return vals, [number(v) for v in vals]


def log_axis(fig: go.Figure, axis: str, values: Iterable[float], title: str | None = None) -> None:
    """Make `axis` ("x" or "y") logarithmic with readable ticks for the given data."""
    data = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not data:
        return
    tickvals, ticktext = log_ticks(min(data), max(data))
    spec: dict[str, Any] = {"type": "log", "tickvals": tickvals, "ticktext": ticktext}
    if title:
        spec["title"] = title
    fig.update_layout(**{f"{axis}axis": spec})


def number(v: float) -> str:
    """A number for a label: thousands separators, no float noise (1,000 · 0.5 · 2.5e-05)."""
    if v == 0:
        return "0"
    if abs(v) >= 1:
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.3g}"
    if abs(v) >= 1e-3:
        return f"{v:.3g}"
    return f"{v:.2g}"


SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star")


def style(index: int) -> dict[str, Any]:
    """Line and marker for series `index`, distinct in colour, dash, marker and width, so two
    series with identical values (say two kernels with the same analytic memory) both show:
    the first is drawn widest, the next ones narrower and dashed on top of it."""
    return {
        "line": {
            "color": COLORS[index % len(COLORS)],
            "dash": DASHES[index % len(DASHES)],
            "width": max(1.5, 5 - 1.5 * index),
        },
        "marker": {"symbol": SYMBOLS[index % len(SYMBOLS)], "size": max(6, 11 - 2 * index)},
    }


def logged(rows: Sequence[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """The logged rows that hold every one of `keys` (an evaluation, say, not a training step)."""
    return [r for r in rows if all(k in r for k in keys)]


def last_logged(rows: Sequence[dict[str, Any]], *keys: str) -> dict[str, Any] | None:
    """The newest row holding `keys`, or None before the first one (a caption waits for it)."""
    points = logged(rows, *keys)
    return points[-1] if points else None
