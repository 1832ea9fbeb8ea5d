"""The talk preflight's checks, each `() -> (ok, detail)`; shared by `make preflight`
(scripts/preflight.py) and the app's "Talk preflight" page. No Streamlit here."""

from __future__ import annotations

import json
import os
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
