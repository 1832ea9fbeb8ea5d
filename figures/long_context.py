"""Figures of the Long-context page, its default inputs, and `warm()` (those inputs computed).

wavelengths(curves), angle_ratio(curves)   RoPE scaling per rotary pair (lessons.rope_scaling)
perplexity(rows, trained, factor)          measured perplexity per length and method
tiles(shown, title)                        the score tiles the online softmax has computed
traffic(curves)                            HBM bytes, standard vs FlashAttention (log-log)
bench(rows, column, title, unit)           the attention benchmark (log-log, styled series)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import layout, log_axis, number, style

# The page's default inputs (the page and warm() both read these).
FACTOR, TRAINED = 4.0, 8192  # RoPE scaling tab: s and L
PPL_TRAINED, PPL_FACTOR = 256, 4.0  # measured perplexity: pretend L, s
PPL_METHODS = ("none", "linear", "yarn")
PPL_LENGTHS = (128, 256, 512)
FLASH = {"T": 8, "bq": 2, "bk": 3, "causal": True, "seed": 0, "d": 4}
TRAFFIC = {"d": 64, "sram_kb": 192, "bytes": 2}
TRAFFIC_LENGTHS = [2**p for p in range(8, 18)]

NAMES = {
    "none": "no scaling",
    "linear": "linear (PI)",
    "ntk": "NTK-aware",
    "dynamic": "dynamic NTK",
    "yarn": "YaRN",
}
METHOD_COLORS = {
    "none": "#64748b",
    "linear": "#ef4444",
    "ntk": "#f59e0b",
    "dynamic": "#a855f7",
    "yarn": "#10b981",
}


def _line(method: str) -> dict[str, Any]:
    return {"color": METHOD_COLORS[method]}


def wavelengths(curves: dict[str, Any]) -> go.Figure:
    """Tokens per full turn of every rotary pair, unscaled and per method, beside L and s·L."""
    fig = go.Figure()
    pairs = curves["pair"]
    fig.add_trace(go.Scatter(x=pairs, y=curves["wavelength"], name="unscaled", line=_line("none")))
    for method in ("linear", "ntk", "yarn"):
        fig.add_trace(
            go.Scatter(
                x=pairs,
                y=curves["scaled_wavelength"][method],
                name=NAMES[method],
                line=_line(method),
            )
        )
    L, target = curves["trained_len"], curves["target_len"]
    fig.add_hline(y=L, line_dash="dash", annotation_text=f"L = {L:,}")
    fig.add_hline(y=target, line_dash="dot", annotation_text=f"s·L = {target:,}")
    values = [*curves["wavelength"], *curves["scaled_wavelength"]["linear"], L, target]
    log_axis(fig, "y", values, title="wavelength (tokens per turn, log)")
    return layout(
        fig,
        height=360,
        title=f"Wavelength per rotary pair, s = {curves['factor']:g}",
        xaxis_title="rotary pair i (0 = fastest)",
    )


def angle_ratio(curves: dict[str, Any]) -> go.Figure:
    """Largest angle reached at s·L over the largest seen within L, per pair and method."""
    fig = go.Figure()
    for method, ratio in curves["angle_ratio"].items():
        fig.add_trace(go.Scatter(x=curves["pair"], y=ratio, name=NAMES[method], line=_line(method)))
    fig.add_hline(y=1.0, line_dash="dash", annotation_text="seen in training")
    return layout(
        fig,
        height=320,
        title=f"Largest angle at {curves['target_len']:,} tokens ÷ largest angle seen within L",
        xaxis_title="rotary pair i",
        yaxis_title="ratio (> 1 = extrapolation)",
    )


def perplexity(rows: Sequence[dict], trained: int, factor: float) -> go.Figure:
    """Perplexity against context length, one line per method, with the pretend L marked."""
    fig = go.Figure()
    for method in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((r["length"], r["ppl"]) for r in rows if r["method"] == method)
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in pts],
                y=[p[1] for p in pts],
                mode="lines+markers",
                name=NAMES[method],
                line=_line(method),
            )
        )
    fig.add_vline(x=trained, line_dash="dash", annotation_text="pretend L")
    log_axis(fig, "x", [r["length"] for r in rows], title="context length n (tokens, log)")
    return layout(
        fig,
        height=360,
        yaxis_title="perplexity (lower is better)",
        title=f"SmolLM2 perplexity on the essay, L = {trained:,}, s = {factor:g}",
    )


def tiles(shown: Any, step: Any, title: str) -> go.Figure:
    """The score matrix as revealed so far (NaN = not computed), the current tile outlined."""
    fig = go.Figure(go.Heatmap(z=shown, colorscale="RdBu", zmid=0, colorbar={"title": "score"}))
    fig.add_shape(
        type="rect",
        x0=step.cols[0] - 0.5,
        x1=step.cols[1] - 0.5,
        y0=step.rows[0] - 0.5,
        y1=step.rows[1] - 0.5,
        line={"color": "black", "width": 3},
    )
    return layout(
        fig,
        height=320,
        title=title,
        xaxis_title="key position",
        yaxis_title="query position",
        yaxis_autorange="reversed",
    )


def traffic(curves: dict[str, list[float]]) -> go.Figure:
    """HBM reads + writes of one head against N, standard vs FlashAttention, log-log."""
    fig = go.Figure()
    for i, (key, name) in enumerate(
        (("standard_mib", "standard"), ("flash_mib", "FlashAttention"))
    ):
        fig.add_trace(
            go.Scatter(
                x=curves["seq_len"], y=curves[key], name=name, mode="lines+markers", **style(i)
            )
        )
    log_axis(fig, "x", curves["seq_len"], title="sequence length N (tokens, log)")
    log_axis(
        fig, "y", curves["standard_mib"] + curves["flash_mib"], title="memory traffic (MiB, log)"
    )
    return layout(fig, height=360, title="HBM reads + writes for one attention head")


def bench(rows: Sequence[dict], column: str, title: str, unit: str) -> go.Figure:
    """One benchmark column (ms or mem_mb) against N per method, log-log. Each method has its
    own colour, dash, marker and width, so two with identical values (eager and sdpa:math hold
    the same N×N matrix) both stay visible; the later one is named "(= the earlier)"."""
    fig = go.Figure()
    series = bench_series(rows, column)
    same = same_as(series)
    values = []
    for i, (method, pts) in enumerate(series.items()):
        values += [v for _, v in pts]
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in pts],
                y=[p[1] for p in pts],
                name=f"{method} (= {same[method]})" if method in same else method,
                mode="lines+markers",
                **style(i),
            )
        )
    log_axis(fig, "x", [r["seq_len"] for r in rows], title="sequence length N (tokens, log)")
    log_axis(fig, "y", values, title=f"{column} ({unit}, log)")
    return layout(fig, height=320, title=title)


def bench_series(rows: Sequence[dict], column: str) -> dict[str, list[tuple[int, float]]]:
    """method -> [(N, value)] for the rows that have a value in `column`, in the rows' order."""
    out: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if r.get(column) is not None:
            out.setdefault(r["method"], []).append((r["seq_len"], r[column]))
    return out


def same_as(series: dict[str, list[tuple[int, float]]]) -> dict[str, str]:
    """method -> the earlier method whose series it equals point for point (their lines
    coincide: eager and sdpa:math hold the same N×N matrix)."""
    out: dict[str, str] = {}
    names = list(series)
    for j, later in enumerate(names):
        for earlier in names[:j]:
            if earlier not in out and series[earlier] == series[later]:
                out[later] = earlier
                break
    return out


def overlap_note(rows: Sequence[dict], column: str) -> str | None:
    """A caption for series that lie exactly on top of each other, or None."""
    same = same_as(bench_series(rows, column))
    if not same:
        return None
    pairs = "; ".join(f"**{b}** equals **{a}**" for b, a in same.items())
    return (
        f"{pairs} at every length: the lines coincide, so the later one is drawn dashed and "
        "narrower on top of the wide one."
    )


def traffic_caption(curves: dict[str, list[float]], blocks: tuple[int, int]) -> str:
    n, std, fl = curves["seq_len"][-1], curves["standard_mib"][-1], curves["flash_mib"][-1]
    return (
        f"Blocks: {blocks[0]:,} queries × {blocks[1]:,} keys. At N = {n:,}: standard "
        f"{number(round(std))} MiB, flash {number(round(fl))} MiB ({std / fl:.1f}× less)."
    )


def warm() -> dict[str, Any]:
    """Compute the page's default views (for `make preflight`): the scaling curves and table,
    the online-softmax steps with their check against SDPA, the traffic curves, and which
    attention backends run here. The perplexity sweep and the benchmark are button-gated and
    measured on demand. Returns what it found, with the seconds it took."""
    from lessons import attention_bench as ab
    from lessons import flash_attention as fa
    from lessons import rope_scaling as rs

    t0 = time.perf_counter()
    curves = rs.scaling_curves(FACTOR, TRAINED)
    wavelengths(curves)
    angle_ratio(curves)
    summary = rs.method_summary(FACTOR, TRAINED)
    f = FLASH
    q, k, v = fa.random_qkv(f["T"], f["d"], f["seed"])
    steps = fa.online_softmax_steps(q, k, v, f["bq"], f["bk"], f["causal"])
    check = fa.check_steps(q, k, v, steps, f["bq"], f["bk"], f["causal"])
    tiles(fa.revealed_scores(steps, 0, f["T"]).numpy(), steps[0], "step 1")
    t = TRAFFIC
    tc = fa.traffic_curves(TRAFFIC_LENGTHS, t["d"], t["sram_kb"] * 1024, t["bytes"])
    traffic(tc)
    return {
        "pairs_out_of_range": {r["method"]: r["pairs_out_of_range"] for r in summary},
        "online_softmax_error": check.steps_vs_softmax,
        "flash_vs_sdpa_error": check.tiled_vs_sdpa,
        "traffic_ratio_at_max_n": round(tc["ratio"][-1], 1),
        "backends": [m for m, why in ab.available_methods().items() if why is None],
        "seconds": round(time.perf_counter() - t0, 2),
    }
