"""Multi-head latent attention (DeepSeek-V2/V3), from scratch, on a DeepseekV3Attention's weights.

Per token MLA caches only a small latent c (kv_lora_rank) and one shared RoPE key k_rope
(qk_rope_head_dim) per layer; every head's key and value are *up-projections* of c:

    c       = RMSNorm(x W_DKV)                     # (B, T, r)       cached
    k_rope  = RoPE(x W_KR)                         # (B, T, d_rope)  cached, shared by all heads
    k_nope  = c W_UK[h],  v = c W_UV[h]            # per head, recomputed (or absorbed, below)
    q       = RMSNorm(x W_DQ) W_UQ -> [q_nope | RoPE(q_rope)]

`mla_expanded` builds K and V the way transformers does; `mla_absorbed` never builds them:
q_nope · (c W_UK)ᵀ = (q_nope W_UKᵀ) · cᵀ, so the query is moved into latent space and attention
runs on the cache itself — what makes MLA's small cache fast at inference. Both equal
transformers' `DeepseekV3Attention` (tests/test_mla.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


def interleaved_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """DeepSeek's RoPE layout: pairs (x0, x1), (x2, x3), … each turned by one frequency.
    x: (..., T, d); cos/sin: (T, d) as cat(freqs, freqs)."""
    half = x.shape[-1] // 2
    c, s = cos[..., :half], sin[..., :half]  # (T, d/2)
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (..., T, d/2)
    return torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], dim=-1)


@dataclass(frozen=True)
class Latent:
    c_kv: torch.Tensor  # (B, T, r): what the cache holds for keys and values of every head
    k_rope: torch.Tensor  # (B, T, d_rope): the one positional key all heads share


def queries(x: torch.Tensor, attn: Any, cos: torch.Tensor, sin: torch.Tensor):
    """(q_nope (B, h, T, d_nope), q_rope (B, h, T, d_rope)) after the query's low-rank path."""
    b, t, _ = x.shape
    q = attn.q_b_proj(attn.q_a_layernorm(attn.q_a_proj(x))) if attn.q_lora_rank else attn.q_proj(x)
    q = q.view(b, t, attn.num_heads, attn.qk_head_dim).transpose(1, 2)  # (B, h, T, d_qk)
    q_nope, q_rope = q.split([attn.qk_nope_head_dim, attn.qk_rope_head_dim], dim=-1)
    return q_nope, interleaved_rope(q_rope, cos, sin)


def latent(x: torch.Tensor, attn: Any, cos: torch.Tensor, sin: torch.Tensor) -> Latent:
    compressed = attn.kv_a_proj_with_mqa(x)  # (B, T, r + d_rope)
    c_kv, k_rope = compressed.split([attn.kv_lora_rank, attn.qk_rope_head_dim], dim=-1)
    return Latent(attn.kv_a_layernorm(c_kv), interleaved_rope(k_rope, cos, sin))


def up_projections(attn: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """W_UK (h, d_nope, r) and W_UV (h, d_v, r), the per-head halves of kv_b_proj."""
    w = attn.kv_b_proj.weight.view(attn.num_heads, attn.qk_nope_head_dim + attn.v_head_dim, -1)
    return w[:, : attn.qk_nope_head_dim], w[:, attn.qk_nope_head_dim :]


def _causal_softmax(scores: torch.Tensor) -> torch.Tensor:
    t = scores.shape[-1]
    return scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)


def mla_expanded(x: torch.Tensor, attn: Any, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Keys and values rebuilt per head from the latent, then ordinary causal attention."""
    b, t, _ = x.shape
    q_nope, q_rope = queries(x, attn, cos, sin)
    lat = latent(x, attn, cos, sin)
    w_uk, w_uv = up_projections(attn)
    k_nope = torch.einsum("btr,hnr->bhtn", lat.c_kv, w_uk)  # (B, h, T, d_nope)
    v = torch.einsum("btr,hvr->bhtv", lat.c_kv, w_uv)  # (B, h, T, d_v)
    k_rope = lat.k_rope[:, None].expand(-1, attn.num_heads, -1, -1)  # (B, h, T, d_rope)
    q = torch.cat([q_nope, q_rope], -1)
    k = torch.cat([k_nope, k_rope], -1)
    weights = _causal_softmax(q @ k.transpose(-2, -1) * attn.scaling)  # (B, h, T, T)
    out = (weights @ v).transpose(1, 2).reshape(b, t, -1)  # (B, T, h * d_v)
    return attn.o_proj(out)


def mla_absorbed(x: torch.Tensor, attn: Any, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """The same attention computed on the cache alone: W_UK moves into the query, W_UV after."""
    b, t, _ = x.shape
    q_nope, q_rope = queries(x, attn, cos, sin)
    lat = latent(x, attn, cos, sin)
    w_uk, w_uv = up_projections(attn)
    q_latent = torch.einsum("bhsn,hnr->bhsr", q_nope, w_uk)  # (B, h, T, r)
    scores = torch.einsum("bhsr,btr->bhst", q_latent, lat.c_kv)  # content part
    scores = scores + torch.einsum("bhsd,btd->bhst", q_rope, lat.k_rope)  # position part
    weights = _causal_softmax(scores * attn.scaling)  # (B, h, T, T)
    out_latent = torch.einsum("bhst,btr->bhsr", weights, lat.c_kv)  # (B, h, T, r)
    out = torch.einsum("bhsr,hvr->bshv", out_latent, w_uv).reshape(b, t, -1)  # (B, T, h * d_v)
    return attn.o_proj(out)


def cache_per_token(attn: Any) -> dict[str, int]:
    """Numbers cached per token per layer: MLA's latent vs the MHA it replaces."""
    return {
        "MLA: latent + RoPE key": attn.kv_lora_rank + attn.qk_rope_head_dim,
        "MHA: K and V of every head": attn.num_heads * (attn.qk_head_dim + attn.v_head_dim),
    }
