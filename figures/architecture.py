"""Figures of the High-level architecture page: the three families as block diagrams, their
attention masks, one forward pass stage by stage (values, norms, depth), the next-token
candidates and where the parameters live. Pure builders: data in, `go.Figure` out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures import layout, text_label
from figures.attention import token_labels, token_text
from lessons import architecture as arch
from lessons import parameter_count as pc

ATTN, FFN, EMB, HEAD, NORM = "#fdba74", "#93c5fd", "#86efac", "#c4b5fd", "#e5e7eb"
EDGE = "#475569"
CROSS = "#ea580c"


def _arrow(fig: go.Figure, x: float, y: float, ax: float, ay: float, **kw) -> None:
    fig.add_annotation(x=x, y=y, ax=ax, ay=ay, xref="x", yref="y", axref="x", ayref="y",
                       arrowhead=2, showarrow=True, text="", **kw)  # fmt: skip


def _stack(fig: go.Figure, x0: float, boxes: Sequence[tuple[str, str]], w: float = 2.6) -> dict:
    """Boxes bottom-up at x0, an arrow into each; returns each box's centre by label."""
    centres = {}
    for j, (text, color) in enumerate(boxes):
        y = j * 1.1
        fig.add_shape(type="rect", x0=x0, x1=x0 + w, y0=y, y1=y + 0.75, fillcolor=color,
                      line={"color": EDGE, "width": 1})  # fmt: skip
        fig.add_annotation(x=x0 + w / 2, y=y + 0.375, text=text, showarrow=False,
                           font={"size": 11, "color": "#111827"})  # fmt: skip
        if j:
            _arrow(fig, x0 + w / 2, y, x0 + w / 2, y - 0.35)
        centres[text] = (x0 + w / 2, y + 0.375)
    return centres


def _bracket(fig: go.Figure, x0: float, y1: float, w: float = 2.6) -> None:
    """The dotted "× N" frame around a family's repeated block (from the attention box up)."""
    fig.add_shape(type="rect", x0=x0 - 0.12, x1=x0 + w + 0.12, y0=2.2 - 0.12, y1=y1 + 0.12,
                  line={"color": "#64748b", "dash": "dot"})  # fmt: skip
    fig.add_annotation(x=x0 + w + 0.2, y=(2.2 + y1) / 2, text="× N", showarrow=False,
                       xanchor="left", font={"size": 12})  # fmt: skip


EMBED = ("token + position<br>embeddings", EMB)
SELF = ("self-attention<br>(all ↔ all)", ATTN)
MASKED = ("masked<br>self-attention", ATTN)
FF = ("feed-forward", FFN)
LM = ("LM head<br>→ next token", HEAD)


def diagram(height: int = 400) -> go.Figure:
    """Encoder-only, decoder-only and encoder-decoder as stacks of blocks."""
    fig = go.Figure()
    _stack(
        fig, 0, [("input tokens", NORM), EMBED, SELF, FF, ("head: per token<br>or pooled", HEAD)]
    )
    _bracket(fig, 0, 4.05)
    _stack(fig, 4.2, [("input tokens", NORM), ("token emb.<br>(RoPE inside attn)", EMB), MASKED,
                      FF, LM])  # fmt: skip
    _bracket(fig, 4.2, 4.05)
    enc = _stack(fig, 8.4, [("source tokens", NORM), EMBED, SELF, FF], w=2.3)
    _bracket(fig, 8.4, 4.05, w=2.3)
    dec = _stack(fig, 11.6, [("target tokens<br>(so far)", NORM), EMBED, MASKED,
                             ("cross-attention", ATTN), FF, LM], w=2.3)  # fmt: skip
    _bracket(fig, 11.6, 5.15, w=2.3)
    (ex, ey), (dx, dy) = enc["feed-forward"], dec["cross-attention"]
    _arrow(fig, dx - 1.15, dy, ex + 1.15, ey + 0.2, arrowwidth=2, arrowcolor=CROSS)
    fig.add_annotation(x=10.6, y=4.5, text="encoder output:<br>keys, values", showarrow=False,
                       font={"size": 11, "color": CROSS})  # fmt: skip
    for x, title in ((1.3, "Encoder-only"), (5.5, "Decoder-only"), (11.0, "Encoder-decoder")):
        fig.add_annotation(x=x, y=6.9, text=f"<b>{title}</b>", showarrow=False, font={"size": 15})
    fig.update_xaxes(visible=False, range=[-0.3, 14.6])
    fig.update_yaxes(visible=False, range=[-0.3, 7.3])
    return layout(fig, height=height, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                  plot_bgcolor="rgba(0,0,0,0)", showlegend=False)  # fmt: skip


def masks(n: int = 6, height: int = 260, narrow: bool = False) -> go.Figure:
    """Which key each query may read: bidirectional, causal, cross (from `attention_pattern`).
    `narrow`: short titles, for half a projector's width."""
    panels = (
        ("Encoder" if narrow else "Encoder self-attention", "bidirectional", n, n),
        ("Decoder (causal)" if narrow else "Decoder self-attention", "causal", n, n),
        ("Cross" if narrow else "Cross-attention", "cross", n - 1, n),
    )
    fig = make_subplots(rows=1, cols=3, subplot_titles=[p[0] for p in panels],
                        horizontal_spacing=0.08)  # fmt: skip
    for c, (_, kind, nq, nk) in enumerate(panels, 1):
        fig.add_trace(
            go.Heatmap(z=arch.attention_pattern(kind, nq, nk), zmin=0, zmax=1,
                       colorscale=[[0, "#f1f5f9"], [1, CROSS]], showscale=False, xgap=2, ygap=2,
                       hovertemplate="query %{y} → key %{x}: %{z:.0f}<extra></extra>"),
            row=1, col=c,
        )  # fmt: skip
        # One y title for the row: the panels' own titles would run into their neighbours.
        fig.update_yaxes(autorange="reversed", title_text="query position" if c == 1 else None,
                         row=1, col=c)  # fmt: skip
        key_title = "key position"
        if kind == "cross":
            key_title = "key (encoder)" if narrow else "key position (encoder)"
        fig.update_xaxes(title_text=key_title, row=1, col=c)
    return layout(fig, height=height, margin={"l": 0, "r": 0, "t": 30, "b": 0})


def _short(s: arch.StageView) -> str:
    if s.block is None:
        return "embeddings"
    return f"{s.block}·{'attn' if 'attention' in s.name else 'FFN'}"


def depth(view: arch.TraceView, max_height: int = 520) -> go.Figure:
    """Per-token L2 norm of the residual stream after every sublayer, on a log colour scale (one
    outlier token, often the first, can be 100× the others)."""
    stream = [s for s in view.stages if s.residual]
    z = np.stack([s.token_norms for s in stream], axis=1)  # (T, depth)
    fig = go.Figure(
        go.Heatmap(
            z=np.log10(np.maximum(z, 1e-6)), x=[_short(s) for s in stream],
            y=token_labels(view.tokens), customdata=z, colorscale="Viridis",
            colorbar={"title": {"text": "L2 norm"}, "tickprefix": "10^"},
            hovertemplate="%{y}<br>%{x}<br>‖x‖ = %{customdata:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="token", type="category")
    fig.update_xaxes(title_text="depth: the residual stream after each sublayer", nticks=24)
    height = min(max_height, max(260, 18 * len(view.tokens) + 110))
    return layout(fig, height=height, margin={"l": 0, "r": 0, "t": 10, "b": 0})


def stage_values(stage: arch.StageView, tokens: Sequence[str], height: int = 340) -> go.Figure:
    """The first tokens × first dims of one stage's tensor, colours clipped at the 98th
    percentile so one huge dimension does not wash out the rest (hover shows true values)."""
    rows = (
        ["sentence"] if stage.kind == "pooled" else token_labels(tokens)[: stage.preview.shape[0]]
    )
    clip = float(np.percentile(np.abs(stage.preview), 98)) or 1.0
    fig = go.Figure(
        go.Heatmap(z=stage.preview, y=rows, x=list(range(stage.preview.shape[1])),
                   colorscale="RdBu", zmid=0, zmin=-clip, zmax=clip,
                   colorbar={"title": {"text": "value"}},
                   hovertemplate="%{y}<br>dim %{x}: %{z:.3f}<extra></extra>")
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="token", type="category")
    fig.update_xaxes(
        title_text=f"hidden dimension (first {stage.preview.shape[1]:,} of {stage.shape[-1]:,})"
    )
    return layout(fig, height=height, title={"text": "values: first tokens × first dims",
                  "font": {"size": 13}}, margin={"l": 0, "r": 0, "t": 30, "b": 0})  # fmt: skip


def stage_norms(stage: arch.StageView, tokens: Sequence[str], height: int = 340) -> go.Figure:
    """The L2 norm of each token's vector at one stage."""
    labels = ["sentence"] if stage.kind == "pooled" else token_labels(tokens)
    fig = go.Figure(go.Bar(x=stage.token_norms, y=labels, orientation="h", marker_color="#0ea5e9",
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="token", type="category")
    fig.update_xaxes(title_text="L2 norm of the token's vector")
    return layout(fig, height=max(height, 16 * len(labels) + 80),
                  title={"text": "per-token L2 norm", "font": {"size": 13}},
                  margin={"l": 0, "r": 0, "t": 30, "b": 0})  # fmt: skip


def next_tokens(top: Sequence[tuple[str, float]]) -> go.Figure:
    """The decoder's most likely next tokens with their probabilities."""
    names = [f"{i + 1}. {token_text(t)}" for i, (t, _) in enumerate(top)]
    fig = go.Figure(go.Bar(x=[p for _, p in top], y=names, orientation="h", marker_color=HEAD,
                           texttemplate="%{x:.3f}", textposition="auto"))  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="candidate", type="category")
    fig.update_xaxes(title_text="P(next token | sentence)", range=[0, 1])
    return layout(fig, height=90 + 32 * len(top), margin={"l": 0, "r": 0, "t": 10, "b": 0})


def treemap_nodes(rows: Sequence[pc.ParamRow], root: str) -> tuple[list, list, list, list]:
    """model -> component (summed over blocks) -> block; a node's value is its children's sum."""
    nodes: list[tuple[str, str, str, int]] = [("model", "", root, sum(r.params for r in rows))]
    for comp, total in pc.totals_by_component(list(rows)).items():
        if total == 0:  # a tied head owns no tensor of its own
            continue
        nodes.append((comp, "model", comp, total))
        for r in rows:
            key = f"blocks · {r.component}" if r.group == "blocks" else r.component
            if key == comp and r.block is not None:
                nodes.append((f"{comp}/{r.block}", comp, f"block {r.block}", r.params))
    ids, parents, labels, values = (list(col) for col in zip(*nodes, strict=True))
    return ids, parents, labels, values


def treemap(rows: Sequence[pc.ParamRow], root: str, height: int = 400) -> go.Figure:
    ids, parents, labels, values = treemap_nodes(rows, text_label(root))
    fig = go.Figure(
        go.Treemap(ids=ids, parents=parents, values=values, labels=labels, branchvalues="total",
                   maxdepth=2, textinfo="label+value+percent root", texttemplate=(
                       "%{label}<br>%{value:,}<br>%{percentRoot:.1%}"),
                   hovertemplate="%{label}: %{value:,} parameters (%{percentRoot:.1%})"
                   "<extra></extra>")
    )  # fmt: skip
    return layout(fig, height=height, margin={"l": 0, "r": 0, "t": 10, "b": 0})
