"""AppTest helpers shared by the page tests: open a page through the real router, and fail on
anything a user would see as broken.

A page that cannot load its model shows `st.error` and stops (ui.models.get_model): to AppTest that
is not an exception, so `assert_ok` fails on any `st.error` and `st.exception` too, unless the test
names the error it expects.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = ROOT / "app.py"


def open_page(page: str, timeout: float = 240, check: bool = True) -> AppTest:
    """Run app.py (router, sidebar, network check), then switch to `page` as a user would.
    With `check`, fail at once if the first render shows an exception or an error."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    if page != "views/home.py":
        at.switch_page(page)
        at.run()
    if check:
        assert_ok(at)
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def assert_ok(at: AppTest, expect_error: str | None = None) -> None:
    """No exception; no st.error either, except ones matching the regex `expect_error`."""
    assert not at.exception, [e.value for e in at.exception]
    unexpected = [e for e in errors(at) if not (expect_error and re.search(expect_error, e))]
    assert not unexpected, unexpected


def html_of(at: AppTest) -> str:
    """Every st.html body on the page, joined (to check escaping)."""
    return " ".join(h.proto.body for h in at.get("html"))


def click(
    at: AppTest, key: str, timeout: float | None = None, expect_error: str | None = None
) -> AppTest:
    """Press the button `key` and rerun; then the page must still be free of errors (except
    ones matching `expect_error`: a run that fails at once shows its message on this rerun)."""
    at.button(key=key).click().run(timeout=timeout)
    assert_ok(at, expect_error)
    return at


def texts(at: AppTest, container=None) -> str:
    """All markdown, captions, metrics and code shown in `container` (default: the main area)."""
    root = container if container is not None else at.main
    parts = [m.value for m in root.markdown] + [c.value for c in root.caption]
    parts += [f"{m.label} {m.value}" for m in root.metric] + [c.value for c in root.code]
    parts += [s.value for s in root.success] + [i.value for i in root.info]
    parts += [w.value for w in root.warning]
    return "\n".join(str(p) for p in parts)


def train_on_page(
    at: AppTest,
    key: str,
    timeout: float = 120,
    until: Callable[[list[dict]], bool] | None = None,
    states: tuple[str, ...] = ("done",),
):
    """Press the training panel `key`'s button and keep the run alive as a watching user's page
    would (`job.beat()`), until it ends, `timeout` passes or `until(rows)` holds (then stop it);
    rerun the page and check it shows no error. Returns the job."""
    import time

    click(at, f"go::{key}")
    job = at.session_state[f"job::{key}"]
    end = time.monotonic() + timeout
    while not job.finished and time.monotonic() < end:
        job.beat()  # what the page's polling fragment does while a user watches
        if until is not None and until(job.snapshot()):
            job.stop()
        job.join(0.5)
    job.join(60)
    assert job.state in states, (job.state, job.error, job.stop_reason)
    at.run()
    assert_ok(at)
    return job
