"""The background job runner: slot queueing, stop, budget, lease, failure message."""

from __future__ import annotations

import time

from models import jobs


def _loop(job: jobs.Job) -> int:
    steps = 0
    while True:
        job.check()
        steps += 1
        job.log(step=steps)
        time.sleep(0.01)


def test_stop_click_ends_the_thread():
    job = jobs.start("t-stop", _loop, budget_s=30)
    time.sleep(0.2)
    job.stop()
    job.join(5)
    assert not job.alive
    assert job.state == "stopped" and job.stop_reason == "stopped by the user"
    assert job.snapshot() and job.snapshot()[-1]["step"] >= 1


def test_budget_ends_the_thread():
    job = jobs.start("t-budget", _loop, budget_s=0.3)
    job.join(5)
    assert not job.alive and job.state == "timeout"
    assert "budget" in job.stop_reason


def test_a_job_past_its_budget_is_finished_only_with_its_result_in_place():
    """Work that stops on its budget and then wraps up (a last evaluation, building the model it
    returns) is not "finished" until it has returned: a page that sees it finished shows the
    result, and polling ends."""
    wrapping_up = []

    def work(job: jobs.Job) -> str:
        while not job.should_stop():
            time.sleep(0.01)
        wrapping_up.append(job.finished)
        time.sleep(0.3)  # the final evaluation
        return "the trained model"

    job = jobs.start("t-wrap", work, budget_s=0.2)
    deadline = time.monotonic() + 5
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.01)
    assert wrapping_up == [False]
    assert job.state == "timeout" and job.result == "the trained model"


def test_lease_expiry_stops_a_job_nobody_watches():
    job = jobs.start("t-lease", _loop, budget_s=30, lease_s=0.3)
    job.join(5)
    assert not job.alive and job.state == "stopped"
    assert "nobody is watching" in job.stop_reason


def test_second_job_waits_for_the_slot():
    first = jobs.start("t-first", _loop, budget_s=30)
    time.sleep(0.1)
    second = jobs.start("t-second", _loop, budget_s=30)
    time.sleep(0.3)
    assert first.state == "running"
    assert second.state == "waiting" and "slot" in second.message
    first.stop()
    first.join(5)
    deadline = time.monotonic() + 5
    while second.state != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert second.state == "running"
    second.stop()
    second.join(5)
    assert not first.alive and not second.alive


def test_failure_is_reported_as_a_message():
    def boom(job):
        raise ValueError("bad data row 3")

    job = jobs.start("t-fail", boom, budget_s=5)
    job.join(5)
    assert job.state == "failed" and job.error == "ValueError: bad data row 3"
    assert not jobs.slot_busy()
