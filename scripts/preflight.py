"""`make preflight`: everything a talk needs, checked and warmed, with a green/red list.

    python -m scripts.preflight [--url http://host:port] [--no-serve] [--skip-prepare]

1. network: is the Hub reachable (offline is fine: say so);
2. models: load every embedded model and every prepared one that exists (converting once);
3. prepared states: build the missing ones with the projects' own commands (`make prepare`);
4. fast engine: llama.cpp installed, one short streamed answer with its tokens/s;
5. Ollama: when OLLAMA_HOST is set, the server answers and lists its models;
6. pages: start the app (or use --url), open every page in headless Chromium (this fills the
   server's model and result caches), then open each again in a new session: that second time is
   the first open a talk's audience gets. It must be within the page's warm render time, which
   --warm-opens more opens of it measure seconds later (block by block, see
   models.preflight_checks.open_schedule). The server
   it starts logs its own script runs ($GALLERY_RUN_LOG; --run-log names the file of a --url
   server that does), so the line is red when a first open cost the server more than a warm one
   (see time_first_opens).
Then, unless --no-serve or --url, it keeps serving the warmed app (Ctrl-C to stop): open the
printed address for the talk. The report is also saved (GALLERY_CACHE/preflight.json) and shown on
the app's "Talk preflight" page.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import preflight_checks as checks  # noqa: E402


@dataclass
class Line:
    name: str
    ok: bool
    seconds: float
    detail: str


def _run(name: str, fn: Callable[[], tuple[bool, str]], lines: list[Line]) -> None:
    t0 = time.perf_counter()
    try:
        ok, detail = fn()
    except Exception as exc:  # a check that crashes is a red line, not a crashed preflight
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    line = Line(name, ok, round(time.perf_counter() - t0, 1), detail)
    lines.append(line)
    mark = "\033[32m✔\033[0m" if ok else "\033[31m✘\033[0m"
    print(f"{mark} {name:<16} {line.seconds:6.1f} s  {detail}", flush=True)


def warm_pages(url: str, warm_opens: int = 2, run_log: str | None = None) -> tuple[bool, str, dict]:
    """Every page, warmed and timed in headless Chromium (see `time_first_opens`)."""
    from playwright.sync_api import sync_playwright

    from scripts.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return time_first_opens(browser, url, warm_opens, run_log=run_log)
        finally:
            browser.close()


def time_first_opens(
    browser,
    url: str,
    warm_opens: int = 2,
    page_files: list[str] | None = None,
    run_log: str | None = None,
) -> tuple[bool, str, dict]:
    """Open every page (or `page_files`) once in a fresh browser session: this warms the server.
    Then, block by block (`checks.open_schedule`), each page's first open by a new session, the
    audience's, and `warm_opens` more opens of it: its warm render time. A first open and its
    warm opens are seconds apart and follow the same page (opening one page several times in a
    row flatters the later opens: measured here, the first of five back-to-back opens of a page
    was its slowest on most pages, the server's share the same). With `run_log` (the file the
    server was started with as $GALLERY_RUN_LOG), each open's server share is the server's own
    logged script time. Every open is timed by the browser's own clock, to the last element added
    to the page (`scripts.browser.wait_rendered`).

    Red when a page's first open cost the server more than its warm opens (something was not
    warm), or, without a server log, when its first open in the browser was slower than its warm
    render beyond one open's spread. A first open slower only in the browser, the server's share
    warm, is listed (the preflight cannot warm the audience's browser) but is not red.
    Returns (green, the line's detail, the report's page timings)."""
    import statistics

    from models.runtime import read_run_log
    from scripts.browser import Open, Tour, open_page, pages

    page_files = page_files or pages()
    warming, audience = Tour(), Tour()  # each page's warming open; the audience's first open
    warm: dict[str, list[Open]] = {}  # page -> its warm opens, in order
    problems, foreign = [], []  # of every open, the untimed primers' too
    for page_file, role in checks.open_schedule(page_files, warm_opens):
        name = Path(page_file).stem
        seen = open_page(browser, url, page_file, timeout=600, render_clock=True)
        problems += seen.problems
        foreign += seen.foreign
        if role == "warming":
            warming.add(name, seen)
        elif role == "first":
            audience.add(name, seen)
        elif role == "warm":
            warm.setdefault(name, []).append(seen)
    opens: dict[str, tuple[Open, list[Open]]] = {  # page -> (first open, its warm opens)
        name: (first, warm.get(name, [])) for name, first in audience.opens.items()
    }
    runs = read_run_log(run_log) if run_log else []

    def server(name: str, seen: Open) -> float | None:
        if runs:
            return checks.server_seconds(runs, name, seen.started, seen.ended)
        return seen.reply_s  # the browser's view: the rerun request to the server's last message

    first_s, warm_s, first_server, warm_server = {}, {}, {}, {}
    for name, (first, later) in opens.items():
        if first.seconds is not None:
            first_s[name] = first.seconds
        if (share := server(name, first)) is not None:
            first_server[name] = share
        warm_s[name] = [w.seconds for w in later if w.seconds is not None]
        warm_server[name] = [v for w in later if (v := server(name, w)) is not None]
    slack = checks.open_slack(warm_s)
    slower = checks.first_open_slower(first_s, warm_s, slack)
    cold = checks.server_slower(first_server, warm_server) if runs else {}
    slowest = max(first_s, key=first_s.get) if first_s else "-"
    red_pages = cold if runs else slower
    ok = not problems and not foreign and not red_pages and len(first_s) == len(page_files)
    parts = [f"{len(first_s)} pages; first open max {first_s.get(slowest, 0):.1f} s ({slowest})"]
    if cold:
        parts.append("cold on the server: " + ", ".join(
            f"{p} {a:.2f} s vs {w:.2f} s" for p, (a, w) in cold.items()))  # fmt: skip
    elif runs:
        parts.append("the server's share of every first open as warm as its warm opens")
    else:
        parts.append("server share not logged (the app was not started by the preflight)")
    if slower:
        parts.append(f"slower than warm in the browser (x{slack}): " + ", ".join(
            f"{p} {a:.2f} s vs {w:.2f} s" for p, (a, w) in slower.items()))  # fmt: skip
    else:
        parts.append(f"each within its warm render (x{slack} of {warm_opens} warm opens each)")
    if problems:
        parts.append("problems: " + "; ".join(problems[:4]))
    if foreign:
        parts.append(f"{len(foreign)} requests left localhost")
    report = {
        "warming_open_s": warming.open_s,
        "audience_open_s": first_s,
        "warm_open_s": {p: round(statistics.median(v), 2) for p, v in warm_s.items() if v},
        "warm_opens": warm_opens,
        "render_clock": True,  # each open timed by the browser's clock, to its last element
        "open_spread": round(checks.open_spread(warm_s), 3),  # one open's, relative
        "open_slack": slack,
        "server_logged": bool(runs),
        "audience_server_s": first_server,
        "warm_server_s": {p: round(statistics.median(v), 3) for p, v in warm_server.items() if v},
        "first_open_slower": sorted(slower),
        "first_open_cold": sorted(cold),
    }
    return ok, "; ".join(parts), report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.preflight", description=__doc__)
    ap.add_argument("--url", help="warm this running app instead of starting one")
    ap.add_argument("--no-serve", action="store_true", help="stop after the checks")
    ap.add_argument("--skip-prepare", action="store_true", help="do not train missing states")
    ap.add_argument("--warm-opens", type=int, default=2, help="warm opens per page after its first")
    ap.add_argument("--run-log", help="the $GALLERY_RUN_LOG file the --url app writes")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8501")))
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    lines: list[Line] = []
    print("Talk preflight", flush=True)
    _run("network", checks.network_check, lines)
    if not args.skip_prepare:
        _run("prepared states", checks.prepared_states, lines)
    _run("models", checks.models_check, lines)
    _run("fast engine", checks.fast_engine, lines)
    _run("ollama", checks.ollama_check, lines)

    from scripts.browser import start_app, stop, wait_healthy

    proc = None
    url, run_log = args.url, args.run_log
    if url is None:  # our own server, asked to log its script runs (their own share of an open)
        run_log = str(checks.report_path().with_name("preflight-runs.jsonl"))
        Path(run_log).unlink(missing_ok=True)
        env = {"GALLERY_RUN_LOG": run_log}
        proc, url = start_app(port=args.port, address="0.0.0.0", env=env)
        wait_healthy(url, timeout=180)
    pages_report: dict = {}

    def pages_check() -> tuple[bool, str]:
        ok, detail, report = warm_pages(url, max(1, args.warm_opens), run_log)
        pages_report.update(report)
        return ok, detail

    _run("pages", pages_check, lines)
    total = round(time.perf_counter() - t_start, 1)
    report = {
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "total_s": total,
        "all_ok": all(line.ok for line in lines),
        "lines": [asdict(line) for line in lines],
        **pages_report,
    }
    checks.save_report(report)
    verdict = "all green" if report["all_ok"] else "RED lines above: fix them before the talk"
    print(f"Preflight done in {total:.0f} s: {verdict}.", flush=True)
    if proc is None:
        return 0 if report["all_ok"] else 1
    if args.no_serve:
        stop(proc)
        return 0 if report["all_ok"] else 1
    print(f"Serving the warmed app at http://localhost:{args.port} (Ctrl-C to stop).", flush=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        stop(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
