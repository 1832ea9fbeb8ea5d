"""Long work (training, long generation) off the Streamlit script thread.

A widget click reruns (and so kills) the script, so a live training cannot run in it. A `Job`
runs in a daemon thread with:
- a global slot (semaphore): two cores are not oversubscribed by two sessions training at once;
  a job shows "waiting for a free slot" until it gets one;
- a time budget and a stop event, checked by the work between steps;
- a heartbeat lease: the page's polling fragment calls `job.beat()`; if nobody has looked for
  `lease_s` seconds (the user left the page or closed the tab) the job stops itself.
A `Job` is a `models.training.Reporter`: trainers call `job.check()`, `job.log(...)` and
`job.progress(...)` and never know they run behind a page. Metrics are appended to a list the
page reads; nothing here imports Streamlit.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from models.training import Stopped

SLOTS = max(1, int(os.environ.get("GALLERY_SLOTS", "1")))
_slot = threading.BoundedSemaphore(SLOTS)
_active: set[Job] = set()
_active_lock = threading.Lock()


@dataclass(eq=False)
class Job:
    name: str
    budget_s: float
    lease_s: float | None = 30.0
    state: str = "queued"  # queued | waiting | running | done | stopped | timeout | failed
    message: str = ""
    fraction: float = 0.0  # 0..1, what the trainer last reported
    metrics: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    started_at: float | None = None  # when the slot was acquired
    finished_at: float | None = None
    stop_reason: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _timed_out: bool = field(default=False, repr=False)
    _last_beat: float = field(default_factory=time.monotonic, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- called by the page -------------------------------------------------------------
    def stop(self, reason: str = "stopped by the user") -> None:
        self.stop_reason = self.stop_reason or reason
        self._stop.set()

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "stopped", "timeout", "failed")

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.metrics)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # --- called by the work -------------------------------------------------------------
    def should_stop(self) -> bool:
        if self._stop.is_set():
            return True
        if self.started_at is not None and time.monotonic() - self.started_at > self.budget_s:
            self.stop_reason = self.stop_reason or f"time budget of {self.budget_s:g} s reached"
            self._timed_out = True  # "timeout" once the work has returned its result: _run
            self._stop.set()
            return True
        if self.lease_s is not None and time.monotonic() - self._last_beat > self.lease_s:
            self.stop_reason = self.stop_reason or "nobody is watching (page left); stopped"
            self._stop.set()
            return True
        return False

    def check(self) -> None:
        """Raise Stopped when the job must stop; call it between steps."""
        if self.should_stop():
            raise Stopped(self.stop_reason or "stopped")

    def log(self, **values: Any) -> None:
        values.setdefault("t", round(self.elapsed, 3))
        with self._lock:
            self.metrics.append(values)

    def progress(self, fraction: float, message: str = "") -> None:
        self.fraction = min(1.0, max(0.0, fraction))
        if message:
            self.message = message


def _run(job: Job, work: Callable[[Job], Any]) -> None:
    job.state = "waiting"
    job.message = "waiting for a free compute slot…"
    acquired = False
    try:
        while not acquired:
            acquired = _slot.acquire(timeout=0.2)
            if not acquired and (job._stop.is_set() or _lease_expired(job)):
                job.state = "stopped"
                job.stop_reason = job.stop_reason or "stopped while waiting for a slot"
                return
        job.started_at = time.monotonic()
        job.state = "running"
        job.message = "running"
        job.result = work(job)
        if job.state == "running":  # finished only now, with the result in place
            job.state = _ended(job) if job._stop.is_set() else "done"
    except Stopped:
        if job.state == "running":
            job.state = _ended(job)
    except Exception as exc:  # shown to the user as a message, logged in full
        job.state = "failed"
        job.error = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    finally:
        job.finished_at = time.monotonic()
        if acquired:
            _slot.release()
        with _active_lock:
            _active.discard(job)


def _ended(job: Job) -> str:
    return "timeout" if job._timed_out else "stopped"


def _lease_expired(job: Job) -> bool:
    return job.lease_s is not None and time.monotonic() - job._last_beat > job.lease_s


def start(
    name: str, work: Callable[[Job], Any], budget_s: float, lease_s: float | None = 30.0
) -> Job:
    """Start `work(job)` in a daemon thread; the job is the work's `Reporter`."""
    job = Job(name=name, budget_s=budget_s, lease_s=lease_s)
    thread = threading.Thread(target=_run, args=(job, work), name=f"job:{name}", daemon=True)
    job._thread = thread
    with _active_lock:
        _active.add(job)
    thread.start()
    return job


def active_jobs() -> list[Job]:
    with _active_lock:
        return list(_active)


@contextlib.contextmanager
def slot(timeout: float = 60.0) -> Iterator[bool]:
    """Synchronous use of the global slot (e.g. a long generation). Yields False on timeout,
    in which case the caller should say the machine is busy rather than run."""
    got = _slot.acquire(timeout=timeout)
    try:
        yield got
    finally:
        if got:
            _slot.release()


def slot_busy() -> bool:
    if _slot.acquire(blocking=False):
        _slot.release()
        return False
    return True
