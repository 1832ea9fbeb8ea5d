"""Driving the real app in Debian's Chromium: start `streamlit run`, wait for a page to finish.

Shared by the browser tests (tests/browser/), `make bench` and `make preflight`.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
# Flags as the machine's probe used them: no background traffic from Chromium itself.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
QUIET_S = 0.75  # no script run for this long = the page has finished
# The browser's own clock of a render, installed before Streamlit loads: when an element was last
# added to or removed from the page (ms since the navigation started). Polling the page from here
# cannot time its end: the first poll after the title appears waits behind whatever long task the
# page runs next (drawing a chart takes ~1 s here): opens whose title appeared at the same moment
# read 1.3 s or 2.1 s.
RENDER_CLOCK = """
window.__lastChange = 0;
new MutationObserver((records) => {
  if (records.some((r) => r.addedNodes.length || r.removedNodes.length))
    window.__lastChange = performance.now();
}).observe(document, {subtree: true, childList: true});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 120.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not become healthy in {timeout} s")


def start_app(
    script: str = "app.py", port: int | None = None, env: dict | None = None, address="127.0.0.1"
):
    port = port or free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.port", str(port), "--server.address", address,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    proc_env = {
        **os.environ,
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
        **(env or {}),
    }
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=proc_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    return proc, f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_idle(page, timeout: float = 120.0, since: float | None = None) -> float:
    """Wait until the app has rendered and no script run is in progress. Returns the seconds from
    `since` (a perf_counter time; default: now) until the last run ended: the quiet window that
    confirms the end is not counted."""
    start = time.perf_counter()
    since = start if since is None else since
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    page.wait_for_selector("h1", timeout=timeout * 1000)
    quiet_since = None
    while time.perf_counter() - start < timeout:
        running = page.locator('[data-testid="stStatusWidget"]').count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since > QUIET_S:
            return quiet_since - since
        time.sleep(0.05)
    raise TimeoutError("the app kept running past the timeout")


def wait_rendered(page, timeout: float = 120.0) -> float:
    """Wait until the app has rendered by the browser's own clock (RENDER_CLOCK must be installed
    on the page): no script run in progress and no element added or removed for QUIET_S. Returns
    the seconds from the navigation's start to the last element added: the page fully drawn,
    its charts included."""
    start = time.perf_counter()
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    page.wait_for_selector("h1", timeout=timeout * 1000)
    while time.perf_counter() - start < timeout:
        running, quiet_ms, last_ms = page.evaluate(
            "() => [document.querySelector('[data-testid=\"stStatusWidget\"]') !== null,"
            " performance.now() - window.__lastChange, window.__lastChange]"
        )
        if not running and quiet_ms > QUIET_S * 1000:
            return last_ms / 1000
        time.sleep(0.05)
    raise TimeoutError("the page kept changing past the timeout")


def exceptions(page) -> list[str]:
    return page.locator('[data-testid="stException"]').all_inner_texts()


def page_url(base: str, page_file: str | None) -> str:
    if page_file is None or page_file.endswith("home.py"):
        return base + "/"
    return f"{base}/{page_file.rsplit('/', 1)[-1].removesuffix('.py')}"


def pages() -> list[str]:
    """Every page in the navigation (start pages first)."""
    from lessons.course import all_pages

    return all_pages()


def is_foreign(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "chrome-error"):
        return False
    return parsed.hostname not in LOCAL_HOSTS


def main_height(page) -> int:
    """Height in px of the page's main block (what a presenter scrolls through)."""
    return int(
        page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }"
        )
    )


@dataclass
class Open:
    """One page opened in a fresh browser session: seconds to a finished first render, and the
    server's share of them (the page's rerun request -> the last message the server sent)."""

    seconds: float | None = None
    reply_s: float | None = None
    problems: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    started: float = 0.0  # wall-clock times of the open (to match the server's run log)
    ended: float = 0.0


def open_page(
    browser,
    url: str,
    page_file: str,
    timeout: float = 300.0,
    then: Callable[[Any, str], None] | None = None,
    render_clock: bool = False,
) -> Open:
    """Open one page as a new member of the audience would (a new browser context: no cache, a
    new Streamlit session) and time it: to the first quiet moment after the title appears, or
    with `render_clock` to the last element added, by the browser's clock (`wait_rendered`).
    `then(page, name)` runs on the page before it closes."""
    name = Path(page_file).stem
    seen = Open()
    frames: list[tuple[float, str]] = []  # (seconds since goto, "sent" | "received")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    if render_clock:
        ctx.add_init_script(RENDER_CLOCK)
    ctx.on("request", lambda r: seen.foreign.append(r.url) if is_foreign(r.url) else None)
    page = ctx.new_page()
    t0 = time.perf_counter()

    def on_socket(ws) -> None:
        ws.on("framesent", lambda _f: frames.append((time.perf_counter() - t0, "sent")))
        ws.on("framereceived", lambda _f: frames.append((time.perf_counter() - t0, "received")))

    page.on("websocket", on_socket)
    seen.started = time.time()
    page.goto(page_url(url, page_file))
    try:
        if render_clock:
            seen.seconds = round(wait_rendered(page, timeout=timeout), 2)
        else:
            seen.seconds = round(wait_idle(page, timeout=timeout, since=t0), 2)
        done = list(frames)  # frames up to the finished render (not those `then` causes)
        sent = [t for t, kind in done if kind == "sent"]
        received = [t for t, kind in done if kind == "received"]
        if sent and received:
            seen.reply_s = round(received[-1] - sent[0], 2)
        seen.ended = time.time()
        if then is not None:
            then(page, name)
    except Exception as exc:  # a timeout is a finding, not a crash of the whole tour
        seen.problems.append(f"{name}: {type(exc).__name__}")
    seen.problems += [f"{name}: {e[:200]}" for e in exceptions(page)]
    ctx.close()
    return seen


@dataclass
class Tour:
    """What one pass over every page saw: seconds to a finished first render per page, each
    open whole, and what went wrong (exceptions, timeouts, requests that left localhost)."""

    open_s: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    opens: dict[str, Open] = field(default_factory=dict)  # each page's open, whole

    def add(self, name: str, seen: Open) -> None:
        self.opens[name] = seen
        if seen.seconds is not None:
            self.open_s[name] = seen.seconds
        self.problems += seen.problems
        self.foreign += seen.foreign


def tour(
    browser,
    url: str,
    timeout: float = 300.0,
    then: Callable[[Any, str], None] | None = None,
    page_files: list[str] | None = None,
) -> Tour:
    """Open every page (or `page_files`) in a fresh browser session, as a new member of the
    audience would, and time it to a finished render; `then(page, name)` runs on each page
    before it closes."""
    seen = Tour()
    for page_file in page_files or pages():
        seen.add(Path(page_file).stem, open_page(browser, url, page_file, timeout, then))
    return seen
