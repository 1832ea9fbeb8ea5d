"""Figures of the Attention page: attention maps, one head's Q/K/V and its four steps, the head
finder's per-head grid. Pure builders: arrays in, `go.Figure` out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures import layout, text_label

WS = {" ": "·", "\n": "↵", "\t": "→", "Ġ": "·", "Ċ": "↵"}  # byte-level BPE marks spaces with Ġ


def token_text(token: str, limit: int = 24) -> str:
    """A token for a plotly label: whitespace made visible, escaped (plotly reads tags), short."""
    return text_label("".join(WS.get(ch, ch) for ch in token), limit)


def token_labels(tokens: Sequence[str]) -> list[str]:
    """Axis labels "i: token"; the index keeps repeated tokens apart (plotly would merge equal
    category labels)."""
    return [f"{i}: {token_text(t)}" for i, t in enumerate(tokens)]


def map_height(rows: int) -> int:
    """A square-ish cell per row: 18 px each, between 320 and 900 px."""
    return int(min(900, max(320, 130 + 18 * rows)))


def matrix(
    z: np.ndarray,
    y: Sequence[str],
    x: Sequence[str] | None,
    title: str,
    x_title: str,
    colorbar: str,
    scale: str = "Blues",
    zmid: float | None = None,
    height: int | None = None,
    zrange: tuple[float, float] | None = None,
    y_title: str = "query token (row)",
) -> go.Figure:
    """A (rows, cols) heatmap with category axes; -inf (masked) cells show blank."""
    z = np.where(np.isfinite(z), z, np.nan)  # (R, C)
    x = list(x) if x is not None else [str(j) for j in range(z.shape[1])]
    trace = {
        "z": z,
        "x": x,
        "y": list(y),
        "colorscale": scale,
        "zmid": zmid,
        "colorbar": {"title": {"text": colorbar}},
        "hovertemplate": "row %{y}<br>column %{x}<br>value %{z:.4f}<extra></extra>",
    }
    if zrange is not None:
        trace["zmin"], trace["zmax"] = zrange
    fig = go.Figure(go.Heatmap(**trace))
    fig.update_yaxes(autorange="reversed", title=y_title, type="category")
    fig.update_xaxes(title=x_title, type="category", tickangle=-60)
    return layout(fig, height=height or map_height(len(y)), title=title,
                  margin={"l": 10, "r": 10, "t": 50, "b": 10})  # fmt: skip


def attention_map(a: np.ndarray, tokens: Sequence[str], title: str, **kw) -> go.Figure:
    """One (T, T) attention map: row = query token, column = key token, weights in [0, 1]."""
    lab = token_labels(tokens)
    return matrix(a, lab, lab, title, "key token (column)", "weight", zrange=(0.0, 1.0), **kw)


def qkv(q: np.ndarray, k: np.ndarray, v: np.ndarray, tokens: Sequence[str]) -> go.Figure:
    """Q, K and V of one head, (T, hs) each, side by side on one colour scale."""
    lab = token_labels(tokens)
    hs = q.shape[1]
    names = [f"{n}  ({len(lab):,} × {hs:,})" for n in ("Q", "K", "V")]
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, subplot_titles=names,
                        horizontal_spacing=0.03)  # fmt: skip
    dims = [str(j) for j in range(hs)]
    for col, m in enumerate((q, k, v), start=1):
        fig.add_trace(
            go.Heatmap(z=m, x=dims, y=lab, coloraxis="coloraxis",
                       hovertemplate="token %{y}<br>dim %{x}<br>%{z:.3f}<extra></extra>"),
            row=1, col=col,
        )  # fmt: skip
        fig.update_xaxes(title="dimension", type="category", nticks=8, row=1, col=col)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_yaxes(title="token", row=1, col=1)
    return layout(
        fig,
        height=map_height(len(lab)),
        coloraxis={"colorscale": "RdBu", "cmid": 0.0, "colorbar": {"title": {"text": "value"}}},
    )


def head_steps(
    steps, tokens: Sequence[str], causal: bool, height: int | None = None
) -> list[go.Figure]:
    """The four (T, T) steps of one head: QKᵀ, scaled, masked, softmax (`lessons.attention.
    HeadSteps`)."""
    lab = token_labels(tokens)
    hs = steps.q.shape[1]
    specs = (
        ("QKᵀ", steps.scores, "score", "RdBu", 0.0),
        (f"÷ √{hs} (× {steps.scale:.4f})", steps.scaled, "score", "RdBu", 0.0),
        ("masked (blank = −∞)" if causal else "masked (nothing to hide)", steps.masked, "score",
         "RdBu", 0.0),
        ("softmax over each row", steps.probs, "weight", "Blues", None),
    )  # fmt: skip
    return [
        matrix(m, lab, lab, name, "key token (column)", cbar, scale=scale, zmid=zmid, height=height)
        for name, m, cbar, scale, zmid in specs
    ]


def head_output(out: np.ndarray, tokens: Sequence[str]) -> go.Figure:
    """softmax · V: the head's (T, hs) output."""
    title = f"softmax · V  ({out.shape[0]:,} × {out.shape[1]:,}): this head's output"
    return matrix(out, token_labels(tokens), None, title, "dimension", "value", scale="RdBu",
                  zmid=0.0)  # fmt: skip


def head_grid(values: np.ndarray, title: str, unit: str) -> go.Figure:
    """One number per head, (L, H): layers down, heads across."""
    n_layers, n_heads = values.shape
    fig = matrix(
        values,
        [str(i) for i in range(n_layers)],
        [str(h) for h in range(n_heads)],
        title,
        "head",
        unit,
        scale="Viridis",
        height=int(min(900, 160 + 22 * n_layers)),
        zrange=(0.0, 1.0) if unit == "fraction" else None,
        y_title="layer",
    )
    fig.update_xaxes(tickangle=0)
    return fig
