"""The talk preflight's checks, each `() -> (ok, detail)`; shared by `make preflight`
(scripts/preflight.py) and the app's "Talk preflight" page. No Streamlit here."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from models import loader, network, prepared, registry


def report_path() -> Path:
    return loader.cache_root() / "preflight.json"


def save_report(report: dict) -> None:
    path = report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))


def load_report() -> dict | None:
    try:
        return json.loads(report_path().read_text())
    except (OSError, ValueError):
        return None


def network_check() -> tuple[bool, str]:
    state = network.detect()
    where = "online: Hub models available" if state.online else "offline: embedded models only"
    return True, f"{where} ({state.reason})"


def prepared_states() -> tuple[bool, str]:
    missing = [s for s in prepared.STEPS if not prepared.ready(s.name)]
    made = prepared.prepare([s.name for s in missing], log=lambda _: None) if missing else []
    names = ", ".join(s.name for s in prepared.STEPS)
    return True, f"{len(prepared.STEPS)} ready ({names}); trained now: {len(made)}"


def offline_choices() -> list[registry.Choice]:
    """Every choice that works with no network: embedded, plus prepared ones that are ready."""
    seen, out = set(), []
    for choices in registry.ROLES.values():
        for c in choices:
            if c.key in seen or c.source not in ("embedded", "prepared") or not c.available():
                continue
            seen.add(c.key)
            out.append(c)
    return out


def models_check(load=loader.load) -> tuple[bool, str]:
    parts, failed = [], []
    for c in offline_choices():
        t0 = time.perf_counter()
        try:
            load(c.key)
            parts.append(f"{c.key} {time.perf_counter() - t0:.1f} s")
        except loader.ModelLoadError as exc:
            failed.append(f"{c.key}: {exc}")
    return not failed, "; ".join(failed) if failed else "loaded " + ", ".join(parts)


def fast_engine() -> tuple[bool, str]:
    from lessons.sampling import GenConfig
    from models import engine

    if not engine.llama_cpp_available():
        return False, f"{engine.status_line()}: answers stream at transformers speed"
    handle = loader.load("smollm2-embedded")
    eng = engine.engine_for(handle)
    stats = engine.StreamStats()
    messages = [{"role": "user", "content": "Say hello."}]
    "".join(eng.stream(messages, GenConfig(max_new_tokens=16), stats))
    return stats.new_tokens > 0, f"{eng.name}: {stats.tokens_per_s:.0f} tokens/s"


def ollama_check() -> tuple[bool, str]:
    host = os.environ.get("OLLAMA_HOST")
    if not host:
        return True, "not configured (set OLLAMA_HOST to check a server)"
    import ollama

    try:
        listed = ollama.Client(host=host, timeout=5).list()
    except Exception as exc:  # refused, timeout, not an Ollama server …
        return False, f"{host} did not answer ({type(exc).__name__}): run `ollama serve` there"
    names = [m.model for m in listed.models]
    return True, f"{host}: {len(names)} models ({', '.join(names[:5]) or 'none pulled'})"


# A first open is "within its warm render time" when it is no slower than the warm opens of the
# same page measured seconds after it (on the same server), give or take the spread one browser
# open has on a busy 2-core host: at least FIRST_OPEN_SLACK, else three standard deviations of
# one open as the run's own warm opens measure it (7-10 % here, by the browser's clock).
FIRST_OPEN_SLACK = 1.25
# The server's share of a first open (its script runs, logged by the server itself) may exceed
# the slowest warm one by this much: thread scheduling, not a cold cache (a model load is seconds).
SERVER_SLACK_S = 0.1


# Pages are timed in blocks of this many: a block's first opens, then its warm opens, so a first
# open and the warm opens it is held to are seconds apart, not minutes (the host's slow spells last
# tens of seconds and would otherwise hit one tour and not the other).
OPEN_BLOCK = 3


def open_schedule(
    pages: list[str], warm_opens: int = 2, block: int = OPEN_BLOCK
) -> list[tuple[str, str]]:
    """The order the preflight opens `pages` in, each as (page, role): one "warming" tour of every
    page, then block by block the block's "first" opens (the audience's) and `warm_opens` rounds
    of its "warm" opens. Each warm round starts with a "primer" open (not timed) of the page that
    came before the block, so every timed open follows the same page as its counterparts: opening
    one page twice in a row flatters the second open. The first block has no primer (its page
    before is the warming tour's last, whose own first open is still to come)."""
    schedule = [(p, "warming") for p in pages]
    for start in range(0, len(pages), block):
        pages_in_block = pages[start : start + block]
        schedule += [(p, "first") for p in pages_in_block]
        primer = [(pages[start - 1], "primer")] if start else []
        for _ in range(warm_opens):
            schedule += primer + [(p, "warm") for p in pages_in_block]
    return schedule


def open_spread(warm: dict[str, list[float]]) -> float:
    """One open's relative standard deviation, pooled over the pages' warm opens (0 with fewer
    than two opens of any page)."""
    squares, dof = 0.0, 0
    for later in warm.values():
        if len(later) < 2:
            continue
        mean = statistics.fmean(later)
        squares += sum(((t - mean) / mean) ** 2 for t in later)
        dof += len(later) - 1
    return (squares / dof) ** 0.5 if dof else 0.0


def open_slack(warm: dict[str, list[float]]) -> float:
    return round(max(FIRST_OPEN_SLACK, 1 + 3 * open_spread(warm)), 2)


def first_open_slower(
    first: dict[str, float], warm: dict[str, list[float]], slack: float = FIRST_OPEN_SLACK
) -> dict[str, tuple[float, float]]:
    """Pages whose first open after the preflight was slower than their warm render: `first`
    maps a page to its first open (s), `warm` to the opens that followed it. A page is slower
    when its first open exceeds both the slowest warm open and `slack` x their median; the
    answer maps each such page to (first open, warm median)."""
    slower = {}
    for name, seconds in first.items():
        later = warm.get(name) or []
        if not later:
            continue
        median = statistics.median(later)
        if seconds > max(max(later), slack * median):
            slower[name] = (seconds, round(median, 2))
    return slower


def server_seconds(runs: list[dict], page: str, started: float, ended: float) -> float:
    """The server's own seconds for one open: its logged script runs of `page` that started
    between the open's start and its finished render."""
    return round(
        sum(r["seconds"] for r in runs if r["page"] == page and started <= r["start"] <= ended), 3
    )


def server_slower(
    first: dict[str, float], warm: dict[str, list[float]], slack_s: float = SERVER_SLACK_S
) -> dict[str, tuple[float, float]]:
    """Pages whose first open cost the server more than their slowest warm open, plus `slack_s`:
    what a cold model or cache costs. Maps each to (first, slowest warm) server seconds."""
    return {
        name: (seconds, max(warm[name]))
        for name, seconds in first.items()
        if warm.get(name) and seconds > max(warm[name]) + slack_s
    }


def first_open_table(report: dict):
    """The report's page timings as one table: the audience's first open of each page, its warm
    render (the median of the opens that followed), the server's share of each, whether the
    first open was within the warm render in the browser, and whether the server was warm for
    it. Older reports (no warm opens) show the warming open."""
    import pandas as pd

    first = report.get("audience_open_s") or {}
    slower = set(report.get("first_open_slower") or [])
    cold = set(report.get("first_open_cold") or [])
    warm = report.get("warm_open_s") or {}
    rows = []
    for page, seconds in first.items():
        row = {"page": page, "first open after preflight (s)": seconds}
        if warm:
            row |= {
                "warm render (s)": warm.get(page),
                "within": page not in slower,
                "server share, first (s)": (report.get("audience_server_s") or {}).get(page),
                "server share, warm (s)": (report.get("warm_server_s") or {}).get(page),
                "server warm": page not in cold,
            }
        row["warming open (s)"] = (report.get("warming_open_s") or {}).get(page)
        rows.append(row)
    return pd.DataFrame(rows)
