"""High-level architecture: encoder-only, decoder-only and encoder-decoder side by side; one real
forward pass stage by stage, every tensor shape; where the parameters live."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from lessons import architecture as arch
from ui.models import get_model
from ui.widgets import empty_hint, guarded_text, show_code, token_spans_html, visible_ws

CFG = arch.TraceConfig()
ATTN, FFN, EMB, HEAD, NORM = "#fdba74", "#93c5fd", "#86efac", "#c4b5fd", "#e5e7eb"


def _label(i: int, token: str) -> str:
    # Plotly decodes entities, so escaped text shows as typed; the index keeps repeats apart.
    return f"{i}: {html.escape(visible_ws(token))}"


# ---- the three families ---------------------------------------------------------------------


def _stack(fig: go.Figure, x0: float, boxes: list[tuple[str, str]], w: float = 2.6) -> dict:
    """Boxes bottom-up at x0; returns each box's centre by label for the arrows."""
    centres = {}
    for j, (text, color) in enumerate(boxes):
        y = j * 1.1
        fig.add_shape(
            type="rect",
            x0=x0,
            x1=x0 + w,
            y0=y,
            y1=y + 0.75,
            fillcolor=color,
            line={"color": "#475569", "width": 1},
        )
        fig.add_annotation(
            x=x0 + w / 2,
            y=y + 0.375,
            text=text,
            showarrow=False,
            font={"size": 11, "color": "#111827"},
        )
        if j:
            fig.add_annotation(
                x=x0 + w / 2,
                y=y,
                ax=x0 + w / 2,
                ay=y - 0.35,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                arrowhead=2,
                showarrow=True,
                text="",
            )
        centres[text] = (x0 + w / 2, y + 0.375)
    return centres


def _bracket(fig: go.Figure, x0: float, y0: float, y1: float, text: str, w: float = 2.6) -> None:
    fig.add_shape(
        type="rect",
        x0=x0 - 0.12,
        x1=x0 + w + 0.12,
        y0=y0 - 0.12,
        y1=y1 + 0.12,
        line={"color": "#64748b", "dash": "dot"},
    )
    fig.add_annotation(
        x=x0 + w + 0.2,
        y=(y0 + y1) / 2,
        text=text,
        showarrow=False,
        xanchor="left",
        font={"size": 12},
    )


def diagram() -> go.Figure:
    fig = go.Figure()
    _stack(
        fig,
        0,
        [
            ("input tokens", NORM),
            ("token + position<br>embeddings", EMB),
            ("self-attention<br>(all ↔ all)", ATTN),
            ("feed-forward", FFN),
            ("head: per token<br>or pooled", HEAD),
        ],
    )
    _bracket(fig, 0, 2.2, 3.3 + 0.75, "× N")
    _stack(
        fig,
        4.2,
        [
            ("input tokens", NORM),
            ("token emb.<br>(RoPE inside attn)", EMB),
            ("masked<br>self-attention", ATTN),
            ("feed-forward", FFN),
            ("LM head<br>→ next token", HEAD),
        ],
    )
    _bracket(fig, 4.2, 2.2, 3.3 + 0.75, "× N")
    enc = _stack(
        fig,
        8.4,
        [
            ("source tokens", NORM),
            ("token + position<br>embeddings", EMB),
            ("self-attention<br>(all ↔ all)", ATTN),
            ("feed-forward", FFN),
        ],
        w=2.3,
    )
    _bracket(fig, 8.4, 2.2, 3.3 + 0.75, "× N", w=2.3)
    dec = _stack(
        fig,
        11.6,
        [
            ("target tokens<br>(so far)", NORM),
            ("token + position<br>embeddings", EMB),
            ("masked<br>self-attention", ATTN),
            ("cross-attention", ATTN),
            ("feed-forward", FFN),
            ("LM head<br>→ next token", HEAD),
        ],
        w=2.3,
    )
    _bracket(fig, 11.6, 2.2, 4.4 + 0.75, "× N", w=2.3)
    (ex, ey), (dx, dy) = enc["feed-forward"], dec["cross-attention"]
    fig.add_annotation(
        x=dx - 1.15,
        y=dy,
        ax=ex + 1.15,
        ay=ey + 0.2,
        xref="x",
        yref="y",
        axref="x",
        ayref="y",
        arrowhead=2,
        arrowwidth=2,
        arrowcolor="#ea580c",
        showarrow=True,
        text="",
    )
    fig.add_annotation(
        x=10.6,
        y=4.5,
        text="encoder output:<br>keys, values",
        showarrow=False,
        font={"size": 11, "color": "#ea580c"},
    )
    for x, title in ((1.3, "Encoder-only"), (5.5, "Decoder-only"), (11.0, "Encoder-decoder")):
        fig.add_annotation(x=x, y=6.9, text=f"<b>{title}</b>", showarrow=False, font={"size": 15})
    fig.update_xaxes(visible=False, range=[-0.3, 14.6])
    fig.update_yaxes(visible=False, range=[-0.3, 7.3])
    fig.update_layout(
        height=430,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=False,
    )
    return fig


def mask_figure(n: int = 6) -> go.Figure:
    panels = (
        ("Encoder self-attention", "bidirectional", n, n),
        ("Decoder self-attention", "causal", n, n),
        ("Cross-attention", "cross", n - 1, n),
    )
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=[p[0] for p in panels], horizontal_spacing=0.08
    )
    for c, (_, kind, nq, nk) in enumerate(panels, 1):
        fig.add_trace(
            go.Heatmap(
                z=arch.attention_pattern(kind, nq, nk),
                zmin=0,
                zmax=1,
                colorscale=[[0, "#f1f5f9"], [1, "#ea580c"]],
                showscale=False,
                xgap=2,
                ygap=2,
                hovertemplate="query %{y} → key %{x}: %{z:.0f}<extra></extra>",
            ),
            row=1,
            col=c,
        )
        fig.update_yaxes(autorange="reversed", title_text="query position", row=1, col=c)
        fig.update_xaxes(
            title_text="key position (encoder)" if kind == "cross" else "key position", row=1, col=c
        )
    fig.update_layout(height=260, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    return fig


# ---- the forward pass -----------------------------------------------------------------------


@st.cache_data(show_spinner="Running the forward pass stage by stage…", max_entries=32)
def run_trace(text: str, model_key: str, _handle) -> arch.TraceView:
    with _handle.lock, torch.inference_mode():
        trace = arch.trace_forward(_handle.model, _handle.tokenizer, text, CFG)
        gap = arch.parity(_handle.model, trace)
        return arch.view_trace(trace, _handle.tokenizer, gap, CFG)


@st.cache_data(show_spinner=False, max_entries=8)
def param_rows(model_key: str, _handle) -> tuple[list[arch.ParamRow], int, dict[str, int]]:
    with _handle.lock:
        model = _handle.model
        rows = arch.count_parameters(model)
        total = sum(p.numel() for p in model.parameters())
        formula = arch.block_formula(model.config, arch.detect_arch(model))
    return rows, total, formula


def treemap_nodes(rows: list[arch.ParamRow], root: str) -> tuple[list, list, list, list]:
    """model -> component (summed over blocks) -> block; a node's value is its children's sum."""
    nodes: list[tuple[str, str, str, int]] = [("model", "", root, sum(r.params for r in rows))]
    for comp, total in arch.totals_by_component(rows).items():
        if total == 0:  # a tied head owns no tensor of its own
            continue
        nodes.append((comp, "model", comp, total))
        for r in rows:
            key = f"blocks · {r.component}" if r.group == "blocks" else r.component
            if key == comp and r.block is not None:
                nodes.append((f"{comp}/{r.block}", comp, f"block {r.block}", r.params))
    ids, parents, labels, values = (list(col) for col in zip(*nodes, strict=True))
    return ids, parents, labels, values


def _short(s: arch.StageView) -> str:
    if s.block is None:
        return "embeddings"
    return f"{s.block}·{'attn' if 'attention' in s.name else 'FFN'}"


def depth_figure(view: arch.TraceView) -> go.Figure:
    """Per-token L2 norm of the residual stream at every depth."""
    stream = [s for s in view.stages if s.residual]
    z = np.stack([s.token_norms for s in stream], axis=1)  # (T, depth)
    xs = [_short(s) for s in stream]
    ys = [_label(i, t) for i, t in enumerate(view.tokens)]
    # Log colour scale: one outlier token (often the first) can be 100x the others.
    fig = go.Figure(
        go.Heatmap(
            z=np.log10(np.maximum(z, 1e-6)),
            x=xs,
            y=ys,
            customdata=z,
            colorscale="Viridis",
            colorbar={"title": {"text": "L2 norm"}, "tickprefix": "10^"},
            hovertemplate="%{y}<br>%{x}<br>‖x‖ = %{customdata:.2f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="token")
    fig.update_xaxes(title_text="depth: the residual stream after each sublayer", nticks=24)
    height = min(700, max(260, 18 * len(ys) + 110))
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return fig


@st.fragment
def stage_explorer(view: arch.TraceView) -> None:
    """Move through the stages without re-running the model."""
    names = [s.name for s in view.stages]
    idx = st.select_slider(
        "Stage",
        options=list(range(len(names))),
        value=max(i for i, s in enumerate(view.stages) if s.residual),
        format_func=lambda i: names[i],
        key=f"arch_stage_{view.arch}_{len(names)}",
    )
    s = view.stages[idx]
    st.markdown(f"**{s.name}** · shape `{tuple(s.shape)}`" + (f" · {s.note}" if s.note else ""))
    rows = [_label(i, t) for i, t in enumerate(view.tokens[: s.preview.shape[0]])]
    if s.kind == "pooled":
        rows = ["sentence"]
    left, right = st.columns(2)
    clip = float(np.percentile(np.abs(s.preview), 98)) or 1.0
    heat = go.Figure(
        go.Heatmap(
            z=s.preview,
            y=rows,
            x=list(range(s.preview.shape[1])),
            colorscale="RdBu",
            zmid=0,
            # Clip the colours at the 98th percentile so one huge dimension does not wash out
            # the rest; hover shows the true value.
            zmin=-clip,
            zmax=clip,
            colorbar={"title": {"text": "value"}},
            hovertemplate="%{y}<br>dim %{x}: %{z:.3f}<extra></extra>",
        )
    )
    heat.update_yaxes(autorange="reversed", title_text="token")
    heat.update_xaxes(title_text=f"hidden dimension (first {s.preview.shape[1]} of {s.shape[-1]})")
    heat.update_layout(
        height=360,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        title={"text": "values: first tokens × first dims", "font": {"size": 13}},
    )
    left.plotly_chart(heat, key="arch_stage_heat")
    labels = (
        ["sentence"] if s.kind == "pooled" else [_label(i, t) for i, t in enumerate(view.tokens)]
    )
    bars = go.Figure(
        go.Bar(
            x=s.token_norms,
            y=labels,
            orientation="h",
            marker_color="#0ea5e9",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    bars.update_yaxes(autorange="reversed", title_text="token")
    bars.update_xaxes(title_text="L2 norm of the token's vector")
    bars.update_layout(
        height=max(360, 16 * len(labels) + 80),
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        title={"text": "per-token L2 norm", "font": {"size": 13}},
    )
    right.plotly_chart(bars, key="arch_stage_norms")


def show_forward(view: arch.TraceView, handle) -> None:
    T = len(view.tokens)
    if view.truncated:
        st.warning(
            f"The sentence is {view.n_tokens_in:,} tokens; only the first {T} are used "
            f"(special tokens included).",
            icon=":material/content_cut:",
        )
    st.html(token_spans_html(view.tokens, titles=[f"#{i}" for i in range(T)], show_ws=True))
    cfg = handle.model.config
    m = st.columns(4)
    m[0].metric("Tokens T", T)
    m[1].metric("Width d", cfg.hidden_size)
    m[2].metric("Blocks", cfg.num_hidden_layers)
    m[3].metric(
        "max |staged − model()|",
        f"{view.parity:.1e}",
        help="Our stage-by-stage recomputation against the model's own forward "
        "(logits for a decoder, last_hidden_state for an encoder).",
    )

    st.subheader("Every stage, its shape")
    table = pd.DataFrame(
        {
            "stage": [s.name for s in view.stages],
            "shape": [str(tuple(s.shape)) for s in view.stages],
            "residual stream?": ["yes" if s.residual else "" for s in view.stages],
            "mean ‖x‖ per token": [float(s.token_norms.mean()) for s in view.stages],
            "note": [s.note for s in view.stages],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        height=300,
        column_config={"mean ‖x‖ per token": st.column_config.NumberColumn(format="%.2f")},
    )
    st.plotly_chart(depth_figure(view), key="arch_depth")
    last = [s for s in view.stages if s.residual][-1].token_norms
    ratio = float(last.max() / max(np.median(last), 1e-9))
    if ratio > 5:
        top = int(last.argmax())
        st.caption(
            f"Token #{top} ends with a residual-stream norm "
            f"{ratio:.0f}× the median: a *massive activation*; many LLMs park attention on such a "
            "token (an 'attention sink') when no other token is worth attending to."
        )
    stage_explorer(view)

    if view.arch == "decoder":
        st.subheader("Output: the next token")
        cand = pd.DataFrame(
            {
                "next token": [visible_ws(t) for t, _ in view.top_next],
                "probability": [p for _, p in view.top_next],
            }
        )
        c1, c2 = st.columns([1, 2])
        c1.dataframe(
            cand,
            hide_index=True,
            column_config={
                "probability": st.column_config.ProgressColumn(
                    format="%.3f", min_value=0, max_value=1
                )
            },
        )
        fig = go.Figure(
            go.Bar(
                x=cand["probability"],
                y=[f"{i + 1}. {html.escape(t)}" for i, t in enumerate(cand["next token"])],
                orientation="h",
                marker_color=HEAD,
            )
        )
        fig.update_yaxes(autorange="reversed", title_text="candidate")
        fig.update_xaxes(title_text="P(next token | sentence)", range=[0, 1])
        fig.update_layout(height=240, margin={"l": 0, "r": 0, "t": 10, "b": 0})
        c2.plotly_chart(fig, key="arch_next")
    else:
        pooled = view.stages[-1]
        st.subheader("Output: the sentence embedding")
        st.markdown(
            f"Mean pooling over the {T} token vectors gives one vector of shape "
            f"`{tuple(pooled.shape)}` (L2 norm {pooled.token_norms[0]:.3f}); this is what "
            "sentence-transformers' all-MiniLM-L6-v2 returns before normalising. "
            "BERT's own *pooler* (dense + tanh on [CLS]) was trained for next-sentence "
            "prediction and is a poor sentence vector."
        )


# ---- page -----------------------------------------------------------------------------------

st.title("High-level architecture")
text_col, diagram_col = st.columns([2, 5])
with text_col:
    st.markdown(
        "Every transformer is the same loop: **embed** the tokens, then repeat a **block** N "
        "times (attention mixes information *between* tokens, a feed-forward network transforms "
        "each token *on its own*, both added to a running **residual stream**), then a **head** "
        "reads the result.\n\n"
        "The three families differ in **what attention may see**: an encoder reads the whole "
        "sentence at once, a decoder only what came before (so it can generate), and an "
        "encoder-decoder adds cross-attention so the output side can read the input side."
    )
with diagram_col:
    st.plotly_chart(diagram(), key="arch_diagram", config={"displayModeBar": False})
for col, fam in zip(st.columns(len(arch.FAMILIES)), arch.FAMILIES, strict=True):
    with col.container(border=True):
        st.markdown(
            f"**{fam.name}**\n\n"
            f"- **Attention sees:** {fam.sees}\n"
            f"- **Pre-training:** {fam.objective}\n"
            f"- **Examples:** {fam.examples}\n"
            f"- **Good for:** {fam.use}\n"
            f"- **In this course:** {', '.join(fam.pages)}"
        )
st.plotly_chart(mask_figure(), key="arch_masks", config={"displayModeBar": False})
st.caption("Orange cells: query position (row) may attend to key position (column).")

st.header("One real forward pass")
input_col, about_col = st.columns([3, 2])
with input_col:
    family = st.radio(
        "Model family",
        ["Encoder (BERT-like)", "Decoder (Llama-like)"],
        key="arch_family",
        horizontal=True,
        help="Which encoder / decoder: the sidebar's choice.",
    )
    guarded = guarded_text(
        "Sentence", arch.DEFAULT_SENTENCE, key="arch_text", max_chars=1000, height=80
    )
is_encoder = family.startswith("Encoder")
with about_col:
    if is_encoder:
        st.markdown(
            "**Encoder (post-LN, BERT).** Learned **position** rows are *added* to the token "
            "embeddings, then LayerNorm. Each block: `x = LN(x + attn(x))`, "
            "`x = LN(x + FFN(x))`. No causal mask. The output is one vector per token; mean "
            "pooling makes one per sentence."
        )
    else:
        st.markdown(
            "**Decoder (pre-norm, Llama).** Nothing is added for positions: **RoPE** rotates q "
            "and k inside attention. Each block: `x = x + attn(RMSNorm(x))`, "
            "`x = x + MLP(RMSNorm(x))` with a causal mask. Final RMSNorm, then the LM head "
            "scores every vocabulary entry for the next token."
        )
    st.caption(
        f"Re-run stage by stage from the model's own submodules, capped at "
        f"{CFG.max_tokens} tokens; the last metric checks it against `model(...)`."
    )

handle = get_model("encoder" if is_encoder else "chat")
st.caption(f"Model: {handle.choice.label}")
view = None
if guarded.empty:
    empty_hint("a sentence")
else:
    try:
        view = run_trace(guarded.text, handle.choice.key, _handle=handle)
    except ValueError as exc:  # a model whose structure neither tracer knows
        st.error(str(exc))
    if view is not None:
        show_forward(view, handle)

st.header("Where the parameters are")
try:
    rows, total, formula = param_rows(handle.choice.key, _handle=handle)
except ValueError as exc:
    st.error(str(exc))
else:
    counted = sum(r.params for r in rows)
    by_comp = arch.totals_by_component(rows)
    c = st.columns(3)
    c[0].metric("Sum of the components", f"{counted:,}")
    c[1].metric("sum(p.numel() for p in model.parameters())", f"{total:,}")
    tied = arch.tied_output_embeddings(handle.model)
    c[2].metric("LM head", "tied to embeddings" if tied else "own weights")
    left, right = st.columns([1, 1])
    with left:
        comp = pd.DataFrame({"component": list(by_comp), "parameters": list(by_comp.values())})
        comp["share"] = comp["parameters"] / max(counted, 1)
        st.dataframe(
            comp,
            hide_index=True,
            column_config={
                "parameters": st.column_config.NumberColumn(format="localized"),
                "share": st.column_config.ProgressColumn(
                    format="percent", min_value=0, max_value=1
                ),
            },
        )
        block0 = {r.component: r.params for r in rows if r.block == 0}
        cfg = handle.model.config
        st.markdown(
            f"One block from the config (d = {cfg.hidden_size}, FFN width = "
            f"{cfg.intermediate_size}): "
            + ", ".join(
                f"{k} {v:,} ({'✓' if block0.get(k) == v else '≠ counted'})"
                for k, v in formula.items()
            )
            + ". Tied embeddings are one tensor, counted once."
        )
    with right:
        ids, parents, labels, values = treemap_nodes(rows, handle.choice.label)
        tree = go.Figure(
            go.Treemap(
                ids=ids,
                parents=parents,
                values=values,
                labels=labels,
                branchvalues="total",
                maxdepth=2,
                textinfo="label+value+percent root",
                hovertemplate="%{label}: %{value:,} parameters (%{percentRoot:.1%})<extra></extra>",
            )
        )
        tree.update_layout(height=420, margin={"l": 0, "r": 0, "t": 10, "b": 0})
        st.plotly_chart(tree, key="arch_tree")
    with st.expander("Every component, block by block"):
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "group": r.group,
                        "block": r.block,
                        "component": r.component,
                        "parameters": r.params,
                        "tensors": ", ".join(r.names),
                    }
                    for r in rows
                ]
            ),
            hide_index=True,
        )

tracer = arch.trace_encoder if is_encoder else arch.trace_decoder
show_code(
    arch.trace_forward,
    tracer,
    arch.parity,
    arch.count_parameters,
    arch.classify,
    arch.block_formula,
    arch.attention_pattern,
)
