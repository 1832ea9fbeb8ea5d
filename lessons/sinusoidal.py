"""Sinusoidal position encodings ("Attention Is All You Need", section 3.5).

    PE[p, 2i]   = sin(p / base^(2i / d))
    PE[p, 2i+1] = cos(p / base^(2i / d))

Each pair of dimensions is a clock turning at its own speed: pair 0 turns once every 2*pi tokens,
the last pair once every ~2*pi*base tokens. Because sin(a)sin(b) + cos(a)cos(b) = cos(a - b), the
dot product PE[p] . PE[p + k] = sum_i cos(k * w_i) depends only on the offset k, never on p.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SinusoidalConfig:
    n_positions: int = 128  # rows of the table (sequence length)
    d_model: int = 128  # width of the encoding; must be even (sin/cos pairs)
    base: float = 10_000.0  # the paper's 10000; sets the slowest clock

    def __post_init__(self) -> None:
        if self.d_model < 2 or self.d_model % 2:
            raise ValueError(f"d_model must be an even number >= 2, got {self.d_model}.")
        if self.n_positions < 1:
            raise ValueError(f"n_positions must be >= 1, got {self.n_positions}.")
        if self.base <= 1:
            raise ValueError(f"base must be > 1, got {self.base}.")


def frequencies(cfg: SinusoidalConfig) -> torch.Tensor:
    """w_i = base^(-2i/d), one per sin/cos pair, fastest first."""
    two_i = torch.arange(0, cfg.d_model, 2, dtype=torch.float64)  # (d/2,)
    return cfg.base ** (-two_i / cfg.d_model)  # (d/2,)


def sinusoidal_table(cfg: SinusoidalConfig) -> torch.Tensor:
    """The (n_positions, d_model) encoding, sin in even columns and cos in odd ones."""
    pos = torch.arange(cfg.n_positions, dtype=torch.float64)[:, None]  # (T, 1)
    angles = pos * frequencies(cfg)[None, :]  # (T, d/2)
    pe = torch.empty(cfg.n_positions, cfg.d_model, dtype=torch.float64)  # (T, d)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe


def dot_matrix(pe: torch.Tensor) -> torch.Tensor:
    """PE @ PE^T: a Toeplitz matrix (constant along each diagonal) because only p - q matters."""
    return pe @ pe.T  # (T, T)


def dot_vs_offset(pe: torch.Tensor, start: int, max_offset: int) -> torch.Tensor:
    """PE[start] . PE[start + k] for k = 0..max_offset (clipped to the table)."""
    end = min(start + max_offset, pe.shape[0] - 1)
    return pe[start : end + 1] @ pe[start]  # (K,)


def dot_closed_form(cfg: SinusoidalConfig, max_offset: int) -> torch.Tensor:
    """sum_i cos(k * w_i): the same curve from the identity, with no table at all."""
    k = torch.arange(max_offset + 1, dtype=torch.float64)[:, None]  # (K, 1)
    return torch.cos(k * frequencies(cfg)[None, :]).sum(-1)  # (K,)


def offset_curves(cfg: SinusoidalConfig) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """PE[p]·PE[p+k] for k up to half the table, from three starts p, beside the closed form
    Σ cos(k·ω_i): the curves coincide because only the offset matters."""
    max_off = cfg.n_positions // 2
    pe = sinusoidal_table(cfg)  # (T, d)
    starts = sorted({0, cfg.n_positions // 8, cfg.n_positions // 4})
    return {p: dot_vs_offset(pe, p, max_off) for p in starts}, dot_closed_form(cfg, max_off)
