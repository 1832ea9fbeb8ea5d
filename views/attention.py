"""Attention: bertviz head/model views (offline), per-head heatmaps, one head computed by hand from
the real weights, encoder vs decoder on the same sentence, and a finder for special heads."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from lessons import attention as A
from lessons import bertviz_offline as BV
from models.handle import Handle as Loaded
from ui.models import get_model
from ui.widgets import empty_hint, guarded_text, show_code, visible_ws

CFG = A.AttentionConfig()
ROLES = {"encoder": "Encoder · bidirectional", "chat": "Decoder · causal"}
ARCH = {"encoder": "encoder", "chat": "decoder"}


def _labels(tokens: list[str]) -> list[str]:
    # Plotly decodes entities, so escaped text shows as typed; the index keeps repeats apart.
    return [f"{i}: {html.escape(visible_ws(t.replace('Ġ', ' ').replace('Ċ', chr(10))))}"
            for i, t in enumerate(tokens)]  # fmt: skip


def _heatmap(
    z: np.ndarray,
    y: list[str],
    x: list[str] | None,
    title: str,
    x_title: str,
    colorbar: str,
    scale: str = "Blues",
    zmid: float | None = None,
    height: int | None = None,
) -> go.Figure:
    z = np.where(np.isfinite(z), z, np.nan)  # -inf (masked) shows as a blank cell
    x = x if x is not None else [str(j) for j in range(z.shape[1])]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=x, y=y, colorscale=scale, zmid=zmid, colorbar={"title": {"text": colorbar}},
            hovertemplate="row %{y}<br>column %{x}<br>value %{z:.4f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title="query token (row)", type="category")
    fig.update_xaxes(title=x_title, type="category", tickangle=-60)
    rows = len(y)
    fig.update_layout(
        title=title,
        height=height or int(min(900, max(320, 130 + 18 * rows))),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def _qkv_figure(s: A.HeadSteps, lab: list[str]) -> go.Figure:
    """Q, K and V of one head side by side, one shared colour scale."""
    hs = s.q.shape[1]
    names = [f"{n}  ({len(lab)} × {hs})" for n in ("Q", "K", "V")]
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, subplot_titles=names,
                        horizontal_spacing=0.03)  # fmt: skip
    dims = [str(j) for j in range(hs)]
    for col, m in enumerate((s.q, s.k, s.v), start=1):
        fig.add_trace(
            go.Heatmap(z=m, x=dims, y=lab, coloraxis="coloraxis",
                       hovertemplate="token %{y}<br>dim %{x}<br>%{z:.3f}<extra></extra>"),
            row=1, col=col,
        )  # fmt: skip
        fig.update_xaxes(title="dimension", type="category", nticks=8, row=1, col=col)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_yaxes(title="token", row=1, col=1)
    fig.update_layout(
        coloraxis={"colorscale": "RdBu", "cmid": 0.0, "colorbar": {"title": {"text": "value"}}},
        height=int(min(900, max(320, 130 + 18 * len(lab)))),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def _attention_figure(a: np.ndarray, tokens: list[str], title: str, **kw) -> go.Figure:
    lab = _labels(tokens)
    return _heatmap(a, lab, lab, title, "key token (column)", "weight", **kw)


# ---- cached model work (hash: text + model key; the handle itself is not hashed) --------------


@st.cache_data(max_entries=8, show_spinner="Running the model with output_attentions…")
def cached_run(text: str, model_key: str, arch: str, max_tokens: int, _h: Loaded) -> A.AttentionRun:
    with _h.lock:
        return A.run_attention(_h.model, _h.tokenizer, text, max_tokens, arch=arch)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_steps(
    text: str, model_key: str, arch: str, layer: int, head: int, _h: Loaded, _run: A.AttentionRun
) -> A.HeadSteps:
    with _h.lock:
        return A.head_steps(_h.model, _run, layer, head)


@st.cache_data(max_entries=8, show_spinner=False)
def cached_summary(text: str, model_key: str, arch: str, _run: A.AttentionRun) -> A.HeadSummary:
    return A.summarize_heads(_run.attentions)


@st.cache_data(max_entries=8, show_spinner="Building the bertviz view…")
def cached_bertviz(
    text: str, model_key: str, view: str, layers: tuple[int, ...], _run: A.AttentionRun
) -> str:
    cfg = BV.BertvizConfig(view=view, max_tokens=CFG.bertviz_tokens)
    return BV.bertviz_html(_run.attentions, _run.tokens, cfg, layers=list(layers))


def run_for(text: str, role: str, h: Loaded, max_tokens: int = CFG.max_tokens) -> A.AttentionRun:
    try:
        return cached_run(text, h.choice.key, ARCH[role], max_tokens, h)
    except ValueError as exc:
        st.error(f"{h.choice.label}: {exc}")
        st.stop()


# ---- page ------------------------------------------------------------------------------------

st.title("Attention")
left, right = st.columns([3, 2], gap="large")
with right:
    st.markdown(
        "Each token asks a **query** $q$, offers a **key** $k$ and carries a **value** $v$ "
        "(three linear maps of its hidden state, per head). A head scores every pair, "
        "$QK^\\top/\\sqrt{d}$, hides what it may not see (padding; the future in a decoder), "
        "and turns each row into weights with a softmax: row $i$ is *how much token $i$ reads "
        "from each token*, and sums to 1. Its output is that weighted sum of values.\n\n"
        "**Encoders** (MiniLM, BERT) let every token see every other one. **Decoders** "
        "(SmolLM2, Llama) see only the past: the upper triangle is exactly zero. Heads "
        "specialise: some read the previous token, some park their weight on the first token "
        "(a *sink*), some spread out."
    )
with left:
    guarded = guarded_text(
        "Your sentence", A.DEFAULT_SENTENCE, key="attention_text", height=80,
        help=f"Heatmaps use the first {CFG.max_tokens} tokens, bertviz the first "
        f"{CFG.bertviz_tokens}.",
    )  # fmt: skip
    role = st.radio(
        "Model for the views below",
        list(ROLES),
        format_func=ROLES.get,
        horizontal=True,
        key="attention_role",
        help="The sidebar picks which encoder and which decoder serve.",
    )

if guarded.empty:
    empty_hint("a sentence")
    st.stop()
text = guarded.text

handle = get_model(role)
mkey = handle.choice.key  # widget keys per model: layer/head ranges differ between models
run = run_for(text, role, handle)
n_layers, n_heads, T = run.attentions.shape[:3]
if run.truncated:
    st.caption(
        f":material/content_cut: {run.n_tokens_in:,} tokens; the views use the first "
        f"{T} (cap {CFG.max_tokens})."
    )
st.caption(
    f"{handle.choice.label}: {n_layers} layers × {n_heads} heads, {T} tokens"
    + (" — causal mask" if run.causal else " — no mask (bidirectional)")
)

tab_bv, tab_heat, tab_step, tab_cmp, tab_find = st.tabs(
    ["bertviz", "Heatmaps", "One head by hand", "Encoder vs decoder", "Head finder"]
)


@st.fragment
def bertviz_panel() -> None:
    c1, c2 = st.columns([1, 3])
    view = c1.radio(
        "View", ["head", "model"], horizontal=True, key="attention_bv_view",
        format_func={"head": "Head view", "model": "Model view"}.get,
    )  # fmt: skip
    default = list(range(n_layers))
    if n_layers > 12:  # 30 layers × 9 heads of T² lines is too much for one browser tab
        default = sorted({round(i * (n_layers - 1) / 5) for i in range(6)})
    layers = c2.multiselect(
        "Layers shown", list(range(n_layers)), default=default, key=f"attention_bv_layers_{mkey}",
        help="Fewer layers keep the view fast for deep models.",
    )  # fmt: skip
    if not layers:
        st.info("Pick at least one layer.", icon=":material/layers:")
        return
    bv_run = run
    if len(run.tokens) > CFG.bertviz_tokens:
        # A causal map's first rows are already a shorter run; an encoder must run again.
        bv_run = (
            A.first_tokens(run, CFG.bertviz_tokens)
            if run.causal
            else run_for(text, role, handle, CFG.bertviz_tokens)
        )
        st.caption(
            f":material/content_cut: bertviz shows the first {CFG.bertviz_tokens} tokens "
            "(it draws every token pair of every head)."
        )
    page = cached_bertviz(text, handle.choice.key, view, tuple(sorted(layers)), bv_run)
    height = BV.iframe_height(view, len(bv_run.tokens), len(layers), n_heads)
    st.iframe(page, height=min(height, 2400))
    st.caption(
        "Head view: hover a token to see where it looks; double-click a colour to isolate a head. "
        "Model view: every layer (row) × head (column); click a cell to enlarge it. "
        "Rendered offline: d3, jQuery and require.js are inlined from assets/vendor."
    )


@st.fragment
def heatmap_panel() -> None:
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 0, n_layers - 1, 0, key=f"attention_heat_layer_{mkey}")
    head = c2.selectbox(
        "Head", ["mean", *range(n_heads)], key=f"attention_heat_head_{mkey}",
        format_func=lambda h: "mean of all heads" if h == "mean" else f"head {h}",
    )  # fmt: skip
    a = run.attentions[layer].mean(0) if head == "mean" else run.attentions[layer, head]
    name = "mean of heads" if head == "mean" else f"head {head}"
    st.plotly_chart(
        _attention_figure(a, run.tokens, f"Layer {layer}, {name}: row = query, column = key"),
        key="attention_heatmap",
    )
    st.caption(f"Each row sums to 1 (largest deviation here: {np.abs(a.sum(-1) - 1).max():.1e}).")


@st.fragment
def step_panel() -> None:
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 0, n_layers - 1, 0, key=f"attention_step_layer_{mkey}")
    head = c2.slider("Head", 0, n_heads - 1, 0, key=f"attention_step_head_{mkey}")
    try:
        s = cached_steps(text, handle.choice.key, run.arch, layer, head, handle, run)
    except (ValueError, AttributeError) as exc:
        st.info(f"The step-through covers BERT-like and Llama-like models: {exc}")
        return
    hs = s.q.shape[1]
    lab = _labels(run.tokens)
    if run.arch == "encoder":
        st.markdown(
            f"The hidden state entering layer {layer} goes through this layer's `query`, `key` "
            f"and `value` Linear maps; head {head} owns columns {head * hs}–{(head + 1) * hs - 1}."
        )
    else:
        st.markdown(
            f"The residual stream entering layer {layer} is RMSNorm'd (`input_layernorm`), then "
            f"`q_proj`/`k_proj`/`v_proj`. Q and K are **rotated by RoPE** (position enters here, "
            f"not in the stream). Query head {head} reads **K/V head {s.kv_head}** (GQA: "
            f"{s.group} query heads share one K/V head)."
        )
    st.plotly_chart(_qkv_figure(s, lab), key="attention_step_qkv")
    steps = (
        ("QKᵀ", s.scores, "score", "RdBu", 0.0),
        (f"÷ √{hs} (× {s.scale:.4f})", s.scaled, "score", "RdBu", 0.0),
        ("masked (blank = −∞)" if run.causal else "masked (nothing to hide)", s.masked, "score",
         "RdBu", 0.0),
        ("softmax over each row", s.probs, "weight", "Blues", None),
    )  # fmt: skip
    for i in range(0, 4, 2):
        cols = st.columns(2)
        for col, (name, m, cbar, scale, zmid) in zip(cols, steps[i : i + 2], strict=True):
            col.plotly_chart(
                _heatmap(m, lab, lab, name, "key token (column)", cbar, scale=scale, zmid=zmid),
                key=f"attention_step_{name}",
            )
    c_out, c_check = st.columns([2, 1])
    c_out.plotly_chart(
        _heatmap(s.out, lab, None, f"softmax · V  ({s.out.shape[0]} × {hs}): this head's output",
                 "dimension", "value", scale="RdBu", zmid=0.0),
        key="attention_step_out",
    )  # fmt: skip
    diff = float(np.abs(s.probs - run.attentions[layer, head]).max())
    c_check.metric("max |by hand − model's attention|", f"{diff:.1e}")
    c_check.caption(
        "The model's own weights come from `output_attentions=True` in the same forward pass. "
        "Row sums of the softmax: "
        f"{s.probs.sum(-1).min():.6f} … {s.probs.sum(-1).max():.6f}."
    )


@st.fragment
def compare_panel() -> None:
    handles = {r: (get_model(r) if r != role else handle) for r in ROLES}
    runs = {r: (run if r == role else run_for(text, r, handles[r])) for r in ROLES}
    cols = st.columns(2)
    for col, r in zip(cols, ROLES, strict=True):
        rr = runs[r]
        n_l = rr.attentions.shape[0]
        with col:
            st.markdown(f"**{ROLES[r]}** — {handles[r].choice.label}, {len(rr.tokens)} tokens")
            key = f"attention_cmp_layer_{handles[r].choice.key}"
            layer = st.slider("Layer", 0, n_l - 1, n_l // 2, key=key)
            a = rr.attentions[layer].mean(0)  # (T, T) mean over heads
            st.plotly_chart(
                _attention_figure(a, rr.tokens, f"Layer {layer}, mean of heads"),
                key=f"attention_cmp_{r}",
            )
            future = float(np.triu(rr.attentions, k=1).sum(-1).mean())
            st.metric("Weight on later tokens (all layers and heads)", f"{future:.2%}")
    st.caption(
        "Same sentence, two tokenizers (WordPiece vs byte-level BPE), two masks. Under the causal "
        "mask the first token can only read itself, so early rows are sharp and the first column "
        "collects weight."
    )


@st.fragment
def finder_panel() -> None:
    summary = cached_summary(text, handle.choice.key, run.arch, run)
    metric = st.selectbox(
        "Per-head measure", list(A.METRICS), format_func=A.METRICS.get,
        key="attention_find_metric",
    )  # fmt: skip
    values = summary.get(metric)
    unit = {"entropy": "nats", "distance": "tokens"}.get(metric, "fraction")
    fig = _heatmap(
        values, [str(i) for i in range(n_layers)], [str(h) for h in range(n_heads)],
        f"{A.METRICS[metric]}, averaged over query rows", "head", unit, scale="Viridis",
        height=int(min(900, 160 + 22 * n_layers)),
    )  # fmt: skip
    fig.update_yaxes(title="layer")
    if unit == "fraction":
        fig.update_traces(zmin=0.0, zmax=1.0)
    st.plotly_chart(fig, key="attention_find_heat")
    if metric == "entropy":
        st.caption(
            f"A head spreading evenly over every visible key would score "
            f"{A.uniform_entropy(T, run.causal):.2f} nats on this sentence."
        )

    def names(m: str, largest: bool = True) -> str:
        top = A.top_heads(summary.get(m), k=3, largest=largest)
        if not top:
            return "needs at least two tokens"
        fmt = (lambda v: f"{v:.2f}") if m in ("entropy", "distance") else (lambda v: f"{v:.0%}")
        return ", ".join(f"L{layer} H{head} ({fmt(v)})" for layer, head, v in top)

    first = "[CLS]" if run.arch == "encoder" else "first-token"
    st.markdown(
        f"- **Previous-token heads:** {names('previous')}\n"
        f"- **{first} sink heads:** {names('first')}\n"
        + (f"- **[SEP] / last-token heads:** {names('last')}\n" if run.arch == "encoder" else "")
        + f"- **Broadest heads** (highest entropy): {names('entropy')}\n"
        f"- **Sharpest heads** (lowest entropy): {names('entropy', largest=False)}"
    )
    st.caption("Open one in the Heatmaps tab, or step through it in “One head by hand”.")


with tab_bv:
    bertviz_panel()
with tab_heat:
    heatmap_panel()
with tab_step:
    step_panel()
with tab_cmp:
    compare_panel()
with tab_find:
    finder_panel()

show_code(
    A.run_attention,
    A._softmax_steps,
    A.encoder_head_steps,
    A.decoder_head_steps,
    A.summarize_heads,
    BV.script_safe_json,
    BV.make_offline,
)
