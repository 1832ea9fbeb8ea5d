"""FlashAttention (Dao et al. 2022): exact attention, computed tile by tile.

Standard attention writes the whole (T, T) score matrix S = QK^T/sqrt(d) to memory, reads it back
for the softmax, writes P = softmax(S), reads it back for PV. On a GPU that memory is HBM (slow,
large) and the traffic, not the FLOPs, sets the speed. FlashAttention never materialises S:
it loads a block of queries and a block of keys/values into on-chip SRAM, computes that tile of
scores, and folds it into a running result with the *online softmax* (Milakov & Gimelshein 2018):

    m_new = max(m, rowmax(S_ij))                     running row maximum
    l_new = exp(m - m_new) * l + rowsum(exp(S_ij - m_new))   running denominator
    acc   = exp(m - m_new) * acc + exp(S_ij - m_new) @ V_j   running (unnormalised) output

When a later tile brings a larger score, everything accumulated so far is rescaled by
exp(m - m_new) <= 1, so the result is exactly softmax(S) V = acc / l at the end, no approximation.
This file is plain PyTorch: the loops show the algorithm; the real kernel fuses them on chip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def standard_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False
) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d)) V, materialising the full score matrix. q, k, v: (..., T, d)."""
    T, d = q.shape[-2], q.shape[-1]
    s = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., T, T): the N^2 matrix flash avoids
    if causal:
        mask = torch.ones(T, k.shape[-2], dtype=torch.bool, device=q.device).tril()
        s = s.masked_fill(~mask, float("-inf"))
    return s.softmax(dim=-1) @ v  # (..., T, d)


def _tile_scores(
    q_i: torch.Tensor, k_j: torch.Tensor, q0: int, k0: int, causal: bool
) -> torch.Tensor:
    """Scores of one (query block, key block) tile, future keys masked with -inf when causal."""
    s = q_i @ k_j.transpose(-2, -1) / math.sqrt(q_i.shape[-1])  # (..., Bq, Bk)
    if causal:
        rows = torch.arange(q0, q0 + q_i.shape[-2], device=q_i.device)[:, None]  # (Bq, 1)
        cols = torch.arange(k0, k0 + k_j.shape[-2], device=q_i.device)[None, :]  # (1, Bk)
        s = s.masked_fill(cols > rows, float("-inf"))
    return s


def _online_update(
    m: torch.Tensor, l_: torch.Tensor, acc: torch.Tensor, s: torch.Tensor, v_j: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fold one tile of scores s (..., Bq, Bk) into the running (m, l_, acc). Returns the new state
    and the rescale factor exp(m_old - m_new) applied to what was accumulated before."""
    m_new = torch.maximum(m, s.amax(dim=-1))  # (..., Bq)
    # A row whose keys are all masked so far has m = -inf; use 0 there so exp() gives 0, not nan.
    m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)  # (..., Bq)
    scale = torch.exp(m - m_safe)  # (..., Bq): shrinks the old sums when the max grows
    p = torch.exp(s - m_safe[..., None])  # (..., Bq, Bk): unnormalised probabilities
    l_new = scale * l_ + p.sum(dim=-1)  # (..., Bq)
    acc_new = scale[..., None] * acc + p @ v_j  # (..., Bq, d)
    return m_new, l_new, acc_new, scale


def flash_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    block_q: int = 64,
    block_k: int = 64,
    causal: bool = False,
) -> torch.Tensor:
    """Tiled exact attention with the online softmax. q: (..., Tq, d), k/v: (..., Tk, d).

    Causal masking assumes query t and key t are the same position (self-attention).
    """
    if block_q < 1 or block_k < 1:
        raise ValueError(f"block sizes must be >= 1, got block_q={block_q}, block_k={block_k}.")
    Tq, Tk = q.shape[-2], k.shape[-2]
    out = torch.empty_like(q)  # (..., Tq, d)
    for q0 in range(0, Tq, block_q):  # outer loop: one query block stays "in SRAM"
        q_i = q[..., q0 : q0 + block_q, :]  # (..., Bq, d)
        bq = q_i.shape[-2]
        m = torch.full(q_i.shape[:-1], float("-inf"), dtype=q.dtype, device=q.device)  # (.., Bq)
        l_ = torch.zeros(q_i.shape[:-1], dtype=q.dtype, device=q.device)  # (..., Bq)
        acc = torch.zeros_like(q_i)  # (..., Bq, d)
        for k0 in range(0, Tk, block_k):  # inner loop: stream key/value blocks past it
            if causal and k0 > q0 + bq - 1:
                break  # every key in this block is in the future of every query: skip the tile
            s = _tile_scores(q_i, k[..., k0 : k0 + block_k, :], q0, k0, causal)  # (..., Bq, Bk)
            m, l_, acc, _ = _online_update(m, l_, acc, s, v[..., k0 : k0 + block_k, :])
        out[..., q0 : q0 + bq, :] = acc / l_[..., None]  # normalise once, at the very end
    return out


# --- the step-through ------------------------------------------------------------------------


@dataclass
class Step:
    """The state of one query block after folding in one key block."""

    q_block: int
    k_block: int
    rows: tuple[int, int]  # query positions [start, end)
    cols: tuple[int, int]  # key positions [start, end)
    scores: torch.Tensor  # (Bq, Bk) this tile of S (-inf where causally masked)
    scale: torch.Tensor  # (Bq,) exp(m_old - m_new): how much the old sums shrank
    m: torch.Tensor  # (Bq,) running row max
    l_: torch.Tensor  # (Bq,) running softmax denominator
    acc: torch.Tensor  # (Bq, d) running unnormalised output
    skipped: bool = False  # causal tile entirely in the future: never computed


def online_softmax_steps(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    block_q: int,
    block_k: int,
    causal: bool = False,
) -> list[Step]:
    """Every tile of flash_attention on one head (q, k, v: (T, d)), with the running state."""
    T = q.shape[0]
    steps: list[Step] = []
    for qi, q0 in enumerate(range(0, T, block_q)):
        q_i = q[q0 : q0 + block_q]  # (Bq, d)
        bq = q_i.shape[0]
        m = torch.full((bq,), float("-inf"), dtype=q.dtype)  # (Bq,)
        l_ = torch.zeros(bq, dtype=q.dtype)  # (Bq,)
        acc = torch.zeros_like(q_i)  # (Bq, d)
        for kj, k0 in enumerate(range(0, k.shape[0], block_k)):
            k_j = k[k0 : k0 + block_k]  # (Bk, d)
            cols = (k0, k0 + k_j.shape[0])
            if causal and k0 > q0 + bq - 1:
                full = torch.full((bq, k_j.shape[0]), float("-inf"), dtype=q.dtype)
                ones = torch.ones(bq, dtype=q.dtype)
                steps.append(
                    Step(qi, kj, (q0, q0 + bq), cols, full, ones, m, l_, acc, skipped=True)
                )
                continue
            s = _tile_scores(q_i, k_j, q0, k0, causal)  # (Bq, Bk)
            m, l_, acc, scale = _online_update(m, l_, acc, s, v[k0 : k0 + block_k])
            steps.append(Step(qi, kj, (q0, q0 + bq), cols, s, scale, m, l_, acc))
    return steps


def random_qkv(T: int, d: int = 4, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Seeded random q, k, v (T, d) each: the step-through's inputs."""
    gen = torch.Generator().manual_seed(int(seed))
    return tuple(torch.randn(T, d, generator=gen) for _ in range(3))  # (T, d) x 3


def revealed_scores(steps: list[Step], upto: int, T: int) -> torch.Tensor:
    """The score matrix (T, T) as the step-through has revealed it after step `upto` (0-based):
    the tiles computed so far for the current query block, NaN everywhere else."""
    cur = steps[upto]
    shown = torch.full((T, T), float("nan"))  # (T, T)
    for s in steps[: upto + 1]:
        if s.q_block == cur.q_block and not s.skipped:
            shown[s.rows[0] : s.rows[1], s.cols[0] : s.cols[1]] = s.scores
    return shown


@dataclass(frozen=True)
class Check:
    steps_vs_softmax: float  # max |acc/l after the last steps - softmax(QK^T/sqrt(d))V|
    tiled_vs_sdpa: float  # max |flash_attention() - torch's scaled_dot_product_attention|


def check_steps(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    steps: list[Step],
    bq: int,
    bk: int,
    causal: bool,
) -> Check:
    """How far the step-through's result and the tiled function are from the references."""
    T, d = q.shape
    out = steps_output(steps, T, d)  # (T, d)
    ref = standard_attention(q, k, v, causal)  # (T, d)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (T, d)
    tiled = flash_attention(q, k, v, bq, bk, causal)  # (T, d)
    return Check(float((out - ref).abs().max()), float((tiled - sdpa).abs().max()))


def steps_output(steps: list[Step], T: int, d: int) -> torch.Tensor:
    """Assemble acc / l_ from the last step of every query block: (T, d)."""
    out = torch.zeros(T, d, dtype=steps[0].acc.dtype)  # (T, d)
    for st in steps:  # later steps of the same block overwrite earlier ones
        out[st.rows[0] : st.rows[1]] = st.acc / st.l_[:, None]
    return out


# --- memory traffic (HBM reads + writes) -----------------------------------------------------


@dataclass(frozen=True)
class TrafficConfig:
    seq_len: int = 4096  # N
    head_dim: int = 64  # d
    sram_bytes: int = 192 * 1024  # M: on-chip memory per streaming multiprocessor (A100: 192 KB)
    bytes_per_el: int = 2  # fp16/bf16

    def __post_init__(self) -> None:
        if min(self.seq_len, self.head_dim, self.sram_bytes, self.bytes_per_el) < 1:
            raise ValueError("seq_len, head_dim, sram_bytes and bytes_per_el must be >= 1.")
        if self.sram_bytes // self.bytes_per_el < 4 * self.head_dim:
            raise ValueError(
                f"SRAM of {self.sram_bytes} bytes cannot hold four rows of d={self.head_dim} "
                "elements; FlashAttention needs M >= 4d."
            )


def standard_traffic(cfg: TrafficConfig) -> int:
    """Bytes moved by standard attention (the paper's Algorithm 0), one head: Theta(Nd + N^2).

    read Q, K (2Nd), write S (N^2); read S, write P (2 N^2); read P, V (N^2 + Nd), write O (Nd).
    """
    N, d = cfg.seq_len, cfg.head_dim
    return (4 * N * d + 4 * N * N) * cfg.bytes_per_el


def flash_blocks(cfg: TrafficConfig) -> tuple[int, int]:
    """The paper's block sizes: Bc = ceil(M / 4d) keys, Br = min(Bc, d) queries per tile."""
    m_el = cfg.sram_bytes // cfg.bytes_per_el  # SRAM size in elements
    bc = math.ceil(m_el / (4 * cfg.head_dim))
    return min(bc, cfg.head_dim), bc


def traffic_curves(
    lengths: list[int], head_dim: int, sram_bytes: int, bytes_per_el: int
) -> dict[str, list[float]]:
    """Standard and flash traffic in MiB per sequence length, and how many times less flash
    moves: what the memory-traffic figure draws."""
    cfgs = [TrafficConfig(n, head_dim, sram_bytes, bytes_per_el) for n in lengths]
    std = [standard_traffic(c) / 2**20 for c in cfgs]
    fl = [flash_traffic(c) / 2**20 for c in cfgs]
    return {
        "seq_len": list(lengths),
        "standard_mib": std,
        "flash_mib": fl,
        "ratio": [a / b for a, b in zip(std, fl, strict=True)],
    }


def flash_traffic(cfg: TrafficConfig) -> int:
    """Bytes moved by FlashAttention (Algorithm 1), one head, counted loop by loop.

    Outer loop over Tc key/value blocks: load K_j, V_j once (2Nd in total). Inner loop over Tr
    query blocks: read Q_i, O_i, l_i, m_i and write back O_i, l_i, m_i. Total ~ Tc * N(3d + 4),
    and Tc = N / Bc = 4Nd / M, hence Theta(N^2 d^2 / M).
    """
    N, d = cfg.seq_len, cfg.head_dim
    br, bc = flash_blocks(cfg)
    tc, tr = math.ceil(N / bc), math.ceil(N / br)
    kv = 2 * N * d  # every K_j, V_j loaded exactly once
    per_q_block = []  # elements moved per (query block) visit: reads + writes
    for i in range(tr):
        rows = min(br, N - i * br)
        per_q_block.append(2 * rows * d + 2 * rows + rows * d + 2 * rows)
    return (kv + tc * sum(per_q_block)) * cfg.bytes_per_el
