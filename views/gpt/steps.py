"""Tab 2: decoding one token per click, forwards and back, with a KV cache."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from lessons import decoding as D
from lessons.sampling import GenConfig
from ui.page import lesson
from ui.widgets import show_code, token_spans_html
from views.gpt.common import code, k, pieces, prompt_forward

LESSON = (
    "Generation is a loop: run the model on the text, take the distribution for the next "
    "position, **pick one token**, append it, repeat. **Greedy** (temperature 0) always takes "
    "the argmax (deterministic, often repetitive); **sampling** draws from the distribution "
    "shaped by the knobs, with a seeded random generator, so the same seed gives the same text. "
    "Each click runs the model on the **one new token** only: the keys and values of the prefix "
    "are kept in a KV cache. **Back** drops the last token from the text and the cache and "
    "rewinds the generator, so Next picks it again."
)


def decoder(handle: Any, prompt: D.Prompt, seed: int) -> D.Decoder:
    """The session's decoder for this model, prompt and seed (a new one when any changes)."""
    owner = (handle.choice.key, tuple(prompt.ids), seed)
    dec = st.session_state.get(k("decoder"))
    if dec is None or st.session_state.get(k("owner")) != owner:
        dec = D.Decoder(list(prompt.ids), len(prompt.ids), seed=seed)
        st.session_state[k("decoder")] = dec
        st.session_state[k("owner")] = owner
        st.session_state.pop(k("step_s"), None)
    return dec


def last_forward(handle: Any, dec: D.Decoder) -> tuple[Any, Any]:
    """(logits (V,), attention (L, H, T)) for the decoder's newest token."""
    if dec.last is not None:
        return dec.last.logits, dec.last.attention
    f = prompt_forward(handle, tuple(dec.ids))
    return D.as_tensors(f["logits"], f["attention"])


def _step(handle: Any, gen: GenConfig, forward: bool) -> None:
    """A button's callback: it runs before the page does, so the page (and the buttons'
    disabled states) already show the new text."""
    dec = st.session_state.get(k("decoder"))
    if dec is None:
        return
    t0 = time.perf_counter()
    with handle.lock:
        if forward and not dec.full:
            dec.step(handle.model, gen.sampling(), gen.greedy)
        elif not forward:
            dec.back()
    st.session_state[k("step_s")] = time.perf_counter() - t0


def _reset(prompt: D.Prompt, gen: GenConfig) -> None:
    st.session_state[k("decoder")] = D.Decoder(list(prompt.ids), len(prompt.ids), seed=gen.seed)
    st.session_state.pop(k("step_s"), None)


def _buttons(handle: Any, dec: D.Decoder, prompt: D.Prompt, gen: GenConfig) -> None:
    b1, b2, b3, _ = st.columns([1, 1, 1, 2])
    b1.button("Back", key=k("back"), icon=":material/skip_previous:", disabled=not dec.picks,
              on_click=_step, args=(handle, gen, False))  # fmt: skip
    b2.button("Next token", key=k("next"), type="primary", icon=":material/skip_next:",
              disabled=dec.full, help=f"Up to {D.MAX_CONTEXT:,} tokens in all.",
              on_click=_step, args=(handle, gen, True))  # fmt: skip
    b3.button("Reset", key=k("reset"), icon=":material/restart_alt:", on_click=_reset,
              args=(prompt, gen))  # fmt: skip


def _candidates(handle: Any, dec: D.Decoder, gen: GenConfig) -> None:
    logits, _ = last_forward(handle, dec)
    cands = D.candidates(logits, dec.ids, gen.sampling(), gen.greedy)
    names = pieces(handle, [i for i, _, _ in cands])
    rows = [
        {"token": repr(p), "id": i, "p model (%)": round(100 * pm, 2),
         "p to pick from (%)": round(100 * pf, 2)}
        for p, (i, pf, pm) in zip(names, cands, strict=True)
    ]  # fmt: skip
    how = "greedy: the first row" if gen.greedy else f"sampled (seed {gen.seed:,})"
    st.markdown(f"**Candidates for the next token** (top 10 by the model) · next pick: {how}")
    st.dataframe(rows, hide_index=True, width="stretch")


def render(handle: Any, prompt: D.Prompt, gen: GenConfig) -> D.Decoder:
    lesson(LESSON, label="How decoding works")
    dec = decoder(handle, prompt, gen.seed)
    _buttons(handle, dec, prompt, gen)
    left, right = st.columns([3, 2])
    with left:
        text = pieces(handle, dec.ids)
        st.html(token_spans_html(text, [f"id {i}" for i in dec.ids], show_ws=True,
                                 muted=range(dec.n_prompt)))  # fmt: skip
        st.caption(
            f"Grey: the prompt ({dec.n_prompt:,} tokens). Colored: {len(dec.ids) - dec.n_prompt:,}"
            " generated token(s). Hover a token for its id; · is a space, ↵ a newline."
        )
        if dec.picks:
            p = dec.picks[-1]
            how = "greedy (argmax)" if p.greedy else "sampled"
            st.markdown(
                f"Last pick, **{how}**: {code(text[-1])} with probability "
                f"**{100 * p.prob:.2f} %** ({100 * p.prob_model:.2f} % under the model alone)."
            )
            secs = st.session_state.get(k("step_s"))
            if secs is not None:
                st.caption(f":material/schedule: that click took {secs:.2f} s on this machine.")
        if dec.full:
            st.info(f"The text reached {D.MAX_CONTEXT:,} tokens: press Reset to start again.")
    with right:
        _candidates(handle, dec, gen)
    show_code(D.forward, D.choose, D.Decoder)
    return dec
