"""The five tabs of the Attention page. Each is a fragment: its sliders rerun it alone, and the
model work behind it is cached per (model, sentence, layer, head)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from figures import attention as fig
from lessons import attention as A
from lessons import bertviz_offline as BV
from ui.page import presenter
from views.attention.common import CFG, ROLES, bertviz_page, head_by_hand, head_summary, k, run_for


@st.fragment
def bertviz(handle: Any, run: A.AttentionRun, text: str) -> None:
    n_layers, n_heads, T = run.attentions.shape[:3]
    c1, c2 = st.columns([1, 3])
    view = c1.radio(
        "View", ["head", "model"], horizontal=True, key=k("bv_view"),
        format_func={"head": "Head view", "model": "Model view"}.get,
    )  # fmt: skip
    default = list(range(n_layers))
    if n_layers > 12:  # 30 layers × 9 heads of T² lines is too much for one browser tab
        default = sorted({round(i * (n_layers - 1) / 5) for i in range(6)})
    layers = c2.multiselect(
        "Layers shown", list(range(n_layers)), default=default,
        key=k(f"bv_layers_{handle.choice.key}"), help="Fewer layers keep the view fast.",
    )  # fmt: skip
    if not layers:
        st.info("Pick at least one layer.", icon=":material/layers:")
        return
    page = bertviz_page(handle, text, run.arch, view, tuple(sorted(layers)))
    n_tok = min(T, CFG.bertviz_tokens)
    st.iframe(page, height=min(BV.iframe_height(view, n_tok, len(layers), n_heads), 2400))
    cut = f" bertviz shows the first {CFG.bertviz_tokens:,} tokens." if n_tok < T else ""
    st.caption(
        "Head view: hover a token to see where it looks; double-click a colour to isolate a head. "
        "Model view: every layer (row) × head (column); click a cell to enlarge it. Drawn "
        f"offline: d3, jQuery and require.js are inlined from assets/vendor.{cut}"
    )


@st.fragment
def heatmaps(handle: Any, run: A.AttentionRun) -> None:
    n_layers, n_heads = run.attentions.shape[:2]
    mkey = handle.choice.key  # layer/head ranges differ between models
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 0, n_layers - 1, 0, key=k(f"heat_layer_{mkey}"))
    head = c2.selectbox(
        "Head", [None, *range(n_heads)], key=k(f"heat_head_{mkey}"),
        format_func=lambda h: "mean of all heads" if h is None else f"head {h}",
    )  # fmt: skip
    a = A.head_map(run, layer, head)
    name = "mean of heads" if head is None else f"head {head}"
    title = f"Layer {layer}, {name}: row = query, column = key"
    st.plotly_chart(fig.attention_map(a, run.tokens, title), key=k("heatmap"))
    st.caption(f"Each row sums to 1 (largest deviation here: {A.row_sum_gap(a):.1e}).")


@st.fragment
def by_hand(handle: Any, run: A.AttentionRun, text: str) -> None:
    n_layers, n_heads = run.attentions.shape[:2]
    mkey = handle.choice.key
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 0, n_layers - 1, 0, key=k(f"step_layer_{mkey}"))
    head = c2.slider("Head", 0, n_heads - 1, 0, key=k(f"step_head_{mkey}"))
    try:
        s = head_by_hand(handle, text, run.arch, layer, head)
    except (ValueError, AttributeError) as exc:
        st.info(f"The step-through covers BERT-like and Llama-like models: {exc}")
        return
    hs = s.q.shape[1]
    if run.arch == "encoder":
        st.markdown(
            f"The hidden state entering layer {layer} goes through this layer's `query`, `key` "
            f"and `value` Linear maps; head {head} owns columns {head * hs:,}–"
            f"{(head + 1) * hs - 1:,}."
        )
    else:
        st.markdown(
            f"The stream entering layer {layer} is RMSNorm'd, then `q_proj`/`k_proj`/`v_proj`; Q "
            f"and K are **rotated by RoPE**. Query head {head} reads **K/V head {s.kv_head}** "
            f"(GQA: {s.group} query heads share one K/V head)."
        )
    c_qkv, c_check = st.columns([3, 1])
    c_qkv.plotly_chart(fig.qkv(s.q, s.k, s.v, run.tokens), key=k("step_qkv"))
    c_check.metric("max |by hand − model's attention|", f"{A.by_hand_gap(run, s):.1e}")
    c_check.caption(
        "The model's own weights: `output_attentions=True`, same forward pass. Row sums of the "
        f"softmax: {s.probs.sum(-1).min():.6f} … {s.probs.sum(-1).max():.6f}."
    )
    # QKᵀ, ÷ √d, masked, softmax: one row of four on a projector, two rows of two otherwise.
    per_row = 4 if presenter() else 2
    steps = fig.head_steps(s, run.tokens, run.causal, height=320 if presenter() else None)
    for first in range(0, 4, per_row):
        for j, col in enumerate(st.columns(per_row)):
            col.plotly_chart(steps[first + j], key=k(f"step_{first + j}"))
    st.plotly_chart(fig.head_output(s.out, run.tokens), key=k("step_out"))


@st.fragment
def compare(role: str, handle: Any, run: A.AttentionRun, text: str) -> None:
    for col, r in zip(st.columns(2), ROLES, strict=True):
        with col:
            h, rr = (handle, run) if r == role else run_for(r, text)
            n_l = rr.attentions.shape[0]
            st.markdown(f"**{ROLES[r]}** — {h.choice.label}, {len(rr.tokens):,} tokens")
            layer = st.slider("Layer", 0, n_l - 1, n_l // 2, key=k(f"cmp_layer_{h.choice.key}"))
            title = f"Layer {layer}, mean of heads"
            st.plotly_chart(
                fig.attention_map(A.head_map(rr, layer), rr.tokens, title), key=k(f"cmp_{r}")
            )
            st.metric("Weight on later tokens (all layers and heads)", f"{A.future_weight(rr):.2%}")


@st.fragment
def finder(handle: Any, run: A.AttentionRun, text: str) -> None:
    summary = head_summary(handle, text, run.arch)
    metric = st.selectbox(
        "Per-head measure", list(A.METRICS), format_func=A.METRICS.get, key=k("find_metric")
    )
    unit = {"entropy": "nats", "distance": "tokens"}.get(metric, "fraction")
    c_grid, c_list = st.columns([3, 2])
    title = f"{A.METRICS[metric]}, averaged over query rows"
    c_grid.plotly_chart(fig.head_grid(summary.get(metric), title, unit), key=k("find_heat"))
    lines = []
    for label, m, top in A.special_heads(summary, run.arch):
        fmt = "{:.2f}" if m in ("entropy", "distance") else "{:.0%}"
        found = ", ".join(f"L{la} H{he} ({fmt.format(v)})" for la, he, v in top)
        lines.append(f"- **{label}:** {found or 'needs at least two tokens'}")
    c_list.markdown("\n".join(lines))
    if metric == "entropy":
        T = len(run.tokens)
        c_list.caption(
            f"A head spreading evenly over every visible key scores "
            f"{A.uniform_entropy(T, run.causal):.2f} nats on this sentence."
        )
    c_list.caption("Open one in Heatmaps, or step through it in “One head by hand”.")
