"""`make preflight`: everything a talk needs, checked and warmed, with a green/red list.

    python -m scripts.preflight [--url http://host:port] [--no-serve] [--skip-prepare]

1. network: is the Hub reachable (offline is fine: say so);
2. models: load every embedded model and every prepared one that exists (converting once);
3. prepared states: build the missing ones with the projects' own commands (`make prepare`);
4. fast engine: llama.cpp installed, one short streamed answer with its tokens/s;
5. Ollama: when OLLAMA_HOST is set, the server answers and lists its models;
6. pages: start the app (or use --url), open every page in headless Chromium (this fills the
   server's model and result caches), then open each again in a new session: that second time is
   the first open a talk's audience gets, and it must be as fast as a warm render.
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


def warm_pages(url: str) -> tuple[bool, str, dict]:
    """Open every page twice in fresh browser sessions; report the second (audience) open."""
    from playwright.sync_api import sync_playwright

    from scripts.browser import CHROMIUM, CHROMIUM_ARGS, pages, tour

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        warming = tour(browser, url, timeout=600)
        audience = tour(browser, url, timeout=600)
        browser.close()
    first, second = warming.open_s, audience.open_s
    problems = warming.problems + audience.problems
    foreign = warming.foreign + audience.foreign
    slowest = max(second, key=second.get) if second else "-"
    ok = not problems and not foreign and len(second) == len(pages())
    detail = (
        f"{len(second)} pages; audience first open max {second.get(slowest, 0):.1f} s ({slowest})"
        + (f"; problems: {'; '.join(problems[:4])}" if problems else "")
        + (f"; {len(foreign)} requests left localhost" if foreign else "")
    )
    return ok, detail, {"warming_open_s": first, "audience_open_s": second}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.preflight", description=__doc__)
    ap.add_argument("--url", help="warm this running app instead of starting one")
    ap.add_argument("--no-serve", action="store_true", help="stop after the checks")
    ap.add_argument("--skip-prepare", action="store_true", help="do not train missing states")
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
    url = args.url
    if url is None:
        proc, url = start_app(port=args.port, address="0.0.0.0")
        wait_healthy(url, timeout=180)
    pages_report: dict = {}

    def pages_check() -> tuple[bool, str]:
        ok, detail, report = warm_pages(url)
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
