"""Llama architecture: one decoder block taken apart on SmolLM2's real weights."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from figures import layout
from lessons import llama_block as lb
from lessons import llm_calculator as calc
from lessons import rope
from lessons.llm_arch import Arch, published
from ui.models import get_model
from ui.page import header, lesson, on_handle, page_keys, show_tabs
from ui.widgets import empty_hint, guarded_text, show_code

k = page_keys("llama")
DEFAULT = "The lighthouse keeper climbed the stairs every evening to light the lamp for the ships."
LESSON = """
SmolLM2-135M is a Llama: 30 identical **decoder blocks**, each *pre-norm attention* then a
*pre-norm gated MLP*, both added back to the residual stream. What changed since GPT-2:
**RMSNorm** (no mean, no bias), **SwiGLU** (a gate times an up-projection), **grouped-query
attention** (9 query heads share 3 key/value heads: a 3× smaller KV cache) and **RoPE**
(positions rotate queries and keys, θ = 100,000). The block below is written from scratch and
run on the model's own weights, beside transformers' `LlamaDecoderLayer`.
"""
COMPARE = ("gpt2", "bert-base-uncased", "smollm2-135m-instruct", "llama-3.1-8b", "deepseek-v3")


@on_handle(max_entries=16)
def parity(handle, text: str, layer: int) -> lb.Parity:
    return lb.block_parity(handle.model, handle.tokenizer, text, layer)


@on_handle(max_entries=16)
def norms(handle, text: str) -> lb.NormCompare:
    return lb.norm_compare(handle.model, handle.tokenizer, text)


@on_handle(max_entries=16)
def gates(handle, text: str) -> lb.GateStats:
    return lb.gate_stats(handle.model, handle.tokenizer, text)


@on_handle(max_entries=64)
def n_tokens(handle, text: str) -> int:
    return lb.count_tokens(handle.tokenizer, text)


@st.cache_data(show_spinner=False)
def configs_table() -> pd.DataFrame:
    rows = []
    for key in COMPARE:
        pub, a = published(key), Arch.from_config(published(key).config)
        rows.append({"model": pub.name, "norm": a.norm, "activation": a.activation,
                     "positions": a.positions + (f" (θ = {a.rope_theta:,.0f})" if a.rope_theta
                                                 else ""),
                     "attention": a.attention, "vocabulary": f"{a.vocab_size:,}",
                     "context": f"{a.max_positions:,}",
                     "MLP": ("SwiGLU" if a.gated_mlp else "2-layer")
                     + (f", MoE {a.num_experts} experts" if a.is_moe else "")})  # fmt: skip
    return pd.DataFrame(rows)


def block_tab(handle, text: str) -> None:
    layer = st.slider("Layer", 0, handle.model.config.num_hidden_layers - 1, 0, key=k("layer"))
    p = parity(handle, text, layer)
    a, b = st.columns(2)
    a.metric("max |ours − transformers|", f"{p.max_abs_diff:.2e}")
    b.metric("mean ‖output‖ per token", f"{p.output_norm:,.1f}")
    st.caption(f"{len(p.tokens)} tokens through layer {layer}: `lessons.llama_block.decoder_block`"
               " vs `LlamaDecoderLayer`, the same weights and inputs.")  # fmt: skip
    show_code(lb.decoder_block, lb.attention, lb.rms_norm, lb.swiglu, lb.repeat_kv)


def norm_tab(handle, text: str) -> None:
    n = norms(handle, text)
    fig = go.Figure()
    fig.add_bar(x=list(range(len(n.tokens))), y=n.mean_in, name="mean (LayerNorm removes it)")
    fig.add_scatter(x=list(range(len(n.tokens))), y=n.cosine, name="cos(RMSNorm, LayerNorm)",
                    yaxis="y2", mode="lines+markers")  # fmt: skip
    layout(fig, height=320, xaxis_title="token", yaxis_title="mean of x",
           yaxis2={"overlaying": "y", "side": "right", "title": "cosine"},
           legend={"orientation": "h", "y": -0.3})  # fmt: skip
    st.plotly_chart(fig, key=k("normfig"))
    st.caption(f"Layer 4's input on real activations: RMSNorm and LayerNorm agree to a cosine of "
               f"{min(n.cosine):.4f} or more (max |Δ| {n.max_abs_diff:.3g}) — the mean is small "
               "next to the spread, so dropping it saves work and loses little.")  # fmt: skip


def gate_tab(handle, text: str) -> None:
    g = gates(handle, text)
    fig = go.Figure(go.Histogram(x=g.gate, nbinsx=80))
    st.plotly_chart(layout(fig, height=300, xaxis_title="silu(gate(x))", yaxis_title="count"),
                    key=k("gatefig"))  # fmt: skip
    st.caption(
        f"{g.inner:,} gate units per token: {g.closed_share:.0%} nearly shut "
        f"(|silu| < 0.05), {g.negative_share:.0%} slightly negative (silu's dip to −0.28)."
    )


def gqa_tab(handle, text: str) -> None:
    cfg = handle.model.config
    share = lb.kv_sharing(cfg.num_attention_heads, cfg.num_key_value_heads)
    st.dataframe(pd.DataFrame(share, columns=["query head", "reads KV head"]).T, height=110)
    t = n_tokens(handle, text)
    smol = Arch.from_config(published("smollm2-135m-instruct").config)
    big = Arch.from_config(published("llama-3.1-8b").config)
    a, b, c = st.columns(3)
    a.metric("Your prompt", f"{t:,} tokens")
    a2 = calc.kv_cache_bytes(smol, t, "fp32")
    b.metric("SmolLM2 KV cache (fp32, as here)", calc.human_bytes(a2),
             delta=f"{calc.human_bytes(a2 * 3)} if MHA", delta_color="off")  # fmt: skip
    c.metric("Llama-3.1-8B (bf16)", calc.human_bytes(calc.kv_cache_bytes(big, t, "bf16")))
    inv = rope.inv_freq(smol.head_dim, smol.rope_theta)
    waves = rope.wavelengths(inv)
    st.caption(
        f"RoPE θ = {smol.rope_theta:,.0f}: the fastest of the {len(waves)} pairs turns once "
        f"every {float(waves[0]):.1f} tokens, the slowest every {float(waves[-1]):,.0f}."
    )


def configs_tab() -> None:
    st.dataframe(configs_table(), hide_index=True)
    st.caption("From the published config.json files in `assets/configs/`.")


def main() -> None:
    controls = header("Llama architecture", LESSON)
    with controls:
        typed = guarded_text("A prompt", DEFAULT, k("text"), max_chars=2_000)
    if typed.empty:
        empty_hint("a prompt")
        return

    def model_tab(draw):
        return lambda: draw(get_model("chat", "smollm2-embedded"), typed.text)

    show_tabs(k("tabs"), {
        "The block, by hand": model_tab(block_tab),
        "RMSNorm": model_tab(norm_tab),
        "SwiGLU": model_tab(gate_tab),
        "GQA, RoPE & KV cache": model_tab(gqa_tab),
        "Configs side by side": configs_tab,
    })  # fmt: skip
    lesson("The from-scratch block lives in `lessons/llama_block.py`; its parity with "
           "transformers is a test (tests/test_llama.py).")  # fmt: skip


main()
