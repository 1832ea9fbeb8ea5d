"""Figures of the DeepSeek page: expert load per layer, dense vs MoE loss curves, KV cache bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures import COLORS, bar, curves, layout, number


def expert_load(loads: Mapping[str, Sequence[Sequence[float]]], height: int = 300) -> go.Figure:
    """Each routed expert's share of the routed slots, one panel per MoE layer, one bar series
    per run (balanced, not balanced); the dotted line is a perfectly even share (1 / E)."""
    runs = list(loads)
    n_layers = len(next(iter(loads.values())))
    fig = make_subplots(rows=1, cols=n_layers, shared_yaxes=True,
                        subplot_titles=[f"layer {i}" for i in range(n_layers)])  # fmt: skip
    for r, name in enumerate(runs):
        for layer, share in enumerate(loads[name]):
            fig.add_bar(x=[f"e{e}" for e in range(len(share))], y=[100 * s for s in share],
                        name=name, marker_color=COLORS[r % len(COLORS)], showlegend=layer == 0,
                        legendgroup=name, row=1, col=layer + 1)  # fmt: skip
            fig.add_hline(y=100 / len(share), line_dash="dot", line_color="#6b7280",
                          row=1, col=layer + 1)  # fmt: skip
    fig.update_yaxes(title_text="% of routed slots", row=1, col=1)
    return layout(fig, height=height, barmode="group", legend={"orientation": "h", "y": -0.2},
                  margin={"l": 10, "r": 10, "t": 30, "b": 10})  # fmt: skip


def loss_curves(rows: Sequence[dict[str, Any]]) -> go.Figure | None:
    """Validation loss per run (dense vs the MoEs), first seed only."""
    seeds = sorted({r["seed"] for r in rows if "seed" in r})
    mine = [r for r in rows if r.get("seed") == (seeds[0] if seeds else None)]
    return curves(mine, "step", {"val_loss": "validation loss"}, group="run",
                  x_title="training step", y_title="loss (nats / character)")  # fmt: skip


def loss_caption(rows: Sequence[dict[str, Any]]) -> str | None:
    last: dict[str, dict] = {}
    for r in rows:
        if "val_loss" in r:
            last[r["run"]] = r
    if not last:
        return None
    parts = [f"{run}: {r['val_loss']:.3f} at step {r['step']:,}" for run, r in last.items()]
    loads = [f"{run} max/mean {max(v for k, v in r.items() if k.startswith('load_L')):.2f}"
             for run, r in last.items() if any(k.startswith("load_L") for k in r)]  # fmt: skip
    return "Validation loss · " + " · ".join(parts + loads)


def kv_per_token(per_token: Mapping[str, float]) -> go.Figure:
    """KiB of KV cache one token adds (all layers), one bar per attention layout."""
    fig = bar(list(per_token), [v / 1024 for v in per_token.values()], "KiB per token",
              fmt=",.1f")  # fmt: skip
    fig.update_traces(
        texttemplate=[f"{number(round(v / 1024, 1))} KiB" for v in per_token.values()]
    )
    return fig
