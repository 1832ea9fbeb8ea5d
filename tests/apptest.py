"""AppTest helpers shared by the page tests: open a page through the real router."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = ROOT / "app.py"


def open_page(page: str, timeout: float = 240) -> AppTest:
    """Run app.py (router, sidebar, network check), then switch to `page` as a user would."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    if page != "views/home.py":
        at.switch_page(page)
        at.run()
    return at


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def html_of(at: AppTest) -> str:
    """Every st.html body on the page, joined (to check escaping)."""
    return " ".join(h.proto.body for h in at.get("html"))
