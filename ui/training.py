"""The training panel: one way for every page to run, watch and harvest a background training.

    result = training_panel(
        "sent",                                   # the session key of this run
        work=lambda rep: sent.run_training(rows, arch, size, budget - 1, rep),
        budget_s=budget,
        curves=fig_sent.training_curves,          # rows -> go.Figure | None (figures/)
        caption=fig_sent.training_caption,        # rows -> str | None
    )
    if result is not None: ...render what the run produced...

`work` receives the job as its `models.training.Reporter`. The panel renders the start button,
"waiting for a free slot", the progress against the budget, a stop button, live curves from the
logged rows (polled once a second in a fragment, so only the panel reruns) and returns the result
once the run is over. A run lives in the user's session (never a shared cache) and stops itself
when nobody watches (the fragment's poll is its heartbeat).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import streamlit as st

from models import jobs
from models.training import Reporter

Rows = list[dict[str, Any]]


def _state_key(key: str) -> str:
    return f"job::{key}"


def current(key: str) -> jobs.Job | None:
    return st.session_state.get(_state_key(key))


def start(key: str, name: str, work: Callable[[Reporter], Any], budget_s: float) -> jobs.Job:
    """Start `work` as the session's run `key` (a run already going under that key stops)."""
    old = current(key)
    if old is not None and not old.finished:
        old.stop("replaced by a new run")
    job = jobs.start(name, work, budget_s=budget_s)
    st.session_state[_state_key(key)] = job
    return job


def result(key: str) -> Any:
    """What the session's run `key` returned, once it is over (None before, or if it failed)."""
    job = current(key)
    return job.result if job is not None and job.finished else None


def _status(job: jobs.Job) -> None:
    if job.state in ("queued", "waiting"):
        st.info(
            "Waiting for a free compute slot: another session is training or generating. "
            "Your run starts as soon as it finishes.",
            icon=":material/hourglass_top:",
        )
    elif job.state == "running":
        st.progress(
            job.fraction, text=f"{job.message} · {job.elapsed:.0f} s of {job.budget_s:.0f} s"
        )
    elif job.state == "done":
        st.success(f"Finished in {job.elapsed:.1f} s.", icon=":material/check_circle:")
    elif job.state in ("stopped", "timeout"):
        st.warning(f"Stopped after {job.elapsed:.1f} s: {job.stop_reason}.", icon=":material/stop:")
    elif job.state == "failed":
        st.error(f"The run failed: {job.error}", icon=":material/error:")


def live(
    key: str,
    curves: Callable[[Rows], Any] | None = None,
    caption: Callable[[Rows], str | None] | None = None,
    extra: Callable[[Rows], None] | None = None,
    waiting_text: str = "The first measurement appears after the first evaluation.",
) -> jobs.Job | None:
    """Poll the session's run `key` once a second while it runs and draw it: status, stop
    button, `curves(rows)` (a plotly figure or None), `caption(rows)`, then `extra(rows)`."""
    job = current(key)
    if job is None:
        return None
    running = not job.finished

    @st.fragment(run_every=timedelta(seconds=1) if running else None)
    def _poll() -> None:
        job.beat()
        _status(job)
        if not job.finished and st.button("Stop", key=f"stop::{key}", icon=":material/stop:"):
            job.stop()
        rows = job.snapshot()
        fig = curves(rows) if curves else None
        if fig is not None:
            st.plotly_chart(fig, width="stretch", key=f"curves::{key}")
        elif running and curves:
            st.caption(waiting_text)
        text = caption(rows) if caption else None
        if text:
            st.caption(text)
        if extra:
            extra(rows)
        if running and job.finished:
            st.rerun()  # one full rerun: the page shows the final results and polling ends

    _poll()
    return job


def training_panel(
    key: str,
    *,
    work: Callable[[Reporter], Any],
    budget_s: float,
    name: str | None = None,
    button: str = "Train",
    disabled: bool = False,
    idle_text: str | None = "Choose the settings, then press the button to train.",
    curves: Callable[[Rows], Any] | None = None,
    caption: Callable[[Rows], str | None] | None = None,
    extra: Callable[[Rows], None] | None = None,
) -> Any:
    """Start button + live run + the result. Returns the finished run's result, else None."""
    if st.button(
        button, type="primary", icon=":material/play_arrow:", disabled=disabled, key=f"go::{key}"
    ):
        start(key, name or key, work, budget_s)
    if current(key) is None:
        if idle_text:
            st.info(idle_text, icon=":material/play_arrow:")
        return None
    live(key, curves=curves, caption=caption, extra=extra)
    return result(key)


@contextlib.contextmanager
def busy_slot(timeout: float = 60.0, what: str = "this") -> Iterator[bool]:
    """Hold the global compute slot for a synchronous heavy call (a long generation, a
    benchmark). Yields False, after saying so on the page, when the machine stays busy."""
    with jobs.slot(timeout=timeout) as ok:
        if not ok:
            st.warning(
                f"The machine is busy with another session's run; try {what} again in a minute.",
                icon=":material/hourglass_top:",
            )
        yield ok


def prepared_note(name: str) -> bool:
    """Say how the prepared state `name` was made (command, data, time, result), or that it is
    missing and how to make it. Returns whether it is there."""
    from models import prepared

    rec = prepared.record(name)
    if rec is None:
        s = prepared.step(name)
        st.info(
            f"{s.title} has not been prepared on this machine: run `make prepare` "
            f"(about {s.minutes:g} min), or train live below.",
            icon=":material/hourglass_empty:",
        )
        return False
    from ui.page import presenter

    result = ", ".join(f"{k} {v}" for k, v in rec.result.items() if not isinstance(v, dict | list))
    if presenter():  # a projector: the page's own figures show the result
        st.caption(f":material/inventory_2: Opened on **{rec.title}**, trained by the project's "
                   f"own command in {rec.seconds / 60:.1f} min ({rec.host}).")  # fmt: skip
        with st.expander("How it was made", icon=":material/terminal:"):
            st.caption(f"On {rec.data}, {rec.created}: {result}")
            st.code(rec.command, language="bash", wrap_lines=True)
        return True
    st.caption(
        f":material/inventory_2: Opened on **{rec.title}**, trained by the project's own command "
        f"on {rec.data} in {rec.seconds / 60:.1f} min ({rec.host}, {rec.created}): {result}"
    )
    st.code(rec.command, language="bash", wrap_lines=True)
    return True
