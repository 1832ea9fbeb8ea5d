"""Is the Hugging Face Hub reachable? Decided once per process, fast, and never silently.

Call `detect()` before transformers/huggingface_hub are imported: when the Hub is unreachable it
sets HF_HUB_OFFLINE=1 so no library tries (and waits on) a request afterwards.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass

HUB_HOST = "huggingface.co"
_TRUTHY = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class NetworkState:
    online: bool
    reason: str  # shown in the sidebar: why we think so


_state: NetworkState | None = None
_lock = threading.Lock()


def _env_offline() -> bool:
    return any(
        os.environ.get(k, "").strip().lower() in _TRUTHY
        for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GALLERY_OFFLINE")
    )


def _probe(host: str, timeout: float) -> bool:
    """TCP connect to host:443 in a daemon thread so a hanging DNS lookup cannot block us."""
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def _force_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    # If huggingface_hub was already imported it read the variable at import time.
    try:
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = True
    except Exception:  # pragma: no cover - hub not installed or layout changed
        pass


def detect(timeout: float = 1.5, force: bool = False) -> NetworkState:
    """Return (and remember) whether the Hub is reachable."""
    global _state
    with _lock:
        if _state is not None and not force:
            return _state
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        if _env_offline():
            _state = NetworkState(False, "HF_HUB_OFFLINE is set")
        elif _probe(HUB_HOST, timeout):
            _state = NetworkState(True, f"{HUB_HOST} answered")
        else:
            _state = NetworkState(False, f"{HUB_HOST} unreachable within {timeout:g} s")
        if not _state.online:
            _force_offline()
        return _state


def is_online() -> bool:
    return detect().online
