"""Position embeddings: sinusoidal (2017 paper), learned (MiniLM's table), rotary (SmolLM2)."""

from __future__ import annotations

import hashlib
import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from lessons import learned_positions as lp
from lessons import rope, sinusoidal
from ui.models import get_model
from ui.widgets import empty_hint, guarded_text, show_code, token_spans_html

ROPE_TOKENS = 32  # real q/k heatmaps stay readable (and fast) up to here
BASES = [100, 1_000, 10_000, 100_000, 500_000, 1_000_000]
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=380)


def _label(i: int, piece: str) -> str:
    # Unique axis labels (repeated words would merge) and escaped: plotly renders some HTML.
    return f"{i}:{html.escape(piece.strip() or '␣')}"


def _base_slider(label: str, key: str, default: float) -> float:
    options = sorted({*BASES, int(default)})
    return float(
        st.select_slider(
            label,
            options=options,
            value=int(default),
            key=key,
            format_func=lambda b: f"{b:,}",
            help="Larger base = slower slowest clock = more distinct positions before repeats.",
        )
    )


# --- cached model reads --------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=4)
def _position_table(model_key: str, _handle) -> lp.PositionTable:
    with _handle.lock, torch.no_grad():
        return lp.position_table(_handle.model)


@st.cache_data(show_spinner="Running the encoder's tokenizer…", max_entries=32)
def _encoder_tokens(text: str, model_key: str, max_len: int, _handle) -> tuple[list[str], int]:
    with _handle.lock:
        full = _handle.tokenizer(text, split_special_tokens=True)["input_ids"]
        ids = _handle.tokenizer(
            text, split_special_tokens=True, truncation=True, max_length=max_len
        )["input_ids"]
        return _handle.tokenizer.convert_ids_to_tokens(ids), len(full)


@st.cache_data(show_spinner="Running SmolLM2 once on your sentence…", max_entries=16)
def _real_qk(text: str, model_key: str, _handle) -> dict:
    """Pre-rotation q/k of every layer, plus the teaching-vs-transformers parity numbers."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    with _handle.lock, torch.inference_mode():
        tok = _handle.tokenizer
        ids = tok(text, split_special_tokens=True, return_tensors="pt")["input_ids"]
        n_total = ids.shape[1]
        ids = ids[:, :ROPE_TOKENS].to(_handle.device)  # (1, T)
        q, k = rope.pre_rope_qk(_handle.model, ids)  # (L, nh, T, hs), (L, nkv, T, hs)
        pos = torch.arange(ids.shape[1])
        cos_m, sin_m = rope.model_cos_sin(_handle.model, pos)  # (T, hs)
        pieces = [tok.decode([i]) for i in ids[0].tolist()]
    cfg = rope.RopeConfig.from_model_config(_handle.model.config)
    cos, sin = rope.cos_sin(pos, rope.inv_freq(cfg.head_dim, cfg.base))
    ours = rope.apply_rope(q[-1], k[-1], cos, sin)
    lib = apply_rotary_pos_emb(q[-1][None], k[-1][None], cos_m[None], sin_m[None])
    return {
        "pieces": pieces,
        "n_total": n_total,
        "q": q.numpy(),
        "k": k.numpy(),
        "cos_sin_diff": float(max((cos - cos_m).abs().max(), (sin - sin_m).abs().max())),
        "apply_diff": float(
            max((ours[0] - lib[0][0]).abs().max(), (ours[1] - lib[1][0]).abs().max())
        ),
    }


# --- page -----------------------------------------------------------------------------------

st.title("Position embeddings")
left, right = st.columns([3, 2])
with left:
    st.markdown(
        "Attention compares every token with every other one and **ignores order**: shuffle the "
        "words and each token gets the same mix. Position has to be injected. Three answers:\n"
        "1. **Sinusoidal** (2017): add a fixed pattern of sines and cosines to each token.\n"
        "2. **Learned** (BERT, GPT-2): add a trained vector per position index.\n"
        "3. **Rotary** (RoPE; Llama, SmolLM2, Qwen): rotate queries and keys by an angle that "
        "grows with position, so attention scores see only the *relative* distance."
    )
with right:
    guarded = guarded_text(
        "A sentence for the real-model parts",
        "The cat sat on the mat because the mat was warm.",
        key="pos_text",
        max_chars=1_000,
        area=False,
        help="MiniLM shows which position rows it uses; SmolLM2 gives real queries and keys.",
    )
    text = guarded.text

tab_sin, tab_learned, tab_rope = st.tabs(
    ["Sinusoidal", "Learned (MiniLM)", "Rotary / RoPE (SmolLM2)"]
)

# --- sinusoidal -----------------------------------------------------------------------------


@st.fragment
def sinusoidal_part() -> None:
    c1, c2, c3 = st.columns(3)
    d_model = c1.slider("Dimension d_model", 16, 512, 128, step=16, key="sin_d")
    with c2:
        base = _base_slider("Base", "sin_base", 10_000)
    n_pos = c3.slider("Number of positions", 16, 512, 128, step=16, key="sin_T")
    cfg = sinusoidal.SinusoidalConfig(n_positions=n_pos, d_model=d_model, base=base)
    pe = sinusoidal.sinusoidal_table(cfg)  # (T, d)

    fig = go.Figure(go.Heatmap(z=pe.numpy(), colorscale="RdBu", zmid=0, colorbar_title="value"))
    fig.update_layout(
        title="PE[p, j]: fast clocks on the left, slow ones on the right",
        xaxis_title="dimension j (even = sin, odd = cos)",
        yaxis_title="position p (tokens)",
        **LAYOUT,
    )
    fig.update_yaxes(autorange="reversed")
    st.plotly_chart(fig, key="sin_table")

    max_off = n_pos // 2
    starts = sorted({0, n_pos // 8, n_pos // 4})
    fig = go.Figure()
    for p in starts:
        dots = sinusoidal.dot_vs_offset(pe, p, max_off)
        fig.add_trace(go.Scatter(y=dots.numpy(), mode="lines", name=f"from p = {p}"))
    closed = sinusoidal.dot_closed_form(cfg, max_off)
    fig.add_trace(
        go.Scatter(y=closed.numpy(), mode="lines", name="Σ cos(k·ω_i)", line=dict(dash="dot"))
    )
    fig.update_layout(
        title="PE[p]·PE[p+k] is the same curve for every p",
        xaxis_title="offset k (tokens)",
        yaxis_title="dot product (max = d_model / 2)",
        **LAYOUT,
    )
    st.plotly_chart(fig, key="sin_dot")


with tab_sin:
    st.markdown(
        "Pair *i* of dimensions holds sin and cos of $p\\,\\omega_i$ with "
        "$\\omega_i = \\text{base}^{-2i/d}$: a clock per pair, fast on the left, slow on the "
        "right. Because $\\sin a \\sin b + \\cos a \\cos b = \\cos(a-b)$, the dot product of two "
        "positions depends **only on their offset** (all curves below overlap) and falls off as "
        "the offset grows. Raise the base: the slow clocks slow down and the curve decays later."
    )
    sinusoidal_part()
    show_code(
        sinusoidal.SinusoidalConfig,
        sinusoidal.frequencies,
        sinusoidal.sinusoidal_table,
        sinusoidal.dot_vs_offset,
        sinusoidal.dot_closed_form,
    )

# --- learned --------------------------------------------------------------------------------


@st.fragment
def learned_part(table: lp.PositionTable) -> None:
    n = table.n_positions
    c1, c2, c3 = st.columns(3)
    shown = c1.slider("Positions shown", 16, n, min(128, n), step=16, key="lp_shown")
    p = c2.slider("Position p", 0, n - 1, min(50, n - 1), key="lp_p")
    max_d = c3.slider("Max distance", 2, 64, 20, key="lp_dist")
    cos = lp.cosine_matrix(table.weight)  # (P, P)

    fig = go.Figure(
        go.Heatmap(z=cos[:shown, :shown], colorscale="RdBu", zmid=0, colorbar_title="cosine")
    )
    fig.update_layout(
        title=f"cosine(position p, position q), first {shown} of {n}",
        xaxis_title="position q (tokens)",
        yaxis_title="position p (tokens)",
        **LAYOUT,
    )
    fig.update_yaxes(autorange="reversed")
    st.plotly_chart(fig, key="lp_heat")

    ks, sims = lp.neighbour_similarity(cos, p, max_d)
    mean = lp.mean_similarity_by_distance(cos, max_d)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ks, y=sims, mode="lines+markers", name=f"cos(p={p}, p+k)"))
    fig.add_trace(
        go.Scatter(
            x=np.r_[-np.arange(len(mean))[::-1], np.arange(1, len(mean))],
            y=np.r_[mean[::-1], mean[1:]],
            mode="lines",
            name="mean over all p",
            line=dict(dash="dot"),
        )
    )
    fig.update_layout(
        title="Neighbours look alike; far positions do not",
        xaxis_title="distance k (tokens)",
        yaxis_title="cosine similarity",
        **LAYOUT,
    )
    st.plotly_chart(fig, key="lp_neigh")


with tab_learned:
    st.markdown(
        "BERT-style encoders learn one vector per position index and add it to the token "
        "embedding. Nobody told MiniLM that position 7 is next to position 8, yet after training "
        "neighbouring rows are similar (the bright band on the diagonal). The table is also a "
        "hard limit: a position past its last row simply has no vector."
    )
    enc = get_model("encoder")
    try:
        table = _position_table(enc.choice.key, enc)
    except ValueError as exc:
        st.info(str(exc), icon=":material/info:")
    else:
        st.caption(
            f"{enc.choice.label}: position matrix {table.n_positions} × {table.weight.shape[1]}"
            + (f" (rows 0–{table.first_row - 1} reserved, skipped)" if table.first_row else "")
        )
        if guarded.empty:
            empty_hint("a sentence")
        else:
            pieces, n_total = _encoder_tokens(text, enc.choice.key, table.n_positions, enc)
            if n_total > len(pieces):
                st.caption(
                    f":material/info: {n_total} tokens; the table has {table.n_positions} rows, "
                    f"so only the first {len(pieces)} get a position."
                )
            st.html(token_spans_html(pieces, titles=[f"position {i}" for i in range(len(pieces))]))
            st.caption(
                f"Your sentence uses position rows 0–{len(pieces) - 1} (hover a token to see its "
                "row); each token's input vector is word + position (+ segment), then LayerNorm."
            )
        learned_part(table)
    show_code(
        lp.position_table, lp.cosine_matrix, lp.neighbour_similarity, lp.mean_similarity_by_distance
    )

# --- rope -----------------------------------------------------------------------------------


@st.fragment
def rope_synthetic_part(model_cfg: rope.RopeConfig) -> None:
    c1, c2, c3 = st.columns(3)
    head_dim = c1.slider("Head dimension", 8, 256, model_cfg.head_dim, step=8, key="rope_d")
    with c2:
        base = _base_slider("Base θ (rope_theta)", "rope_base", model_cfg.base)
    n_pos = c3.slider("Positions", 8, 256, 32, step=8, key="rope_T")
    cfg = rope.RopeConfig(head_dim=head_dim, base=base)
    freqs = rope.inv_freq(cfg.head_dim, cfg.base)  # (hs/2,)
    half = head_dim // 2
    pairs = sorted({0, 1, half // 4, half - 1})
    pos = torch.arange(n_pos)

    # Each chosen pair starts as (r, 0); a smaller radius per pair keeps the circles apart.
    x = torch.zeros(head_dim)
    radii = np.linspace(1.0, 0.4, len(pairs))
    for r, i in zip(radii, pairs, strict=True):
        x[i] = r
    xy = rope.pair_coords(x, pos, freqs, pairs)  # (T, P, 2)
    wl = rope.wavelengths(freqs)
    fig = go.Figure()
    for j, i in enumerate(pairs):
        fig.add_trace(
            go.Scatter(
                x=xy[:, j, 0].numpy(),
                y=xy[:, j, 1].numpy(),
                mode="lines+markers",
                marker=dict(size=5),
                name=f"pair {i}: a turn every {wl[i]:,.0f} tokens",
                text=[f"p = {p}" for p in range(n_pos)],
                hovertemplate="%{text}<br>(%{x:.2f}, %{y:.2f})",
            )
        )
        fig.add_annotation(
            x=float(xy[-1, j, 0]),
            y=float(xy[-1, j, 1]),
            ax=0,
            ay=0,
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
        )
    fig.update_layout(
        title=f"Pairs of a query rotating for positions 0–{n_pos - 1} (arrow = last position)",
        xaxis_title="first coordinate of the pair",
        yaxis_title="second coordinate of the pair",
        **LAYOUT,
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    st.plotly_chart(fig, key="rope_circle")

    theta = rope.angles(pos, freqs)  # (T, hs/2)
    fig = go.Figure(
        go.Heatmap(
            z=rope.wrap(theta).numpy(),
            colorscale="Twilight",
            zmin=-np.pi,
            zmax=np.pi,
            colorbar_title="angle (rad)",
        )
    )
    fig.update_layout(
        title="Angle table p·ω_i, folded to [−π, π)",
        xaxis_title="frequency index i (pair)",
        yaxis_title="position p (tokens)",
        **LAYOUT,
    )
    fig.update_yaxes(autorange="reversed")
    st.plotly_chart(fig, key="rope_angles")
    with st.expander("The angle table in numbers (radians, unfolded)"):
        cols = list(range(0, half, max(1, half // 8)))
        df = pd.DataFrame(theta[:16, cols].numpy(), columns=[f"i={i}" for i in cols])
        df.index.name = "position p"
        st.dataframe(df.round(3))
        st.caption("ω_i (rad/token): " + ", ".join(f"{freqs[i]:.2e}" for i in cols))

    max_d = st.slider("Max relative distance", 64, 8192, 2048, step=64, key="rope_dist")
    gen = torch.Generator().manual_seed(0)
    rand = torch.randn(64, head_dim, generator=gen)  # (N, hs)
    ones = torch.ones(head_dim)
    fig = go.Figure()
    s_ones = rope.score_vs_distance(ones, ones, freqs, max_d)
    s_rand = rope.score_vs_distance(rand, rand, freqs, max_d).mean(0)
    fig.add_trace(go.Scatter(y=s_ones.numpy(), mode="lines", name="q = k = all ones"))
    fig.add_trace(go.Scatter(y=s_rand.numpy(), mode="lines", name="q = k random (mean of 64)"))
    fig.update_layout(
        title="Same content, growing distance: the score decays",
        xaxis_title="relative distance m − n (tokens)",
        yaxis_title="q·k / √head_dim (attention logit)",
        **LAYOUT,
    )
    st.plotly_chart(fig, key="rope_decay")


@st.fragment
def rope_real_part(real: dict, cfg: rope.RopeConfig) -> None:
    q, k = real["q"], real["k"]  # (L, nh, T, hs), (L, nkv, T, hs)
    n_layers, nh, T, _ = q.shape
    group = nh // k.shape[1]
    c1, c2 = st.columns(2)
    layer = c1.slider("Layer", 0, n_layers - 1, min(2, n_layers - 1), key="rope_layer")
    head = c2.slider("Query head", 0, nh - 1, 0, key="rope_head")
    qh = torch.from_numpy(q[layer, head])  # (T, hs)
    kh = torch.from_numpy(k[layer, head // group])  # (T, hs)
    pos = torch.arange(T)
    freqs = rope.inv_freq(cfg.head_dim, cfg.base)
    cos, sin = rope.cos_sin(pos, freqs)  # (T, hs)
    q_rot, k_rot = rope.apply_rope(qh[None], kh[None], cos, sin)  # (1, T, hs)
    with_rope = rope.causal_attention(q_rot, k_rot)[0]  # (T, T)
    without = rope.causal_attention(qh[None], kh[None])[0]  # (T, T)
    labels = [_label(i, p) for i, p in enumerate(real["pieces"])]  # escaped, for plotly
    names = [f"{i}: {p.strip() or '␣'}" for i, p in enumerate(real["pieces"])]  # for widgets

    a, b = st.columns(2)
    for col, att, title, key in (
        (a, with_rope, "With RoPE (what the model computes)", "rope_att"),
        (b, without, "Same q, k without rotation", "rope_att_nope"),
    ):
        fig = go.Figure(
            go.Heatmap(
                z=att.numpy(),
                x=labels,
                y=labels,
                colorscale="Blues",
                zmin=0,
                zmax=1,
                colorbar_title="weight",
            )
        )
        fig.update_layout(
            title=f"{title}: layer {layer}, head {head}",
            xaxis_title="key token",
            yaxis_title="query token",
            **LAYOUT,
        )
        fig.update_yaxes(autorange="reversed")
        col.plotly_chart(fig, key=key)

    c3, c4 = st.columns(2)
    # Keys tied to the sentence: a new sentence starts from the defaults, never a stale index.
    tag = hashlib.sha1("\x1f".join(names).encode()).hexdigest()[:10]
    qi = c3.selectbox("Query token", range(T), T - 1, format_func=names.__getitem__, key=f"qi{tag}")
    kj = c4.selectbox("Key token", range(T), 0, format_func=names.__getitem__, key=f"kj{tag}")
    max_d = 2048
    curve = rope.score_vs_distance(qh[qi], kh[kj], freqs, max_d)  # (D,)
    mean = rope.score_vs_distance(qh, kh, freqs, max_d).mean(0)  # (D,)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(y=curve.numpy(), mode="lines", name=f"q of {labels[qi]}, k of {labels[kj]}")
    )
    fig.add_trace(go.Scatter(y=mean.numpy(), mode="lines", name="mean over same-token q, k"))
    fig.update_layout(
        title="Real q·k moved to each distance",
        xaxis_title="relative distance m − n (tokens)",
        yaxis_title="q·k / √head_dim (attention logit)",
        **LAYOUT,
    )
    st.plotly_chart(fig, key="rope_real_decay")


with tab_rope:
    st.markdown(
        "RoPE adds nothing to the embeddings. Each query and key is cut into head_dim/2 pairs, and "
        "pair *i* is **rotated** by $p\\,\\omega_i$, $\\omega_i = \\theta^{-2i/d}$. Dotting a "
        "query rotated by $m\\omega$ with a key rotated by $n\\omega$ leaves only $(m-n)\\omega$: "
        "scores see the **relative offset**. Fast pairs (small *i*) spin every few tokens and "
        "resolve nearby order; slow pairs barely move and carry content across long distances."
    )
    chat = get_model("chat")
    try:
        model_cfg = rope.RopeConfig.from_model_config(chat.model.config)
    except (ValueError, AttributeError) as exc:
        st.info(f"{chat.choice.label}: {exc} Showing RoPE with SmolLM2's defaults.")
        model_cfg, real_ok = rope.RopeConfig(), False
    else:
        real_ok = True
        st.caption(
            f"{chat.choice.label}: head_dim = {model_cfg.head_dim}, "
            f"rope_theta = {model_cfg.base:,.0f} (the sliders start here)"
        )
    rope_synthetic_part(model_cfg)

    st.subheader("Real queries and keys from your sentence")
    if guarded.empty:
        empty_hint("a sentence")
    elif real_ok:
        try:
            real = _real_qk(text, chat.choice.key, chat)
        except AttributeError as exc:  # a causal LM without Llama-style layers
            st.info(f"{chat.choice.label} does not expose Llama-style attention layers ({exc}).")
        else:
            if real["n_total"] > ROPE_TOKENS:
                st.caption(
                    f":material/info: {real['n_total']} tokens; the first {ROPE_TOKENS} are used."
                )
            m1, m2 = st.columns(2)
            m1.metric("cos/sin: ours vs model.rotary_emb", f"max |Δ| = {real['cos_sin_diff']:.1e}")
            m2.metric(
                "rotation: ours vs apply_rotary_pos_emb", f"max |Δ| = {real['apply_diff']:.1e}"
            )
            st.markdown(
                "Left: the model's real attention for one head. Right: the same queries and keys "
                "with the rotation removed — the position-only patterns (previous token, "
                "first token) blur. Below: the last token's query and the first token's key, "
                "re-placed at every distance."
            )
            rope_real_part(real, model_cfg)
    show_code(
        rope.inv_freq,
        rope.angles,
        rope.cos_sin,
        rope.rotate_half,
        rope.apply_rope,
        rope.score_vs_distance,
        rope.pre_rope_qk,
        rope.causal_attention,
    )
