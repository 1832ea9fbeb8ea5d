"""The page kit: what every page's layout and state needs, written once.

    k = page_keys("sent")                      # session keys "sent::<name>", one style
    controls = header("Project 1: …", LESSON)  # title + lesson beside the controls
    with controls: ...widgets...
    lesson("More prose")                       # folded into an expander in presenter mode
    tab_a, tab_b = lazy_tabs(["A", "B"], k("tabs"))
    if tab_a.open: ...compute only what is shown...

    @on_handle(max_entries=32)
    def tokens(handle, text: str) -> list[str]:  # cached per (model key, text), under the lock
        return handle.tokenizer.tokenize(text)

Presenter mode (the sidebar toggle): the interaction comes first, the prose folds into
expanders, the type is larger; `compact()` tells a page to drop secondary figures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

from models.handle import ModelHandle

PRESENTER_KEY = "presenter"
T = TypeVar("T")


def page_keys(prefix: str) -> Callable[[str], str]:
    """Session-state keys of one page: `k("arch")` -> "prefix::arch"."""
    return lambda name: f"{prefix}::{name}"


def presenter() -> bool:
    return bool(st.session_state.get(PRESENTER_KEY, False))


def lesson(markdown: str, label: str = "The lesson", expanded: bool = False) -> None:
    """Lesson prose: shown as is, or folded into an expander in presenter mode."""
    if presenter():
        with st.expander(label, icon=":material/menu_book:", expanded=expanded):
            st.markdown(markdown)
    else:
        st.markdown(markdown)


def folded(label: str, icon: str = ":material/tune:"):
    """Secondary controls or tables: shown in place, or folded into a closed expander in
    presenter mode (use as `with folded("Train live"): ...`)."""
    return st.expander(label, icon=icon) if presenter() else st.container()


def lesson_columns(markdown: str, ratio: Sequence[float] = (2, 3), lesson_first: bool = True):
    """A tab's two columns with its lesson written in one of them (folded in presenter mode):
    returns (left, right). `lesson_first=False` puts the lesson on the right."""
    left, right = st.columns(list(ratio), gap="large")
    with left if lesson_first else right:
        lesson(markdown)
    return left, right


def header(
    title: str, markdown: str | None = None, ratio: Sequence[float] = (3, 2), gap: str = "large"
):
    """The page title, then the lesson beside a column for the controls (returned). In presenter
    mode the controls take the full width and the lesson folds into an expander above them."""
    st.title(title)
    if presenter():
        if markdown:
            lesson(markdown)
        return st.container()
    left, right = st.columns(list(ratio), gap=gap)
    if markdown:
        with left:
            st.markdown(markdown)
        return right
    return left


def lazy_tabs(labels: Sequence[str], key: str) -> list:
    """Tabs that rerun on change, so each tab computes only when open (check `tab.open`)."""
    return list(st.tabs(list(labels), key=key, on_change="rerun"))


def show_tabs(key: str, tabs: dict[str, Callable[[], None]]) -> None:
    """Lazy tabs from {label: draw}: only the open tab's `draw()` runs."""
    for tab, draw in zip(lazy_tabs(list(tabs), key), tabs.values(), strict=True):
        if tab.open:
            with tab:
                draw()


def on_handle(max_entries: int = 32, show_spinner: bool | str = False):
    """Cache `fn(handle, *args)` per (the handle's model key, args) and call it under the
    handle's lock. Args must be hashable by Streamlit (str, numbers, tuples, dataclasses)."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        def _cached(model_key: str, args: tuple, kwargs: tuple, _h: Any) -> Any:
            with _h.lock:
                return fn(_h, *args, **dict(kwargs))

        # Streamlit keys a cache on the function's module and qualified name: give each
        # decorated function its own, or they would all share one cache.
        _cached.__module__ = fn.__module__
        _cached.__qualname__ = f"{fn.__qualname__}.<on_handle>"
        cached = st.cache_data(max_entries=max_entries, show_spinner=show_spinner)(_cached)

        @functools.wraps(fn)
        def call(handle: ModelHandle, *args: Any, **kwargs: Any) -> T:
            return cached(handle.choice.key, args, tuple(sorted(kwargs.items())), handle)

        call.clear = cached.clear  # type: ignore[attr-defined]
        return call

    return decorate


def stored(key: str, default: Any = None) -> Any:
    """A per-session result kept between reruns (what a button produced)."""
    return st.session_state.get(key, default)


def store(key: str, value: Any) -> None:
    st.session_state[key] = value
