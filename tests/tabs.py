"""Lazy tabs in AppTest: open one as a user would (a candidate for tests/apptest.py)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.apptest import assert_ok


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Select the tab `label` of the `ui.page.lazy_tabs` under session key `key`, rerun, and
    check the page is still free of errors."""
    at.session_state[key] = label
    at.run()
    assert_ok(at)
    return at
