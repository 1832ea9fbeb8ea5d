"""Waiting for Streamlit in a real browser."""

from __future__ import annotations

import time


def wait_idle(page, timeout: float = 120.0) -> float:
    """Wait until the app has rendered and no script run is in progress; return seconds."""
    start = time.perf_counter()
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    page.wait_for_selector("h1", timeout=timeout * 1000)
    quiet_since = None
    while time.perf_counter() - start < timeout:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since > 0.75:
            return time.perf_counter() - start
        time.sleep(0.1)
    raise TimeoutError("the app kept running past the timeout")


def exceptions(page) -> list[str]:
    return page.locator('[data-testid="stException"]').all_inner_texts()


def page_url(base: str, page_file: str | None) -> str:
    if page_file is None or page_file.endswith("home.py"):
        return base + "/"
    return f"{base}/{page_file.rsplit('/', 1)[-1].removesuffix('.py')}"


def type_into(page, label: str, text: str) -> None:
    """Fill a Streamlit text box by its label and submit it (Ctrl+Enter), then wait."""
    box = page.get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Control+Enter")
    page.wait_for_timeout(300)
    wait_idle(page)
