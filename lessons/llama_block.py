"""A Llama decoder block written from scratch, run on SmolLM2's real weights.

    x -> RMSNorm -> attention (GQA: 9 query heads share 3 KV heads, RoPE theta = 100,000) -> + x
      -> RMSNorm -> SwiGLU MLP: down(silu(gate(x)) * up(x))                                -> + x

`decoder_block` equals transformers' `LlamaDecoderLayer` on the same weights (tests/test_llama.py);
the other functions take a block apart on real activations for the Llama page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from lessons import rope


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """x / sqrt(mean(x^2) + eps) * weight: no mean subtracted, no bias (LayerNorm has both)."""
    x32 = x.float()  # (B, T, C)
    return weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def repeat_kv(kv: torch.Tensor, num_key_value_groups: int) -> torch.Tensor:
    """(B, nkv, T, hs) -> (B, nkv * groups, T, hs): each KV head serves `groups` query heads."""
    b, nkv, t, hs = kv.shape
    if num_key_value_groups == 1:
        return kv
    kv = kv[:, :, None, :, :].expand(b, nkv, num_key_value_groups, t, hs)
    return kv.reshape(b, nkv * num_key_value_groups, t, hs)


def swiglu(x: torch.Tensor, mlp: Any) -> torch.Tensor:
    """down(silu(gate(x)) * up(x)): the gate decides, per hidden unit, how much of up passes."""
    return mlp.down_proj(F.silu(mlp.gate_proj(x)) * mlp.up_proj(x))


def attention(x: torch.Tensor, attn: Any, cos: torch.Tensor, sin: torch.Tensor,
              num_heads: int, num_kv_heads: int) -> torch.Tensor:  # fmt: skip
    """Causal grouped-query attention with RoPE. x: (B, T, C); cos/sin: (T, hs)."""
    b, t, _ = x.shape
    hs = attn.head_dim
    q = attn.q_proj(x).view(b, t, num_heads, hs).transpose(1, 2)  # (B, nh, T, hs)
    k = attn.k_proj(x).view(b, t, num_kv_heads, hs).transpose(1, 2)  # (B, nkv, T, hs)
    v = attn.v_proj(x).view(b, t, num_kv_heads, hs).transpose(1, 2)  # (B, nkv, T, hs)
    q, k = rope.apply_rope(q, k, cos, sin)
    groups = num_heads // num_kv_heads
    k, v = repeat_kv(k, groups), repeat_kv(v, groups)  # (B, nh, T, hs)
    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (B, nh, T, T)
    future = torch.ones(t, t, dtype=torch.bool).triu(1)
    weights = scores.masked_fill(future, float("-inf")).softmax(-1)
    out = (weights @ v).transpose(1, 2).reshape(b, t, num_heads * hs)  # (B, T, C)
    return attn.o_proj(out)


def decoder_block(x: torch.Tensor, layer: Any, config: Any, cos: torch.Tensor,
                  sin: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """One Llama decoder layer by hand: pre-norm attention and pre-norm SwiGLU, residuals."""
    eps = config.rms_norm_eps
    h = x + attention(rms_norm(x, layer.input_layernorm.weight, eps), layer.self_attn, cos, sin,
                      config.num_attention_heads, config.num_key_value_heads)  # fmt: skip
    return h + swiglu(rms_norm(h, layer.post_attention_layernorm.weight, eps), layer.mlp)


@dataclass(frozen=True)
class Parity:
    tokens: list[str]
    max_abs_diff: float
    output_norm: float


@torch.no_grad()
def block_parity(model: Any, tokenizer: Any, text: str, layer_index: int = 0) -> Parity:
    """Our block vs transformers' on the real input of layer `layer_index` for `text`."""
    ids = tokenizer(text, return_tensors="pt").input_ids[:, :64]  # (1, T)
    hidden = model.model(input_ids=ids, output_hidden_states=True).hidden_states[layer_index]
    positions = torch.arange(ids.shape[1])
    cos, sin = rope.model_cos_sin(model, positions)  # (T, hs)
    layer = model.model.layers[layer_index]
    ours = decoder_block(hidden, layer, model.config, cos, sin)
    mask = torch.full((ids.shape[1],) * 2, float("-inf")).triu(1)[None, None]
    theirs = layer(hidden, attention_mask=mask, position_ids=positions[None],
                   position_embeddings=(cos[None], sin[None]))  # fmt: skip
    theirs = theirs[0] if isinstance(theirs, tuple) else theirs
    return Parity(
        tokenizer.convert_ids_to_tokens(ids[0]),
        float((ours - theirs).abs().max()),
        float(theirs.norm(dim=-1).mean()),
    )


@dataclass(frozen=True)
class NormCompare:
    tokens: list[str]
    mean_in: list[float]  # per token: the mean LayerNorm removes and RMSNorm keeps
    rms_in: list[float]
    cosine: list[float]  # RMSNorm(x) vs LayerNorm(x), same gain
    max_abs_diff: float


@torch.no_grad()
def norm_compare(model: Any, tokenizer: Any, text: str, layer_index: int = 4) -> NormCompare:
    ids = tokenizer(text, return_tensors="pt").input_ids[:, :48]
    x = model.model(input_ids=ids, output_hidden_states=True).hidden_states[layer_index][0]
    weight = model.model.layers[layer_index].input_layernorm.weight
    eps = model.config.rms_norm_eps
    rms = rms_norm(x, weight, eps)  # (T, C)
    ln = F.layer_norm(x, (x.shape[-1],), eps=eps) * weight  # (T, C)
    return NormCompare(
        tokenizer.convert_ids_to_tokens(ids[0]),
        x.mean(-1).tolist(),
        x.pow(2).mean(-1).sqrt().tolist(),
        F.cosine_similarity(rms, ln, dim=-1).tolist(),
        float((rms - ln).abs().max()),
    )


@dataclass(frozen=True)
class GateStats:
    gate: list[float]  # silu(gate(x)) values, a sample
    closed_share: float  # |silu(gate)| < 0.05: units the gate shuts for this token
    negative_share: float  # silu lets a little negative through (min ~ -0.28)
    inner: int


@torch.no_grad()
def gate_stats(model: Any, tokenizer: Any, text: str, layer_index: int = 4) -> GateStats:
    ids = tokenizer(text, return_tensors="pt").input_ids[:, :48]
    x = model.model(input_ids=ids, output_hidden_states=True).hidden_states[layer_index][0]
    layer = model.model.layers[layer_index]
    g = F.silu(
        layer.mlp.gate_proj(
            rms_norm(x, layer.post_attention_layernorm.weight, model.config.rms_norm_eps)
        )
    )  # (T, inner)
    flat = g.flatten()
    step = max(1, flat.numel() // 20_000)
    return GateStats(flat[::step].tolist(), float((flat.abs() < 0.05).float().mean()),
                     float((flat < 0).float().mean()), g.shape[-1])  # fmt: skip


def kv_sharing(num_heads: int, num_kv_heads: int) -> list[tuple[int, int]]:
    """(query head, the KV head it reads) for grouped-query attention."""
    groups = num_heads // num_kv_heads
    return [(h, h // groups) for h in range(num_heads)]


@torch.no_grad()
def count_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text).input_ids)
