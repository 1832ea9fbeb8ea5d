"""Model handles for pages: the only way a page gets a model.

`get_model(role)` returns the process-wide cached `models.handle.Handle` for the sidebar's (or the
given) choice of a role, showing the load status the first time and a visible notice when it fell
back to the embedded model. When nothing can be loaded it shows the reason with `st.error` and
stops the page (tests fail on that error); `optional=True` returns None with an info box instead,
for Hub-only roles a page can do without.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from models import loader, network, registry
from models.handle import Handle
from models.loader import ModelLoadError


def state_key(role: str) -> str:
    return f"model::{role}"


def selected_key(role: str) -> str | None:
    """The session's choice for `role`: the sidebar's, else the role's offline default."""
    key = st.session_state.get(state_key(role))
    if key is None or key not in {c.key for c in registry.choices(role)}:
        default = registry.default_choice(role) or next(iter(registry.choices(role, True)), None)
        key = default.key if default else None
    return key


@st.cache_resource(show_spinner=False, max_entries=12)
def _cached(key: str, role: str) -> Handle:
    return loader.load_with_fallback(key, role)


@st.cache_resource(show_spinner=False, max_entries=16)
def _cached_tokenizer(key: str) -> Handle:
    return loader.load(key, tokenizer_only=True)


_ready: set[tuple[str, str]] = set()  # what this process has loaded (to skip the status box)


def _unavailable(role: str) -> str:
    names = ", ".join(c.label for c in registry.choices(role))
    return (
        f"No model for this section can be loaded here: {names} need the Hugging Face Hub "
        f"({network.detect().reason}) or a copy in the local cache."
    )


def get_model(role: str, key: str | None = None, *, optional: bool = False) -> Handle | None:
    """The shared handle for `role` (the sidebar's choice unless `key` is given)."""
    key = key or selected_key(role)
    if key is None or (optional and not registry.get_choice(key).available()):
        if optional:
            st.info(_unavailable(role), icon=":material/wifi_off:")
            return None
        st.error(_unavailable(role), icon=":material/error:")
        st.stop()
    choice = registry.get_choice(key)
    try:
        if (key, role) in _ready:
            handle = _cached(key, role)
        else:
            with st.status(f"Loading {choice.label}…", expanded=False) as box:
                box.write("The first load in a process can take ~20 s (`make preflight` warms it).")
                handle = _cached(key, role)
                box.update(
                    label=f"{handle.choice.label} ready ({handle.load_seconds:.1f} s)",
                    state="complete",
                )
            _ready.add((key, role))
    except ModelLoadError as exc:
        if optional:
            st.info(str(exc), icon=":material/wifi_off:")
            return None
        st.error(str(exc), icon=":material/error:")
        st.stop()
    if handle.fallback_reason:
        st.warning(handle.fallback_reason, icon=":material/wifi_off:")
    return handle


def is_loaded(role: str, key: str | None = None) -> bool:
    """Whether this server process has already loaded the role's model (a warm page)."""
    return (key or selected_key(role), role) in _ready


WARMING = (
    "**Warming up…** the first open in this server loads {what} and runs it once (up to ~30 s on "
    "two cores); later opens take about a second. Before a talk, run `make preflight` (it opens "
    "every page once), or press *Check now* on the **Talk preflight** page (it loads every model)."
)


def warming_note(roles: tuple[str, ...]) -> str | None:
    """The note for the roles whose model this server has not loaded yet (None: all warm)."""
    cold = [r for r in roles if not is_loaded(r)]
    names = {"encoder": "the encoder", "chat": "the decoder"}
    return WARMING.format(what=" and ".join(names.get(r, r) for r in cold)) if cold else None


@contextlib.contextmanager
def warming(*roles: str) -> Iterator[None]:
    """Say "warming up" (and point to the preflight) while a role's first model load runs in
    this server; the note goes away once the page has its model."""
    text = warming_note(roles)
    if text is None:
        yield
        return
    note = st.empty()
    note.info(text, icon=":material/hourglass_top:")
    try:
        yield
    finally:
        note.empty()


def get_tokenizer(key: str) -> Handle:
    """Only the tokenizer of any registry choice (no model weights are loaded for it)."""
    try:
        return _cached_tokenizer(key)
    except ModelLoadError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
        raise  # unreachable: st.stop raises


def available(role: str) -> list[registry.Choice]:
    """The role's choices that can be loaded now (offline: embedded, prepared, cached)."""
    return registry.choices(role, only_available=True)


def warm_all() -> list[tuple[str, float, str | None]]:
    """Load every offline-usable choice into this server's shared cache (the preflight page).
    Returns (label, seconds, error or None) per choice."""
    import time

    from models.preflight_checks import offline_choices

    out = []
    for c in offline_choices():
        role = next(r for r, cs in registry.ROLES.items() if c in cs)
        t0 = time.perf_counter()
        try:
            _cached(c.key, role)
            _ready.add((c.key, role))
            out.append((c.label, time.perf_counter() - t0, None))
        except ModelLoadError as exc:
            out.append((c.label, time.perf_counter() - t0, str(exc)))
    return out
