"""Attention: bertviz head/model views (offline), per-head heatmaps, one head computed by hand from
the real weights, encoder vs decoder on the same sentence, and a finder for special heads. The
tabs live in views/attention/ and compute only when open; sliders rerun their fragment only."""

from __future__ import annotations

import streamlit as st

from lessons import attention as A
from lessons import bertviz_offline as BV
from ui.page import header, lazy_tabs, lesson, presenter
from ui.widgets import empty_hint, guarded_text, show_code
from views.attention import panels
from views.attention.common import CFG, ROLES, k, run_for

TABS = ["bertviz", "Heatmaps", "One head by hand", "Encoder vs decoder", "Head finder"]

controls = header(
    "Attention",
    "Each token asks a **query** $q$, offers a **key** $k$ and carries a **value** $v$ (three "
    "linear maps of its hidden state, per head). A head scores every pair, $QK^\\top/\\sqrt{d}$, "
    "hides what it may not see, and turns each row into weights with a softmax: row $i$ is *how "
    "much token $i$ reads from each token*; it sums to 1. The output is that weighted sum of "
    "values.",
)
with controls:
    c_text, c_role = st.columns([3, 2]) if presenter() else (st.container(), st.container())
    with c_text:
        guarded = guarded_text(
            "Your sentence", A.DEFAULT_SENTENCE, key=k("text"), area=False, max_chars=2_000,
            help=f"Heatmaps use the first {CFG.max_tokens:,} tokens, bertviz the first "
            f"{CFG.bertviz_tokens:,}.",
        )  # fmt: skip
    role = c_role.radio(
        "Model", list(ROLES), format_func=ROLES.get, horizontal=True, key=k("role"),
        help="The sidebar picks which encoder and which decoder serve.",
    )  # fmt: skip

if guarded.empty:
    empty_hint("a sentence")
    st.stop()
text = guarded.text
handle, run = run_for(role, text)
n_layers, n_heads, T = run.attentions.shape[:3]
st.caption(
    f"{handle.choice.label}: {n_layers:,} layers × {n_heads:,} heads, {T:,} tokens"
    + (" — causal mask" if run.causal else " — no mask (bidirectional)")
    + (f" · :material/content_cut: {run.n_tokens_in:,} tokens in, the views use the first {T:,}"
       if run.truncated else "")
)  # fmt: skip

tab_bv, tab_heat, tab_step, tab_cmp, tab_find = lazy_tabs(TABS, k("tabs"))
if tab_bv.open:
    with tab_bv:
        panels.bertviz(handle, run, text)
if tab_heat.open:
    with tab_heat:
        panels.heatmaps(handle, run)
if tab_step.open:
    with tab_step:
        panels.by_hand(handle, run, text)
if tab_cmp.open:
    with tab_cmp:
        lesson(
            "**Encoders** (MiniLM, BERT) let every token see every other one. **Decoders** "
            "(SmolLM2, Llama) see only the past: the upper triangle is exactly zero, so the first "
            "token can only read itself and the first column collects weight. Same sentence, two "
            "tokenizers (WordPiece vs byte-level BPE)."
        )
        panels.compare(role, handle, run, text)
if tab_find.open:
    with tab_find:
        lesson(
            "Heads specialise: some read the previous token, some park their weight on the first "
            "token (a *sink*), some spread out. One number per head finds them."
        )
        panels.finder(handle, run, text)

show_code(
    A.run_attention,
    A._softmax_steps,
    A.encoder_head_steps,
    A.decoder_head_steps,
    A.summarize_heads,
    BV.script_safe_json,
    BV.make_offline,
)
