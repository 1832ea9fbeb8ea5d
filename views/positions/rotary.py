"""Tabs 3 and 4: RoPE's rotation on synthetic vectors, then the decoder's real queries and keys."""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from figures import attention as attn_fig
from figures import positions as fig
from lessons import rope
from models.textguard import GuardedText
from ui.models import get_model, warming
from ui.page import lesson
from ui.widgets import empty_hint, show_code
from views.positions.common import ROPE_TOKENS, base_slider, k, real_qk

LOGIT = "q·k / √head_dim (attention logit)"
DISTANCE = "relative distance m − n (tokens)"


def model_config(chat: Any) -> tuple[rope.RopeConfig, bool]:
    """The decoder's head_dim and rope_theta (the sliders start there); SmolLM2's if it has none."""
    try:
        cfg = rope.RopeConfig.from_model_config(chat.model.config)
    except (ValueError, AttributeError) as exc:
        st.info(f"{chat.choice.label}: {exc} Showing RoPE with SmolLM2's defaults.")
        return rope.RopeConfig(), False
    st.caption(
        f"{chat.choice.label}: head_dim = {cfg.head_dim:,}, rope_theta = {cfg.base:,.0f} "
        "(the sliders start here)"
    )
    return cfg, True


@st.fragment
def _rotation(model_cfg: rope.RopeConfig) -> None:
    c1, c2, c3 = st.columns(3)
    head_dim = c1.slider("Head dimension", 8, 256, model_cfg.head_dim, step=8, key=k("rope_d"))
    with c2:
        base = base_slider("Base θ (rope_theta)", "rope_base", model_cfg.base)
    n_pos = c3.slider("Positions", 8, 256, 32, step=8, key=k("rope_T"))
    cfg = rope.RopeConfig(head_dim=head_dim, base=base)
    pairs, xy, wl = rope.pair_demo(cfg, n_pos)
    table = rope.angle_table(cfg, n_pos)
    left, right = st.columns(2)
    left.plotly_chart(fig.rotating_pairs(xy.numpy(), pairs, wl.tolist()), key=k("rope_circle"))
    right.plotly_chart(fig.angles(table.wrapped.numpy()), key=k("rope_angles"))
    with st.expander("The angle table in numbers (radians, unfolded)"):
        df = pd.DataFrame(table.sample.numpy(), columns=[f"i={i}" for i in table.pairs])
        df.index.name = "position p"
        st.dataframe(df.round(3))
        st.caption("ω_i (rad/token): " + ", ".join(f"{w:.2e}" for w in table.omega.tolist()))
    max_d = st.slider("Max relative distance", 64, 8192, 2048, step=64, key=k("rope_dist"))
    ones, rand = rope.synthetic_decay(cfg, max_d)
    st.plotly_chart(
        fig.lines([("q = k = all ones", ones.numpy(), None),
                   ("q = k random (mean of 64, seed 0)", rand.numpy(), None)],
                  "Same content, growing distance: the score decays", DISTANCE, LOGIT),
        key=k("rope_decay"),
    )  # fmt: skip


ROTATION = (
    "RoPE adds nothing to the embeddings. Each query and key is cut into head_dim/2 pairs, and "
    "pair *i* is **rotated** by $p\\,\\omega_i$, $\\omega_i = \\theta^{-2i/d}$. Dotting a "
    "query rotated by $m\\omega$ with a key rotated by $n\\omega$ leaves only $(m-n)\\omega$: "
    "scores see the **relative offset**. Fast pairs (small *i*) spin every few tokens and "
    "resolve nearby order; slow pairs barely move and carry content across long distances."
)


def render_rotation() -> None:
    lesson(ROTATION)
    with warming("chat"):
        model_cfg, _ = model_config(get_model("chat"))
    _rotation(model_cfg)
    show_code(rope.inv_freq, rope.angles, rope.angle_table, rope.cos_sin, rope.rotate_half,
              rope.apply_rope, rope.pair_coords, rope.score_vs_distance)  # fmt: skip


@st.fragment
def _real(real: rope.RealQK) -> None:
    n_layers, nh, T, _ = real.q.shape
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 0, n_layers - 1, min(2, n_layers - 1), key=k("rope_layer"))
    head = c2.slider("Query head", 0, nh - 1, 0, key=k("rope_head"))
    with_rope, without = rope.with_and_without(real, layer, head)  # (T, T) each
    left, right = st.columns(2)
    for col, att, title, key in (
        (left, with_rope, "With RoPE (what the model computes)", "rope_att"),
        (right, without, "Same q, k without rotation", "rope_att_nope"),
    ):
        col.plotly_chart(
            attn_fig.attention_map(
                att.numpy(), real.pieces, f"{title}: layer {layer}, head {head}"
            ),
            key=k(key),
        )
    names = [f"{i}: {p.strip() or '␣'}" for i, p in enumerate(real.pieces)]  # widget labels
    # Keys tied to the sentence: a new sentence starts from the defaults, never a stale index.
    tag = hashlib.sha1("\x1f".join(names).encode()).hexdigest()[:10]
    c3, c4 = st.columns(2)
    qi = c3.selectbox("Query token", range(T), T - 1, format_func=names.__getitem__,
                      key=k(f"qi{tag}"))  # fmt: skip
    kj = c4.selectbox("Key token", range(T), 0, format_func=names.__getitem__, key=k(f"kj{tag}"))
    curve, mean = rope.real_decay(real, layer, head, qi, kj)
    lab = attn_fig.token_labels(real.pieces)
    st.plotly_chart(
        fig.lines([(f"q of {lab[qi]}, k of {lab[kj]}", curve.numpy(), None),
                   ("mean over same-token q, k", mean.numpy(), None)],
                  "Real q·k moved to each distance", DISTANCE, LOGIT),
        key=k("rope_real_decay"),
    )  # fmt: skip


def render_real(guarded: GuardedText) -> None:
    lesson(
        "Left: the model's real attention for one head. Right: the same queries and keys with the "
        "rotation removed — the position-only patterns (previous token, first token) blur. Below: "
        "one token's query and another's key, re-placed at every distance."
    )
    with warming("chat"):
        chat = get_model("chat")
    _, has_rope = model_config(chat)
    if guarded.empty:
        empty_hint("a sentence")
        return
    if not has_rope:
        return
    try:
        real = real_qk(chat, guarded.text)
    except AttributeError as exc:  # a causal LM without Llama-style layers
        st.info(f"{chat.choice.label} does not expose Llama-style attention layers ({exc}).")
        return
    if real.n_total > ROPE_TOKENS:
        st.caption(f":material/info: {real.n_total:,} tokens; the first {ROPE_TOKENS:,} are used.")
    m1, m2 = st.columns(2)
    m1.metric("cos/sin: ours vs model.rotary_emb", f"max |Δ| = {real.cos_sin_diff:.1e}")
    m2.metric("rotation: ours vs apply_rotary_pos_emb", f"max |Δ| = {real.apply_diff:.1e}")
    _real(real)
    show_code(rope.real_qk, rope.pre_rope_qk, rope.with_and_without, rope.causal_attention,
              rope.real_decay)  # fmt: skip
