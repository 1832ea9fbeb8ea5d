"""Model handles for pages: the plain loaders wrapped in st.cache_resource, one per process."""

from __future__ import annotations

import streamlit as st

from models import loader, registry
from models.loader import Loaded, ModelLoadError


def state_key(role: str) -> str:
    return f"model::{role}"


def selected_key(role: str) -> str:
    key = st.session_state.get(state_key(role))
    if key is None or key not in {c.key for c in registry.choices(role)}:
        key = registry.default_choice(role).key
    return key


@st.cache_resource(show_spinner=False, max_entries=8)
def _cached(key: str, role: str) -> Loaded:
    return loader.load_with_fallback(key, role)


_ready: set[tuple[str, str]] = set()  # what this process has loaded (to skip the status box)


def get_model(role: str, key: str | None = None) -> Loaded:
    """The handle for `role` (the sidebar's choice unless `key` is given). Stops the page with a
    readable error if nothing can be loaded."""
    key = key or selected_key(role)
    choice = registry.get_choice(key)
    try:
        if (key, role) in _ready:
            handle = _cached(key, role)
        else:
            with st.status(f"Loading {choice.label}…", expanded=False) as box:
                box.write(
                    "The first load in a process can take up to ~20 s; later ones are instant."
                )
                handle = _cached(key, role)
                box.update(
                    label=f"{handle.choice.label} ready ({handle.load_seconds:.1f} s)",
                    state="complete",
                )
            _ready.add((key, role))
    except ModelLoadError as exc:
        st.error(str(exc))
        st.stop()
    if handle.fallback_reason:
        st.warning(handle.fallback_reason, icon=":material/wifi_off:")
    return handle


@st.cache_resource(show_spinner=False, max_entries=16)
def _cached_tokenizer(key: str) -> Loaded:
    return loader.load(key, tokenizer_only=True)


def get_tokenizer_handle(key: str) -> Loaded:
    """Only the tokenizer of any registry choice (no model weights are loaded for it)."""
    try:
        return _cached_tokenizer(key)
    except ModelLoadError as exc:
        st.error(str(exc))
        st.stop()
