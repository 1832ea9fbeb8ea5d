"""The LoRA page's sections, one module per tab. The page itself is views/lora.py (its address
stays /lora); it calls the open tab's `render`. Shared here: the session's adapter."""

from __future__ import annotations

import streamlit as st

from models import lora as tune
from models.prepared import record
from ui.page import page_keys, stored

k = page_keys("lora")


@st.cache_resource(show_spinner="Loading the prepared adapter onto a copy of the chat model…")
def prepared_adapter(model_key: str, folder: str, made: str, _handle) -> tune.Adapted:
    """One process-wide copy of the chat model with the prepared adapter (its own lock), loaded
    again when `make prepare` makes a new one."""
    return tune.load(_handle, folder)


def current(chat) -> tune.Adapted | None:
    """The session's live adapter, else the prepared one (when it was made for this model)."""
    live = stored(k("adapted"))
    if live is not None:
        return live
    made = record(tune.PREPARED)
    folder = tune.prepared_folder()
    rec = tune.read_record(folder) if made is not None else None
    if rec is not None and rec.get("model_key") == chat.choice.key:
        return prepared_adapter(chat.choice.key, str(folder), made.created, chat)
    return None
