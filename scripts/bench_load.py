"""`make bench`'s load section: several browser sessions walking the pages at the same time (each
session is a thread in the server; shared models sit behind their locks)."""

from __future__ import annotations

import asyncio
import statistics
import time

from scripts.browser import CHROMIUM, CHROMIUM_ARGS, page_url, start_app, wait_healthy
from scripts.browser import pages as all_pages
from scripts.browser import stop as _stop
from scripts.rss import peak_rss_mb


async def _session(
    browser, url: str, pages: list[str], latencies: list[float], failures: list[str]
):
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await ctx.new_page()
    try:
        for page_file in pages:
            t0 = time.perf_counter()
            await page.goto(page_url(url, page_file))
            await _async_idle(page)
            boxes = page.locator("textarea")
            if await boxes.count():
                await boxes.first.fill("Several people are using the gallery at the same time.")
                await boxes.first.press("Control+Enter")
                await asyncio.sleep(0.3)
                await _async_idle(page)
            latencies.append(time.perf_counter() - t0)
            errs = await page.locator('[data-testid="stException"]').all_inner_texts()
            failures += [f"{page_file}: {e[:200]}" for e in errs]
    except Exception as exc:  # a crash or timeout counts as a failure, not a bench abort
        failures.append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        await ctx.close()


async def _async_idle(page, timeout: float = 240.0) -> None:
    start = time.perf_counter()
    await page.wait_for_selector("h1", timeout=timeout * 1000)
    quiet = None
    while time.perf_counter() - start < timeout:
        if await page.locator('[data-testid="stStatusWidget"]').count():
            quiet = None
        elif quiet is None:
            quiet = time.perf_counter()
        elif time.perf_counter() - quiet > 0.75:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("page kept running")


def bench_load(out: dict, sessions: int = 6) -> None:
    from playwright.async_api import async_playwright

    model_pages = [p for p in all_pages() if not p.endswith(("home.py", "preflight.py"))]
    proc, url = start_app()
    latencies: list[float] = []
    failures: list[str] = []

    async def main() -> None:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            # Rotate the page order so sessions hit different models at the same moment.
            orders = [model_pages[i:] + model_pages[:i] for i in range(sessions)]
            await asyncio.gather(
                *(
                    _session(browser, url, orders[i % len(orders)], latencies, failures)
                    for i in range(sessions)
                )
            )
            await browser.close()

    try:
        wait_healthy(url)
        t0 = time.perf_counter()
        asyncio.run(main())
        wall = time.perf_counter() - t0
        out["load_sessions"] = sessions
        out["load_failures"] = len(failures)
        out["load_failure_examples"] = failures[:5]
        q = statistics.quantiles(latencies, n=20) if len(latencies) >= 2 else latencies * 19
        out["load_step_p50_s"] = round(statistics.median(latencies), 2) if latencies else None
        out["load_step_p95_s"] = round(q[18], 2) if latencies else None
        out["load_wall_s"] = round(wall, 1)
        out["load_peak_rss_mb"] = peak_rss_mb(proc.pid)
    finally:
        _stop(proc)
