"""A keyboard-friendly stepper for lessons that go step by step (BPE merges, the online softmax's
tiles, the architecture's stages): ◀ / ▶ buttons (Tab, then Enter or Space, as a presenter's
clicker sends) beside a slider (arrow keys), all on one session key.

    i = stepper("Merge step", last, k("step"))  # 1..last
"""

from __future__ import annotations

import streamlit as st


def _move(key: str, delta: int, last: int) -> None:
    st.session_state[key] = min(max(1, int(st.session_state.get(key, 1)) + delta), last)


def stepper(label: str, last: int, key: str, help: str | None = None) -> int:
    """Step 1..last under session key `key` (buttons `key::prev`, `key::next`); returns it."""
    if last <= 1:
        st.session_state[key] = 1
        st.caption(f"{label}: 1 of 1")
        return 1
    if not 1 <= int(st.session_state.get(key, 1)) <= last:
        st.session_state[key] = min(max(1, int(st.session_state.get(key, 1))), last)
    at = int(st.session_state.get(key, 1))
    prev, nxt, slider = st.columns([1, 1, 6], vertical_alignment="bottom")
    prev.button("◀ Prev", key=f"{key}::prev", on_click=_move, args=(key, -1, last),
                disabled=at <= 1, width="stretch")  # fmt: skip
    nxt.button("Next ▶", key=f"{key}::next", on_click=_move, args=(key, 1, last),
               disabled=at >= last, width="stretch")  # fmt: skip
    return int(slider.slider(label, 1, last, key=key, help=help))
