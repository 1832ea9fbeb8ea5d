"""Start the real app (streamlit run) and drive Debian's Chromium through Playwright."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from scripts.browser import (  # noqa: F401  (re-exported for the tests)
    CHROMIUM,
    CHROMIUM_ARGS,
    LOCAL_HOSTS,
    free_port,
    start_app,
    wait_healthy,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def app_url():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (make browser-deps)")
    proc, url = start_app()
    try:
        wait_healthy(url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Visit:
    """One browser tab that records every request's host and every page error."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.foreign: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.on("request", self._on_request)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.on("dialog", self._on_dialog)

    def _on_request(self, request) -> None:
        parsed = urlparse(request.url)
        if parsed.scheme in ("data", "blob", "about", "chrome-error"):
            return
        if parsed.hostname not in LOCAL_HOSTS:
            self.foreign.append(request.url)

    def _on_dialog(self, dialog) -> None:  # alert() from injected script would land here
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser):
    v = Visit(browser)
    yield v
    v.close()
