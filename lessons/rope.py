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

DEFAULT_SENTENCE = "The cat sat on the mat because the mat was warm."


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


# --- what the page shows --------------------------------------------------------------------


def demo_pairs(head_dim: int) -> list[int]:
    """Four pairs worth watching: the two fastest, one a quarter in, and the slowest."""
    half = head_dim // 2
    return sorted({0, 1, half // 4, half - 1})


def pair_demo(cfg: RopeConfig, n_positions: int) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """A query whose chosen pairs start at (r, 0), a smaller radius per pair so the circles stay
    apart, rotated to positions 0..n-1. Returns the pairs, their coordinates (T, P, 2) and every
    pair's wavelength in tokens (hs/2,)."""
    freqs = inv_freq(cfg.head_dim, cfg.base)  # (hs/2,)
    pairs = demo_pairs(cfg.head_dim)
    x = torch.zeros(cfg.head_dim)  # (hs,)
    for r, i in zip(torch.linspace(1.0, 0.4, len(pairs)).tolist(), pairs, strict=True):
        x[i] = r
    xy = pair_coords(x, torch.arange(n_positions), freqs, pairs)  # (T, P, 2)
    return pairs, xy, wavelengths(freqs)


@dataclass(frozen=True)
class AngleTable:
    """Every pair's angle at positions 0..T-1, and a readable sample of it in numbers."""

    wrapped: torch.Tensor  # (T, hs/2) angles folded into [-pi, pi): where each clock hand points
    pairs: list[int]  # ~16 pairs spread over head_dim/2, the columns of `sample`
    sample: torch.Tensor  # (min(T, rows), P) unfolded angles p * omega_i, radians
    omega: torch.Tensor  # (P,) the sampled pairs' frequencies, radians per token


def angle_table(cfg: RopeConfig, n_positions: int, rows: int = 16, n_pairs: int = 16) -> AngleTable:
    """The rotation tab's numbers: p * omega_i for every position and pair, wrapped for the
    heatmap, and the first `rows` positions of about `n_pairs` evenly spaced pairs unfolded."""
    freqs = inv_freq(cfg.head_dim, cfg.base)  # (hs/2,)
    theta = angles(torch.arange(n_positions), freqs)  # (T, hs/2)
    pairs = list(range(0, cfg.head_dim // 2, max(1, cfg.head_dim // (2 * n_pairs))))
    return AngleTable(wrap(theta), pairs, theta[:rows, pairs], freqs[pairs])


def synthetic_decay(
    cfg: RopeConfig, max_distance: int, n_random: int = 64, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score vs distance for q = k = all ones, and the mean over n_random seeded random q = k:
    (D,) each. Identical content, only the distance grows."""
    freqs = inv_freq(cfg.head_dim, cfg.base)
    gen = torch.Generator().manual_seed(seed)
    rand = torch.randn(n_random, cfg.head_dim, generator=gen)  # (N, hs)
    ones = torch.ones(cfg.head_dim)  # (hs,)
    return (
        score_vs_distance(ones, ones, freqs, max_distance),  # (D,)
        score_vs_distance(rand, rand, freqs, max_distance).mean(0),  # (D,)
    )


@dataclass(frozen=True)
class RealQK:
    """Pre-rotation queries and keys of every layer for one sentence, with the parity of our
    rotation against the model's own rotary module and transformers' apply_rotary_pos_emb."""

    pieces: list[str]  # decoded tokens
    n_total: int  # tokens before the cap
    q: torch.Tensor  # (L, nh, T, hs)
    k: torch.Tensor  # (L, nkv, T, hs)
    cfg: RopeConfig
    cos_sin_diff: float  # max |ours − model.rotary_emb| over cos and sin
    apply_diff: float  # max |ours − apply_rotary_pos_emb| over the last layer's q and k


def real_qk(model: Any, tokenizer: Any, text: str, max_tokens: int = 32) -> RealQK:
    """Run the decoder once on `text` (first `max_tokens` tokens); the caller holds the lock."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

    cfg = RopeConfig.from_model_config(model.config)
    ids = tokenizer(text, split_special_tokens=True, return_tensors="pt")["input_ids"]  # (1, N)
    n_total = ids.shape[1]
    ids = ids[:, :max_tokens].to(next(model.parameters()).device)  # (1, T)
    with torch.inference_mode():
        q, k = pre_rope_qk(model, ids)  # (L, nh, T, hs), (L, nkv, T, hs)
        pos = torch.arange(ids.shape[1])  # (T,)
        cos_m, sin_m = model_cos_sin(model, pos)  # (T, hs)
    q, k, cos_m, sin_m = (t.clone() for t in (q, k, cos_m, sin_m))  # plain tensors, cacheable
    cos, sin = cos_sin(pos, inv_freq(cfg.head_dim, cfg.base))  # (T, hs)
    ours = apply_rope(q[-1], k[-1], cos, sin)
    lib = apply_rotary_pos_emb(q[-1][None], k[-1][None], cos_m[None], sin_m[None])
    return RealQK(
        pieces=[tokenizer.decode([i]) for i in ids[0].tolist()],
        n_total=n_total,
        q=q,
        k=k,
        cfg=cfg,
        cos_sin_diff=float(max((cos - cos_m).abs().max(), (sin - sin_m).abs().max())),
        apply_diff=float(max((ours[0] - lib[0][0]).abs().max(), (ours[1] - lib[1][0]).abs().max())),
    )


def head_qk(real: RealQK, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One query head's (T, hs) queries and the keys of the K/V head it reads (GQA)."""
    group = real.q.shape[1] // real.k.shape[1]
    return real.q[layer, head], real.k[layer, head // group]  # (T, hs), (T, hs)


def with_and_without(real: RealQK, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The head's causal attention (T, T) with RoPE (what the model computes) and with the same
    q, k left unrotated."""
    qh, kh = head_qk(real, layer, head)  # (T, hs)
    cos, sin = cos_sin(torch.arange(qh.shape[0]), inv_freq(real.cfg.head_dim, real.cfg.base))
    q_rot, k_rot = apply_rope(qh[None], kh[None], cos, sin)  # (1, T, hs)
    return causal_attention(q_rot, k_rot)[0], causal_attention(qh[None], kh[None])[0]


def real_decay(
    real: RealQK, layer: int, head: int, qi: int, kj: int, max_distance: int = 2048
) -> tuple[torch.Tensor, torch.Tensor]:
    """Query of token qi with key of token kj, re-placed at every distance; and the mean over
    same-token (q, k) pairs of the sentence: (D,) each."""
    qh, kh = head_qk(real, layer, head)
    freqs = inv_freq(real.cfg.head_dim, real.cfg.base)
    return (
        score_vs_distance(qh[qi], kh[kj], freqs, max_distance),  # (D,)
        score_vs_distance(qh, kh, freqs, max_distance).mean(0),  # (D,)
    )


def warm(encoder: Any, decoder: Any, text: str = DEFAULT_SENTENCE) -> dict[str, float]:
    """The Position embeddings page's default work: the sinusoidal table, MiniLM's position table
    and its cosine matrix, SmolLM2's real q/k with the parity numbers and one head's maps.
    Returns seconds per part: a check that the default work runs and stays in parity (the
    preflight warms the server itself by opening the page in a browser)."""
    import time

    from lessons import learned_positions as lp
    from lessons import sinusoidal

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    sinusoidal.offset_curves(sinusoidal.SinusoidalConfig())
    with encoder.lock:
        lp.cosine_matrix(lp.position_table(encoder.model).weight)
        lp.sentence_positions(encoder.tokenizer, text, 512)
    seconds["positions_table_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    with decoder.lock:
        real = real_qk(decoder.model, decoder.tokenizer, text)
    if max(real.cos_sin_diff, real.apply_diff) > 1e-5:
        raise AssertionError("RoPE drifted from transformers' rotary embedding")
    with_and_without(real, 0, 0)
    seconds["positions_rope_s"] = round(time.perf_counter() - t0, 3)
    return seconds
