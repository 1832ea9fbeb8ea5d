"""GPT: the next-token distribution, the sampling knobs, decoding step by step, a streamed answer,
and what the newest token attends to, on the sidebar's causal chat LM (SmolLM2 offline)."""

from __future__ import annotations

import html
import time
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from lessons import chat
from lessons import decoding as D
from lessons import sampling as S
from lessons.sampling import GenConfig
from models import jobs
from models.engine import StreamStats, engine_for
from ui.models import get_model
from ui.widgets import empty_hint, guarded_text, show_code, token_spans_html, visible_ws

K = "gpt::"  # session-state prefix
TOP_N = 20


def _piece(tokenizer: Any, token_id: int) -> str:
    return tokenizer.decode([token_id])


def _code(piece: str) -> str:
    """A token for a markdown code span (Streamlit escapes HTML in markdown; backticks would
    end the span)."""
    return "`" + repr(piece).replace("`", "ˋ") + "`"


def _label(i: int, piece: str) -> str:
    # Plotly reads tags in text: escape; the rank keeps two tokens that print alike apart.
    return f"{i}. {html.escape(visible_ws(piece)) or '∅'}"


@st.cache_data(show_spinner=False, max_entries=64)
def _prompt_forward(model_key: str, ids: tuple[int, ...], _handle: Any) -> dict[str, np.ndarray]:
    """One forward over the prompt: next-token logits (V,) and the last token's attention
    (L, H, T). Keyed on the model key and the token ids, so sliders never rerun the model."""
    with _handle.lock:
        f = D.forward(_handle.model, list(ids))
    return {"logits": f.logits.numpy(), "attention": f.attention.numpy()}


def _sampling_cfg() -> S.SamplingConfig:
    """The knobs, read from session state (the sliders live in the distribution fragment)."""
    ss = st.session_state
    return S.SamplingConfig(
        temperature=float(ss.get(K + "temperature", 1.0)),
        top_k=int(ss.get(K + "top_k", 0)),
        top_p=float(ss.get(K + "top_p", 1.0)),
        repetition_penalty=float(ss.get(K + "rep", 1.0)),
    )


# ---- 1. distribution ------------------------------------------------------------------------


def _distribution_figure(labels: list[str], orig: list[float], filt: list[float]) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(y=labels, x=orig, orientation="h", name="model (T = 1)", marker_color="#93c5fd")
    fig.add_bar(y=labels, x=filt, orientation="h", name="after the knobs", marker_color="#f97316")
    fig.update_layout(
        barmode="group",
        height=120 + 26 * len(labels),
        xaxis_title="probability of being the next token (%)",
        yaxis={"title": "candidate token (rank by the model)", "autorange": "reversed"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
    )
    return fig


@st.fragment
def _distribution_panel(handle: Any, ids: tuple[int, ...], logits: np.ndarray) -> None:
    """Only this fragment reruns when a slider moves: it re-filters the cached logits."""
    knobs, chart = st.columns([1, 2])
    with knobs:
        st.slider(
            "Temperature",
            0.05,
            2.0,
            1.0,
            0.05,
            key=K + "temperature",
            help="logits / T before the softmax: < 1 sharpens, > 1 flattens.",
        )
        st.slider(
            "Top-k (0 = off)",
            0,
            100,
            0,
            1,
            key=K + "top_k",
            help="Keep only the k likeliest tokens.",
        )
        st.slider(
            "Top-p (1 = off)",
            0.05,
            1.0,
            1.0,
            0.05,
            key=K + "top_p",
            help="Keep the smallest set of likeliest tokens whose mass reaches p.",
        )
        st.slider(
            "Repetition penalty (1 = off)",
            1.0,
            2.0,
            1.0,
            0.05,
            key=K + "rep",
            help="Divide the logit of every token already in the text (×, if negative).",
        )
    cfg = _sampling_cfg()
    dist = S.distribution(torch.from_numpy(logits), torch.tensor(ids), cfg)
    top = torch.topk(dist.original, TOP_N).indices.tolist()  # ranked by the model
    with handle.lock:
        pieces = [_piece(handle.tokenizer, i) for i in top]
    labels = [_label(r + 1, p) for r, p in enumerate(pieces)]
    with chart:
        st.plotly_chart(
            _distribution_figure(
                labels,
                [100 * float(dist.original[i]) for i in top],
                [100 * float(dist.filtered[i]) for i in top],
            ),
            key=K + "dist_chart",
        )
    vocab = dist.original.numel()
    a, b, c = st.columns(3)
    a.metric("Entropy, model", f"{dist.entropy_original:.2f} bits")
    b.metric(
        "Entropy, after the knobs",
        f"{dist.entropy_filtered:.2f} bits",
        delta=f"{dist.entropy_filtered - dist.entropy_original:+.2f}",
        delta_color="off",
    )
    c.metric("Tokens with p > 0", f"{dist.kept:,} of {vocab:,}")
    st.caption(
        f"Top-{TOP_N} of the model's {vocab:,} tokens, in %. Removed tokens get probability 0; "
        "the rest is renormalised, so the orange bars of kept tokens grow. Greedy decoding "
        "ignores temperature, top-k and top-p (they never change the argmax) but not the penalty."
    )


# ---- 2. step by step ------------------------------------------------------------------------


def _decoder(owner: tuple, prompt_ids: list[int], seed: int) -> D.Decoder:
    dec = st.session_state.get(K + "decoder")
    if dec is None or st.session_state.get(K + "owner") != owner:
        dec = D.Decoder(list(prompt_ids), len(prompt_ids), seed=seed)
        st.session_state[K + "decoder"] = dec
        st.session_state[K + "owner"] = owner
        st.session_state.pop(K + "step_s", None)
    return dec


def _candidates_table(handle: Any, dec: D.Decoder, logits: torch.Tensor, greedy: bool) -> None:
    nxt = D.choose(logits, dec.ids, _sampling_cfg(), greedy=True)  # for the table only, no draw
    with handle.lock:
        rows = [
            {
                "token": repr(_piece(handle.tokenizer, i)),
                "id": i,
                "p model (%)": round(100 * pm, 2),
                "p to sample from (%)": round(100 * pf, 2),
            }
            for i, pf, pm in nxt.candidates
        ]
    st.markdown("**Candidates for the next token** (top 10 by the model)")
    st.dataframe(rows, hide_index=True, width="stretch")
    if greedy:
        st.caption("Greedy takes the first row (after the repetition penalty, if set).")


def _step_section(handle: Any, prompt: D.Prompt, owner: tuple) -> D.Decoder:
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "Generation is a loop: run the model on the text, take the distribution for the next "
            "position, **pick one token**, append it, repeat. **Greedy** always takes the argmax "
            "(deterministic, often repetitive); **sampling** draws from the distribution shaped by "
            "the knobs above, with a seeded random generator, so the same seed gives the same "
            "text. Each click runs the model on the **one new token** only: the keys and values "
            "of the prefix are kept in a KV cache."
        )
        mode = st.radio("Decoding", ["greedy", "sample"], horizontal=True, key=K + "mode")
        seed = st.number_input("Seed (applies from Reset)", 0, 2**31 - 1, 0, key=K + "seed")
    dec = _decoder(owner, prompt.ids, int(seed))
    greedy = mode == "greedy"
    with left:
        b1, b2, _ = st.columns([1, 1, 2])
        clicked = b1.button(
            "Next token", key=K + "next", type="primary", icon=":material/skip_next:",
            disabled=dec.full, help=f"Up to {D.MAX_CONTEXT} tokens in all.",
        )  # fmt: skip
        if b2.button("Reset", key=K + "reset", icon=":material/restart_alt:"):
            dec = D.Decoder(list(prompt.ids), len(prompt.ids), seed=int(seed))
            st.session_state[K + "decoder"] = dec
            st.session_state.pop(K + "step_s", None)
        if clicked and not dec.full:
            t0 = time.perf_counter()
            with handle.lock:
                dec.step(handle.model, _sampling_cfg(), greedy)
            st.session_state[K + "step_s"] = time.perf_counter() - t0
        with handle.lock:
            pieces = [_piece(handle.tokenizer, i) for i in dec.ids]
        titles = [f"id {i}" for i in dec.ids]
        st.html(token_spans_html(pieces, titles, show_ws=True, muted=range(dec.n_prompt)))
        n_new = len(dec.ids) - dec.n_prompt
        st.caption(
            f"Grey: the prompt ({dec.n_prompt} tokens). Colored: {n_new} generated token(s). "
            "Hover a token for its id; · is a space, ↵ a newline."
        )
        if dec.picks:
            p = dec.picks[-1]
            how = "greedy (argmax)" if p.greedy else "sampled"
            st.markdown(
                f"Last pick, **{how}**: {_code(pieces[-1])} with probability "
                f"**{100 * p.prob:.2f} %** ({100 * p.prob_model:.2f} % under the model alone)."
            )
            secs = st.session_state.get(K + "step_s")
            if secs is not None:
                st.caption(f":material/schedule: that click took {secs:.2f} s.")
        if dec.full:
            st.info(f"The text reached {D.MAX_CONTEXT} tokens: press Reset to start again.")
    logits = (
        dec.last.logits
        if dec.last is not None
        else torch.from_numpy(_prompt_forward(handle.choice.key, tuple(dec.ids), handle)["logits"])
    )
    _candidates_table(handle, dec, logits, greedy)
    return dec


# ---- 3. streamed answer ---------------------------------------------------------------------


def _stream_section(handle: Any, text: str) -> None:
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "Whole answers stream token by token through the fastest engine for this model "
            "(llama.cpp on the embedded GGUF when installed, else transformers `generate`), "
            "with the same knobs. The prompt always goes in as a **user turn of the chat "
            "template** here."
        )
        max_new = st.slider("Max new tokens", 1, 256, 64, key=K + "max_new")
    with left:
        go_ = st.button("Generate the answer", key=K + "stream", icon=":material/play_arrow:")
        if go_:
            cfg = _sampling_cfg()
            greedy = st.session_state.get(K + "mode", "greedy") == "greedy"
            sampling = GenConfig(
                max_new_tokens=int(max_new),
                temperature=0.0 if greedy else cfg.temperature,
                top_k=cfg.top_k,
                top_p=cfg.top_p,
                repetition_penalty=cfg.repetition_penalty,
                seed=int(st.session_state.get(K + "seed", 0)),
            )
            stats = StreamStats()
            with jobs.slot(timeout=60) as ok:
                if not ok:
                    st.warning(
                        "The machine is busy, try again in a minute.",
                        icon=":material/hourglass_top:",
                    )
                else:
                    engine = engine_for(handle)
                    out = st.write_stream(engine.stream(chat.build_messages(text), sampling, stats))
                    st.session_state[K + "stream_result"] = {
                        "text": out if isinstance(out, str) else "".join(map(str, out)),
                        "engine": engine.name,
                        "tokens": stats.new_tokens,
                        "seconds": stats.seconds,
                        "tps": stats.tokens_per_s,
                        "stopped": stats.stopped_by,
                        "greedy": greedy,
                    }
        res = st.session_state.get(K + "stream_result")
        if res:
            if not go_:
                st.code(res["text"] or "(empty answer)", language=None, wrap_lines=True)
            why = {
                "eos": "the model ended its turn (end-of-sequence token)",
                "max_new_tokens": "the max-new-tokens cap",
                "time_budget": "the 30 s time budget",
                "stopped": "a stop request",
            }.get(res["stopped"], res["stopped"] or "unknown")
            st.caption(
                f":material/speed: {res['tokens']} tokens in {res['seconds']:.1f} s "
                f"(**{res['tps']:.1f} tokens/s**) · engine: **{res['engine']}** · "
                f"{'greedy' if res['greedy'] else 'sampled'} · stopped by {why}."
            )


# ---- 4. attention of the newest token -------------------------------------------------------


def _causal_mask_figure(n: int = 6) -> go.Figure:
    mask = np.tril(np.ones((n, n)))  # (n, n) row i may look at columns 0..i
    fig = go.Figure(
        go.Heatmap(z=mask, x=[str(j) for j in range(n)], y=[str(i) for i in range(n)],
                   colorscale=[[0, "#f3f4f6"], [1, "#2563eb"]], showscale=False,
                   hovertemplate="query %{y} → key %{x}: %{z:.0f}<extra></extra>")
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title="query position (row)", type="category")
    fig.update_xaxes(title="key position (column)", type="category")
    fig.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def _attention_section(handle: Any, dec: D.Decoder) -> None:
    if dec.last is not None:
        attn = dec.last.attention
    else:
        attn = torch.from_numpy(
            _prompt_forward(handle.choice.key, tuple(dec.ids), handle)["attention"]
        )
    n_layers, n_heads, n_pos = attn.shape  # (L, H, T)
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "A GPT is **causal**: position *i* attends only to positions 0..*i*; the upper "
            "triangle of every attention matrix is masked to −∞ before the softmax. So the "
            "newest token's row is the only one that can see the whole text: it is the one "
            "whose output predicts the next token."
        )
        st.plotly_chart(_causal_mask_figure(), key=K + "mask_fig")
        first, peak_frac = D.sink_stats(attn)
        st.markdown(
            f"**Attention sink.** Averaged over heads, the first token gets "
            f"**{100 * float(first.mean()):.0f} %** of the newest token's attention over the "
            f"{n_layers} layers (uniform would give {100 / n_pos:.0f} %), and it is the "
            f"most-attended position in **{100 * peak_frac:.0f} %** of the layers. Softmax "
            "must put its weight somewhere; heads with nothing useful to read park it on the "
            "first token, whatever that token is."
        )
    with left:
        head = st.selectbox(
            "Heads", ["mean over heads"] + [f"head {h}" for h in range(n_heads)], key=K + "head"
        )
        z = (
            attn.mean(dim=1) if head == "mean over heads" else attn[:, int(head.split()[1])]
        )  # (L, T)
        with handle.lock:
            pieces = [_piece(handle.tokenizer, i) for i in dec.ids[-n_pos:]]
        x = [_label(j, p) for j, p in enumerate(pieces)]
        fig = go.Figure(
            go.Heatmap(z=z.numpy(), x=x, y=[f"layer {i}" for i in range(n_layers)],
                       colorscale="Blues", colorbar={"title": {"text": "weight"}},
                       hovertemplate="%{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>")
        )  # fmt: skip
        fig.update_yaxes(autorange="reversed", title="layer", type="category")
        fig.update_xaxes(title="key position in the text (token)", type="category", tickangle=-60)
        fig.update_layout(height=620, margin={"l": 10, "r": 10, "t": 10, "b": 10})
        st.plotly_chart(fig, key=K + "attn_fig")
        st.caption(
            f"Row = layer, column = a token of the text; each row sums to 1. The query is the "
            f"newest token, {_code(pieces[-1])} at position {n_pos - 1}."
        )


# ---- page -----------------------------------------------------------------------------------

st.title("GPT: predicting the next token")
lesson, inputs = st.columns([2, 3])
lesson.markdown(
    "A GPT reads a text and outputs, for the next position, a score (**logit**) for every token "
    "of its vocabulary; softmax turns the scores into probabilities. That is all it does: "
    "answers, stories and code are this one step repeated. How we **pick** from the "
    "distribution (temperature, top-k, top-p, a repetition penalty, greedy or sampled) changes "
    "the text as much as the weights do."
)
with inputs:
    text = guarded_text(
        "Prompt", "The capital of France is", key=K + "prompt", max_chars=1_000, height=80
    )
    use_tmpl = st.toggle(
        "Use the chat template (the prompt becomes a user turn)", value=False, key=K + "tmpl",
        help="Off: raw continuation, what a base LM does. On: <|im_start|>user … "
        "<|im_start|>assistant, what an instruct model was tuned on.",
    )  # fmt: skip
    st.caption("Model: the sidebar's *Causal chat LM*.")

if text.empty:
    empty_hint("a prompt")
    st.stop()

handle = get_model("chat")
try:
    with handle.lock:
        prompt = D.encode_prompt(handle.tokenizer, text.text, use_tmpl)
except ValueError as exc:  # a Hub model whose tokenizer has no chat template
    st.error(f"{handle.choice.label} cannot do this: {exc}")
    st.stop()
if prompt.cut_tokens:
    st.caption(
        f":material/content_cut: The prompt is {prompt.cut_tokens + D.MAX_PROMPT_TOKENS} tokens; "
        f"only the first {D.MAX_PROMPT_TOKENS} are used."
    )
ids = tuple(prompt.ids)
owner = (handle.choice.key, ids)
fwd = _prompt_forward(handle.choice.key, ids, handle)

st.subheader("1 · The next-token distribution")
_distribution_panel(handle, ids, fwd["logits"])
show_code(S.repetition_penalty, S.temperature, S.top_k, S.top_p, S.filter_logits)

st.subheader("2 · Step by step")
dec = _step_section(handle, prompt, owner)
show_code(D.forward, D.choose, D.Decoder)

st.subheader("3 · A streamed answer")
_stream_section(handle, text.text)

st.subheader("4 · What the newest token attends to")
_attention_section(handle, dec)
show_code(D.sink_stats)
