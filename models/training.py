"""The trainer protocol: what every training loop in the gallery reports to, and who listens.

A trainer is a plain function `train(cfg, ..., reporter) -> Result` (minGPT's trainer with
callbacks, in spirit). Between steps it calls
    reporter.check()                  # raises Stopped: stop button, time budget, page left
    reporter.log(step=…, loss=…)      # one metric row; the page draws its curves from these rows
    reporter.progress(frac, "msg")    # 0..1 and a short status line
It never knows who listens. Three reporters exist:
- `models.jobs.Job`: a background job behind the page's training panel (`ui.training`);
- `CliReporter`: JSON lines on stdout for `python -m models.<name> train`, printed by rank zero
  only, with its own deadline (`--minutes`);
- `Recorder`: keeps rows in memory (tests, `make prepare`, nested runs).
So the page and the command line run the same code.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Protocol, TextIO, runtime_checkable


class Stopped(Exception):
    """Raised inside a trainer when it must stop (stop click, budget, lease expired)."""


@runtime_checkable
class Reporter(Protocol):
    def log(self, **metrics: Any) -> None: ...

    def progress(self, fraction: float, message: str = "") -> None: ...

    def should_stop(self) -> bool: ...

    def check(self) -> None: ...


def rank() -> int:
    """This process's global rank (0 when alone): torch.distributed when it is initialised, else
    the launcher's variables (torchrun, Lightning, accelerate, SLURM), else the rank Lightning
    recorded when it was imported."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    for name in ("RANK", "GLOBAL_RANK", "SLURM_PROCID", "LOCAL_RANK"):
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    rz = sys.modules.get("lightning_utilities.core.rank_zero")
    if rz is not None and getattr(rz.rank_zero_only, "rank", None) is not None:
        return int(rz.rank_zero_only.rank)
    return 0


def is_rank_zero() -> bool:
    return rank() == 0


def print_json(row: dict[str, Any], stream: TextIO | None = None) -> None:
    """One JSON line on rank zero only (every rank of a distributed run executes the CLI)."""
    if is_rank_zero():
        print(json.dumps(row), file=stream or sys.stdout, flush=True)


class Recorder:
    """A reporter that keeps everything in memory and stops at an optional deadline."""

    def __init__(self, budget_s: float | None = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self.fraction = 0.0
        self.message = ""
        self.started = time.monotonic()
        self.budget_s = budget_s
        self.stopped_reason: str | None = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, **metrics: Any) -> None:
        metrics.setdefault("t", round(self.elapsed, 3))
        self.rows.append(metrics)

    def progress(self, fraction: float, message: str = "") -> None:
        self.fraction = min(1.0, max(0.0, fraction))
        if message:
            self.message = message

    def should_stop(self) -> bool:
        if self.budget_s is not None and self.elapsed > self.budget_s:
            self.stopped_reason = self.stopped_reason or f"time budget of {self.budget_s:g} s"
            return True
        return False

    def check(self) -> None:
        if self.should_stop():
            raise Stopped(self.stopped_reason or "stopped")


class CliReporter(Recorder):
    """JSON lines on stdout (rank zero only): every logged row, and progress every `every_s`."""

    def __init__(self, budget_s: float | None = None, every_s: float = 10.0) -> None:
        super().__init__(budget_s)
        self.every_s = every_s
        self._last_progress = 0.0

    def log(self, **metrics: Any) -> None:
        super().log(**metrics)
        print_json(self.rows[-1])

    def progress(self, fraction: float, message: str = "") -> None:
        super().progress(fraction, message)
        if is_rank_zero() and time.monotonic() - self._last_progress >= self.every_s:
            self._last_progress = time.monotonic()
            line = f"[{self.elapsed:6.0f} s] {self.fraction:5.1%} {self.message}"
            print(line, file=sys.stderr, flush=True)
