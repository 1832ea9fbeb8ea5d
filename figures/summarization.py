"""Figures of Project 2: why each sentence was picked (scores, the cosine matrix, a 2-D map, the
article highlighted), and the boxes summaries are shown in. Every piece of user text is escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import COLORS, layout, text_label
from lessons.extractive import ExtractiveResult, Rouge

PICKED, OTHER = "#f59e0b", "#93c5fd"
SCORE_NAMES = {
    "pagerank": "PageRank score",
    "centroid": "cosine with the centroid",
    "clustering": "cosine with its cluster's centroid",
}

SCORE_NOTES = {
    "pagerank": "The random walk's stationary probability (sums to 1): the top k win.",
    "centroid": "The top k cosines with the article's mean vector win.",
    "clustering": "Within each cluster the sentence closest to its centroid wins, even if other "
    "clusters have higher scores.",
}


def _names(result: ExtractiveResult, star: bool = False) -> list[str]:
    picked = set(result.picked)
    return [f"S{i + 1}{' ★' if star and i in picked else ''}" for i in range(len(result.spans))]


def _hover(result: ExtractiveResult) -> list[str]:
    return [text_label(s.text, 90) for s in result.spans]


def _colors(result: ExtractiveResult) -> list[str]:
    picked = set(result.picked)
    return [PICKED if i in picked else OTHER for i in range(len(result.spans))]


def score_bars(result: ExtractiveResult, height: int = 320) -> go.Figure:
    """Each sentence's score in article order; the picked ones in orange."""
    fig = go.Figure(
        go.Bar(
            x=_names(result),
            y=[float(v) for v in result.scores],
            marker_color=_colors(result),
            hovertext=_hover(result),
            hoverinfo="text+y",
        )
    )
    return layout(
        fig,
        height=height,
        xaxis_title="sentence (article order; orange = picked)",
        yaxis_title=SCORE_NAMES[result.method],
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )


def similarity(result: ExtractiveResult, height: int = 520) -> go.Figure:
    """The (S, S) cosine matrix every method reads; ★ marks the picked sentences."""
    names = _names(result, star=True)
    fig = go.Figure(
        go.Heatmap(
            z=result.sim.tolist(),
            x=names,
            y=names,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "cosine"},
            hovertemplate="%{y} · %{x}: cosine %{z:.2f}<extra></extra>",
        )
    )
    return layout(
        fig,
        height=height,
        xaxis_title="sentence",
        yaxis={"title": "sentence (★ = picked)", "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )


def embedding_map(result: ExtractiveResult, xy: Sequence[Sequence[float]], height: int = 420):
    """Sentences on their two principal components (xy: (S, 2)); stars are picked, colours are
    k-means clusters when there are any."""
    n = len(result.spans)
    picked = set(result.picked)
    if result.labels is not None:
        colors = [COLORS[int(c) % len(COLORS)] for c in result.labels]
    else:
        colors = _colors(result)
    fig = go.Figure(
        go.Scatter(
            x=[float(p[0]) for p in xy],
            y=[float(p[1]) for p in xy],
            mode="markers+text",
            text=_names(result),
            textposition="top center",
            hovertext=_hover(result),
            hoverinfo="text",
            marker={
                "size": [18 if i in picked else 10 for i in range(n)],
                "symbol": ["star" if i in picked else "circle" for i in range(n)],
                "color": colors,
                "line": {"width": 1, "color": "#1f2937"},
            },
        )
    )
    return layout(
        fig,
        height=height,
        xaxis_title="principal component 1",
        yaxis_title="principal component 2",
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )


def highlighted_html(result: ExtractiveResult, article: str, max_height: int = 420) -> str:
    """The article with the picked sentences highlighted (cluster colour underlined), each
    sentence numbered with its score on hover. Every piece of the article is escaped."""
    picked = set(result.picked)
    out, pos = [], 0
    for i, span in enumerate(result.spans):
        out.append(html.escape(article[pos : span.start]))
        style = "background:#fde68a;font-weight:600" if i in picked else "color:#374151"
        if result.labels is not None:
            style += f";border-bottom:3px solid {COLORS[int(result.labels[i]) % len(COLORS)]}"
        out.append(
            f'<span title="S{i + 1} · score {float(result.scores[i]):.4f}" '
            f'style="{style};border-radius:3px"><sup style="color:#6b7280">S{i + 1}</sup>'
            f"{html.escape(span.text)}</span>"
        )
        pos = span.end
    end = result.spans[-1].end if result.spans else 0
    out.append(html.escape(article[end : end + 400]))  # past the sentence cap: a little context
    return (
        f'<div style="white-space:pre-wrap;line-height:1.7;max-height:{max_height}px;'
        f'overflow-y:auto">{"".join(out)}</div>'
    )


def box_html(text: str, color: str = "#60a5fa", max_height: int | None = None) -> str:
    """A summary in a bordered box (escaped); it scrolls past `max_height` px when given."""
    body = html.escape(text) or "<i>(empty)</i>"
    cap = f"max-height:{max_height}px;overflow-y:auto;" if max_height else ""
    return (
        f'<div style="border-left:4px solid {color};padding:6px 12px;background:#f8fafc;{cap}'
        f'white-space:pre-wrap">{body}</div>'
    )


KIND_COLORS = {"extractive": "#60a5fa", "prompted LM": "#f59e0b", "seq2seq": "#10b981",
               "stand-in": "#9ca3af"}  # fmt: skip


def rouge_caption(scores: dict[str, Rouge]) -> str:
    return (
        f"ROUGE F1 — 1: {scores['rouge1'].f1:.3f} · 2: {scores['rouge2'].f1:.3f} · "
        f"L: {scores['rougeL'].f1:.3f}"
    )


def generation_caption(a: Any) -> str | None:
    """Tokens, time and what stopped it, for a summary a model wrote (None for the others)."""
    if a.new_tokens is None:
        return None
    rate = a.new_tokens / a.seconds if a.seconds > 0 else 0.0
    stop = (a.stopped_by or "").replace("_", " ")
    text = (
        f"{a.new_tokens:,} new tokens in {a.seconds:.1f} s ({rate:.1f} tokens/s), stopped by {stop}"
    )
    if a.cut:
        words = len(a.cut.split())
        text += f"; the unfinished last sentence ({words:,} words) was cut"
    return text + "."


def flag_rows(flags: Sequence[Any]) -> list[dict[str, str]]:
    """The fact check's flags as table rows (a table shows text as text, never as markup)."""
    return [
        {"word": f.word, "summary says": f.said, "why": f.reason, "article has": f.article or "—"}
        for f in flags
    ]
