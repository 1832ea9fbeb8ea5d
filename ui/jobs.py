"""Render a background `models.jobs.Job`: state, progress, stop button, live figures.

`live_job(key, draw)` polls once a second inside a fragment (only the fragment reruns), beats the
job's heartbeat so it keeps running while the page is open, and calls `draw(job)` to render
curves from `job.snapshot()`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import streamlit as st

from models import jobs


def current(key: str) -> jobs.Job | None:
    return st.session_state.get(f"job::{key}")


def start(key: str, name: str, work: Callable[[jobs.Job], object], budget_s: float) -> jobs.Job:
    old = current(key)
    if old is not None and not old.finished:
        old.stop("replaced by a new run")
    job = jobs.start(name, work, budget_s=budget_s)
    st.session_state[f"job::{key}"] = job
    return job


def _status(job: jobs.Job) -> None:
    if job.state == "waiting":
        st.info(
            "Waiting for a free compute slot: another session is training or generating. "
            "Your run starts as soon as it finishes.",
            icon=":material/hourglass_top:",
        )
    elif job.state == "running":
        st.progress(
            job.progress, text=f"{job.message} · {job.elapsed:.0f} s of {job.budget_s:.0f} s"
        )
    elif job.state == "done":
        st.success(f"Finished in {job.elapsed:.1f} s.", icon=":material/check_circle:")
    elif job.state in ("stopped", "timeout"):
        st.warning(f"Stopped after {job.elapsed:.1f} s: {job.stop_reason}.", icon=":material/stop:")
    elif job.state == "failed":
        st.error(f"The run failed: {job.error}", icon=":material/error:")


def live_job(key: str, draw: Callable[[jobs.Job], None]) -> None:
    """Poll the session's job `key` once a second while it runs; draw its figures."""
    job = current(key)
    if job is None:
        return
    running = not job.finished

    @st.fragment(run_every=timedelta(seconds=1) if running else None)
    def _poll() -> None:
        job.beat()
        _status(job)
        if not job.finished and st.button("Stop", key=f"stop::{key}", icon=":material/stop:"):
            job.stop()
        draw(job)
        if running and job.finished:
            st.rerun()  # one full rerun: the page shows final results and polling ends

    _poll()
