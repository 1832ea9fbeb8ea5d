"""Small rendering helpers. Everything a user typed is escaped before it becomes HTML."""

from __future__ import annotations

import html
import inspect
from collections.abc import Iterable, Sequence

import streamlit as st

from models.textguard import DEFAULT_MAX_CHARS, GuardedText, guard_text

PALETTE = (
    "#fde68a",
    "#bfdbfe",
    "#bbf7d0",
    "#fecaca",
    "#ddd6fe",
    "#fbcfe8",
    "#a5f3fc",
    "#fed7aa",
)


def guarded_text(
    label: str,
    value: str,
    key: str,
    max_chars: int = DEFAULT_MAX_CHARS,
    area: bool = True,
    height: int = 100,
    help: str | None = None,
) -> GuardedText:
    """A text box whose value always goes through the input guard; notices are shown."""
    widget = st.text_area if area else st.text_input
    kwargs = {"height": height} if area else {}
    raw = widget(label, value=value, key=key, help=help, **kwargs)
    guarded = guard_text(raw, max_chars=max_chars)
    for notice in guarded.notices:
        st.caption(f":material/info: {notice}")
    return guarded


def empty_hint(what: str = "some text") -> None:
    st.info(f"Type {what} above to see the result.", icon=":material/edit:")


def visible_ws(text: str) -> str:
    return text.replace(" ", "·").replace("\n", "↵").replace("\t", "→")


def token_spans_html(
    pieces: Sequence[str],
    titles: Sequence[str] | None = None,
    show_ws: bool = False,
    muted: Iterable[int] = (),
    labels: Sequence[str] | None = None,
) -> str:
    """Colored spans, one per piece, with an optional small label under each (e.g. the id).
    Pieces, titles and labels are escaped: '<script>' shows as text."""
    muted = set(muted)
    out = []
    for i, piece in enumerate(pieces):
        text = visible_ws(piece) if show_ws else piece
        color = "#e5e7eb" if i in muted else PALETTE[i % len(PALETTE)]
        title = html.escape(titles[i], quote=True) if titles else ""
        label = (
            f'<sub style="font-size:0.65em;color:#4b5563">{html.escape(labels[i])}</sub>'
            if labels
            else ""
        )
        out.append(
            f'<span title="{title}" style="background:{color};border-radius:3px;'
            f'padding:1px 2px;margin:1px;white-space:pre-wrap;font-family:monospace">'
            f"{html.escape(text) or '&nbsp;'}{label}</span>"
        )
    return '<div style="line-height:2.0">' + "".join(out) + "</div>"


def show_code(
    *objects: object, label: str = "Show the lesson code", key: str | None = None
) -> None:
    """A collapsed expander with the source of the functions/classes behind a figure.

    Lazy: the source is sent only once the expander is opened, so a first render does not make
    the browser fetch and compile the syntax highlighter (1.5 MB of JavaScript) for code nobody
    has asked to see yet."""
    key = key or "show_code::" + "|".join(getattr(o, "__qualname__", repr(o)) for o in objects)
    with st.expander(label, icon=":material/code:", key=key, on_change="rerun") as box:
        if box.open:
            for obj in objects:
                st.code(inspect.getsource(obj), language="python")
