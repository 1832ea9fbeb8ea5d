"""The sidebar: presenter mode, network state, compute and chat engine, and the models per role."""

from __future__ import annotations

import streamlit as st

from models import engine, network, registry, runtime
from ui.models import selected_key, state_key
from ui.page import PRESENTER_KEY, presenter

# Presenter mode: larger type for a projector (the prose folds into expanders via ui.page).
PRESENTER_CSS = """
<style>
  .stMainBlockContainer { font-size: 1.18rem; padding-top: 2.2rem; }
  .stMainBlockContainer h1 { font-size: 2.3rem; }
  .stMainBlockContainer p, .stMainBlockContainer li, .stMainBlockContainer label {
    font-size: 1.18rem; }
</style>
"""


def render() -> None:
    net = network.detect()
    with st.sidebar:
        st.toggle(
            "Presenter mode",
            # `?presenter=1` in the address opens every page in presenter mode (a talk's bookmark).
            value=st.query_params.get("presenter") == "1",
            key=PRESENTER_KEY,
            help="For a projector: the interactive part first, the lesson text folded into "
            "expanders, larger type.",
        )
        if net.online:
            st.success("Online: Hub models available", icon=":material/wifi:")
        else:
            st.warning(f"Offline ({net.reason}): embedded models only", icon=":material/wifi_off:")
        st.caption(f"Compute: {runtime.device_summary()} · chat engine: {engine.status_line()}")
        for role, title in registry.ROLE_TITLES.items():
            options = registry.choices(role)
            keys = [c.key for c in options]
            available = {c.key for c in options if c.available()}
            current = selected_key(role)
            st.selectbox(
                title,
                keys,
                index=keys.index(current),
                key=state_key(role),
                format_func=lambda k, avail=available: (
                    registry.get_choice(k).label + ("" if k in avail else " — unavailable offline")
                ),
                help="Embedded models ship in PyPI packages and work with no network. "
                "Choosing an unavailable model falls back to the embedded one, with a notice.",
            )
            choice = registry.get_choice(st.session_state[state_key(role)])
            st.caption(f"{choice.source} · {choice.license} · {choice.tokenizer_algo}")
    if presenter():
        st.html(PRESENTER_CSS)
