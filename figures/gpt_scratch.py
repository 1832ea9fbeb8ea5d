"""Figures of Project 4: loss curves from the trainer's logged rows (with the loss of guessing),
the run's caption, and the latest sample it wrote."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from figures import curves as _curves
from figures import last_logged, number

Rows = Sequence[dict[str, Any]]


def loss_curves(rows: Rows, uniform: float | None = None) -> go.Figure | None:
    """Train and validation loss per evaluation; a dotted line at ln V, the uniform guess."""
    fig = _curves(
        [r for r in rows if "val_loss" in r],
        "iter",
        {"train_loss": "train", "val_loss": "validation"},
        x_title="step",
        y_title="loss (nats per character)",
    )
    if fig is not None and uniform is not None:
        fig.add_hline(
            y=uniform,
            line={"dash": "dot", "color": "#6b7280"},
            annotation_text=f"guessing: ln V = {uniform:.2f}",
            annotation_position="top right",
        )
    return fig


def caption(rows: Rows) -> str | None:
    last = last_logged(rows, "val_loss")
    if last is None:
        return None
    text = f"step {number(last['iter'])} · validation loss {last['val_loss']:.3f}"
    if "tokens_per_s" in last:
        text += f" · {number(round(last['tokens_per_s']))} characters/s"
    if "ms_per_iter" in last:
        text += f" · {last['ms_per_iter']:.1f} ms per step"
    if "mfu" in last:
        text += f" · MFU {100 * last['mfu']:.1f}% of 989 TFLOP/s"
    return text


def latest_sample(rows: Rows) -> tuple[int, str, int] | None:
    """(step, text, how many samples so far) of the newest sample in the rows, or None."""
    samples = [r for r in rows if r.get("sample")]
    if not samples:
        return None
    return samples[-1]["iter"], samples[-1]["sample"], len(samples)
