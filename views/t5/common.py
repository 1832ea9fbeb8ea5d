"""What the T5 tabs share: session keys, the small T5 trained live, the Hub T5 when online."""

from __future__ import annotations

from typing import Any

import streamlit as st

from models import registry
from models import t5_tasks as tt
from ui import training
from ui.models import get_model
from ui.page import lazy_tabs, page_keys

k = page_keys("t5")
LIVE = "A small T5 trained here (offline)"


def render_tabs(labels: list[str], key: str, renders) -> None:
    """Lazy tabs, each drawn by its render function only while open (both T5 pages)."""
    for tab, render in zip(lazy_tabs(labels, key), renders, strict=True):
        if tab.open:
            with tab:
                render()


def trained() -> tt.Trained | None:
    """The session's finished live run, if any."""
    res = training.result(k("train"))
    return res if isinstance(res, tt.Trained) else None


def hub_labels() -> dict[str, str]:
    """Hub T5 choices usable now (online or cached): label -> key."""
    return {c.label: c.key for c in registry.choices("t5", only_available=True)}


def model_choice(key: str) -> tuple[str, Any]:
    """A radio between the live-trained T5 and the Hub T5s that can load; returns
    ("live", Trained | None) or ("hub", handle | None)."""
    options = [LIVE, *hub_labels()]
    pick = st.radio(
        "Model",
        options,
        horizontal=True,
        key=k(key),
        help="t5-small and FLAN-T5 small need the Hub (or its local cache).",
    )
    if pick == LIVE:
        return "live", trained()
    return "hub", get_model("t5", hub_labels()[pick], optional=True)
