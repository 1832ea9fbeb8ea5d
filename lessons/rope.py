"""Rotary position embeddings (RoPE, Su et al. 2021), as Llama/SmolLM2 use them.

Nothing is added to the token vectors. Instead each query and key is split into head_dim/2
two-dimensional pairs, and pair i is rotated by the angle  position * inv_freq[i], where
inv_freq[i] = base^(-2i / head_dim). A rotation by m*w dotted with one by n*w only sees (m - n)*w,
so q_m . k_n depends on the content and the relative offset m - n, never on m or n alone.

Layout: the paper pairs dimensions (2i, 2i+1); Hugging Face's Llama pairs (i, i + head_dim/2)
("rotate_half"). It is a fixed permutation of the q/k projection rows, so both give the same
scores; this file follows the Hugging Face layout so it matches the real model bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class RopeConfig:
    head_dim: int = 64  # SmolLM2-135M: 576 / 9 heads
    base: float = 100_000.0  # "rope_theta"; Llama 2 uses 10_000, Llama 3 500_000

    def __post_init__(self) -> None:
        if self.head_dim < 2 or self.head_dim % 2:
            raise ValueError(f"head_dim must be an even number >= 2, got {self.head_dim}.")
        if self.base <= 1:
            raise ValueError(f"base (rope_theta) must be > 1, got {self.base}.")

    @classmethod
    def from_model_config(cls, config: Any) -> RopeConfig:
        """head_dim and rope_theta of a Hugging Face causal-LM config (5.x or older field names)."""
        params = getattr(config, "rope_parameters", None) or {}
        base = params.get("rope_theta", getattr(config, "rope_theta", None))
        if base is None:
            raise ValueError(
                f"{type(config).__name__} has no rope_theta: the model may not use RoPE."
            )
        head_dim = getattr(config, "head_dim", None) or (
            config.hidden_size // config.num_attention_heads
        )
        return cls(head_dim=int(head_dim), base=float(base))


def inv_freq(head_dim: int, base: float) -> torch.Tensor:
    """w_i = base^(-2i/head_dim): pair 0 turns 1 radian per token, the last pair ~1/base."""
    two_i = torch.arange(0, head_dim, 2, dtype=torch.float32)  # (hs/2,)
    return 1.0 / (base ** (two_i / head_dim))  # (hs/2,)


def angles(positions: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """The angle table: position p, pair i -> p * w_i radians."""
    return positions.float()[..., None] * inv_freq[None, :]  # (T, hs/2)


def cos_sin(positions: torch.Tensor, inv_freq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the angles, repeated for both halves (pair i is dims i and i + hs/2)."""
    theta = angles(positions, inv_freq)  # (T, hs/2)
    emb = torch.cat((theta, theta), dim=-1)  # (T, hs)
    return emb.cos(), emb.sin()  # (T, hs), (T, hs)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1): the 90-degree turn of every pair at once."""
    x1, x2 = x.chunk(2, dim=-1)  # (..., hs/2) each
    return torch.cat((-x2, x1), dim=-1)  # (..., hs)


def apply_rope(
    q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate queries and keys. q: (B, nh, T, hs), k: (B, nkv, T, hs), cos/sin: (T, hs).

    Per pair this is the 2-D rotation [x1', x2'] = [x1 cos - x2 sin, x2 cos + x1 sin].
    """
    q_rot = q * cos + rotate_half(q) * sin  # (B, nh, T, hs)
    k_rot = k * cos + rotate_half(k) * sin  # (B, nkv, T, hs)
    return q_rot, k_rot


def rotate(x: torch.Tensor, positions: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """Rotate vectors x (..., T, hs) to their positions (T,)."""
    cos, sin = cos_sin(positions, inv_freq)  # (T, hs)
    return x * cos + rotate_half(x) * sin  # (..., T, hs)


def pair_coords(
    x: torch.Tensor, positions: torch.Tensor, inv_freq: torch.Tensor, pairs: list[int]
) -> torch.Tensor:
    """Where chosen 2-D pairs of one vector x (hs,) land at each position: (T, len(pairs), 2)."""
    half = x.shape[-1] // 2
    rotated = rotate(x.expand(len(positions), -1), positions, inv_freq)  # (T, hs)
    idx = torch.tensor(pairs)
    return torch.stack((rotated[:, idx], rotated[:, idx + half]), dim=-1)  # (T, P, 2)


def score_vs_distance(
    q: torch.Tensor, k: torch.Tensor, inv_freq: torch.Tensor, max_distance: int
) -> torch.Tensor:
    """Attention logit (R_m q) . (R_n k) / sqrt(hs) for m - n = d = 0..max_distance.

    Rotating pair i of q = (q1, q2) by d*w_i and dotting with k's pair (k1, k2) gives
    (q1 k1 + q2 k2) cos(d w_i) + (q1 k2 - q2 k1) sin(d w_i). The score is a sum of waves, one per
    pair; they agree at d = 0 and drift out of phase as d grows: that is the long-range decay.
    q, k: (..., hs) -> (..., max_distance + 1).
    """
    hs = q.shape[-1]
    q1, q2 = q.float().chunk(2, dim=-1)  # (..., hs/2) each: pair i is (dim i, dim i + hs/2)
    k1, k2 = k.float().chunk(2, dim=-1)
    in_phase = q1 * k1 + q2 * k2  # (..., hs/2)
    quadrature = q1 * k2 - q2 * k1  # (..., hs/2)
    theta = angles(torch.arange(max_distance + 1), inv_freq)  # (D, hs/2)
    return (in_phase @ theta.cos().T + quadrature @ theta.sin().T) / math.sqrt(hs)  # (..., D)


def wavelengths(inv_freq: torch.Tensor) -> torch.Tensor:
    """Tokens per full turn of each pair: 2*pi / w_i."""
    return 2 * math.pi / inv_freq  # (hs/2,)


# --- the real model -------------------------------------------------------------------------


def model_cos_sin(model: Any, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin from the model's own rotary module (LlamaRotaryEmbedding): (T, hs) each."""
    rotary = model.model.rotary_emb
    dummy = torch.zeros(1, dtype=torch.float32, device=rotary.inv_freq.device)  # only dtype/device
    cos, sin = rotary(dummy, positions[None, :].to(rotary.inv_freq.device))  # (1, T, hs)
    return cos[0].cpu(), sin[0].cpu()


def pre_rope_qk(model: Any, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every layer's queries and keys before rotation, for one sequence (1, T).

    Returns q: (L, nh, T, hs) and k: (L, nkv, T, hs). Call under torch.no_grad and the lock.
    """
    base = model.model  # the decoder stack without the LM head: no logits needed
    out = base(input_ids=input_ids, output_hidden_states=True)
    qs, ks = [], []
    # hidden_states[i] is the input of layer i (hidden_states[0] = token embeddings).
    for layer, h in zip(base.layers, out.hidden_states, strict=False):
        attn = layer.self_attn
        x = layer.input_layernorm(h)[0]  # (T, C)
        q = attn.q_proj(x).view(x.shape[0], -1, attn.head_dim)  # (T, nh, hs)
        k = attn.k_proj(x).view(x.shape[0], -1, attn.head_dim)  # (T, nkv, hs)
        if hasattr(attn, "q_norm"):  # Qwen3-style per-head norm comes before the rotation
            q, k = attn.q_norm(q), attn.k_norm(k)
        qs.append(q.transpose(0, 1))  # (nh, T, hs)
        ks.append(k.transpose(0, 1))  # (nkv, T, hs)
    return torch.stack(qs).float().cpu(), torch.stack(ks).float().cpu()


def causal_attention(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(hs)) with a causal mask; k heads are shared by groups of q heads (GQA).

    q: (nh, T, hs), k: (nkv, T, hs) -> (nh, T, T).
    """
    nh, T, hs = q.shape
    k = k.repeat_interleave(nh // k.shape[0], dim=0)  # (nh, T, hs)
    att = q @ k.transpose(-2, -1) / math.sqrt(hs)  # (nh, T, T)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    return att.masked_fill(~mask, float("-inf")).softmax(-1)  # (nh, T, T)


def wrap(theta: torch.Tensor) -> torch.Tensor:
    """Angles folded into [-pi, pi): where each pair's clock hand points."""
    return torch.remainder(theta + math.pi, 2 * math.pi) - math.pi
