"""MLA's cache on a tiny DeepSeek-V3 attention layer: what one token stores, and proof that the
absorbed form (attention on the latent cache alone) computes what the expanded form does.

    check = absorbed_vs_expanded(seed=0)   # max |Δ| between lessons.mla's two forms
    per_token(arch, "bf16")                # bytes one token adds, all layers: MLA vs MHA/GQA/MQA
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lessons import llm_calculator as calc
from lessons import mla
from lessons.llm_arch import Arch


@dataclass(frozen=True)
class Check:
    max_abs_diff: float  # between mla_expanded and mla_absorbed, same input, same weights
    scale: float  # max |output|: the size the difference is measured against
    cache: dict[str, int]  # numbers cached per token per layer (lessons.mla.cache_per_token)
    tokens: int
    heads: int


def tiny_attention(seed: int = 0):
    """One DeepseekV3Attention with small widths (kv_lora_rank 32, 8 heads), random weights."""
    import transformers as tf

    torch.manual_seed(seed)
    cfg = tf.DeepseekV3Config(
        vocab_size=64, hidden_size=96, num_hidden_layers=1, num_attention_heads=8,
        num_key_value_heads=8, q_lora_rank=48, kv_lora_rank=32, qk_nope_head_dim=16,
        qk_rope_head_dim=8, v_head_dim=16, intermediate_size=128, moe_intermediate_size=32,
        first_k_dense_replace=1, n_routed_experts=4, num_experts_per_tok=2, n_group=1,
        topk_group=1, max_position_embeddings=128, initializer_range=0.2,
        attn_implementation="eager",
    )  # fmt: skip
    model = tf.AutoModelForCausalLM.from_config(cfg).eval()
    return model.model.layers[0].self_attn, model.model.rotary_emb


@torch.no_grad()
def absorbed_vs_expanded(seed: int = 0, tokens: int = 16) -> Check:
    attn, rotary = tiny_attention(seed)
    x = torch.randn(1, tokens, attn.config.hidden_size)  # (B, T, C)
    cos, sin = rotary(x, torch.arange(tokens)[None])  # (1, T, d_rope)
    expanded = mla.mla_expanded(x, attn, cos[0], sin[0])  # (B, T, C)
    diff = (expanded - mla.mla_absorbed(x, attn, cos[0], sin[0])).abs().max().item()
    return Check(diff, expanded.abs().max().item(), mla.cache_per_token(attn), tokens,
                 attn.num_heads)  # fmt: skip


def per_token(arch: Arch, dtype: str = "bf16") -> dict[str, float]:
    """Bytes of KV cache one token adds across all layers, for each layout kv_layouts compares."""
    return calc.kv_layouts(arch, 1, dtype)
