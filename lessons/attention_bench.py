"""Eager attention vs PyTorch's fused scaled_dot_product_attention (SDPA), timed on this host.

"Eager" is the textbook three steps: S = QK^T/sqrt(d), P = softmax(S), O = PV; S and P are full
(B, h, N, N) tensors. SDPA dispatches to a fused kernel (a backend) chosen per device:
- MATH: the reference C++ composition, same memory as eager;
- FLASH_ATTENTION: tiled online softmax (CUDA, and a CPU implementation in recent PyTorch);
- EFFICIENT_ATTENTION (memory-efficient, xFormers-style) and CUDNN_ATTENTION: CUDA only.
A backend that cannot run here (wrong device, dtype or shape) is reported as unavailable.

Memory: on CUDA the peak is measured (torch.cuda.max_memory_allocated above the inputs). On CPU
the allocator is not instrumented, so the column is the analytic size of the N x N score matrix
that eager materialises (tiled kernels hold only tiles of it); the table says which it is.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {
    "sdpa:math": SDPBackend.MATH,
    "sdpa:flash": SDPBackend.FLASH_ATTENTION,
    "sdpa:efficient": SDPBackend.EFFICIENT_ATTENTION,
    "sdpa:cudnn": SDPBackend.CUDNN_ATTENTION,
}


@dataclass(frozen=True)
class BenchConfig:
    batch: int = 1
    heads: int = 9  # SmolLM2-135M
    head_dim: int = 64
    causal: bool = True
    dtype: torch.dtype = torch.float32
    repeats: int = 3  # best of n: the least disturbed by other processes
    budget_s: float = 20.0  # stop starting new lengths after this much wall time
    device: str = "cuda" if torch.cuda.is_available() else "cpu"


def eager_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool
) -> torch.Tensor:
    """Manual matmul-softmax-matmul. q, k, v: (B, h, N, d)."""
    N = q.shape[-2]
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, h, N, N)
    if causal:
        mask = torch.ones(N, N, dtype=torch.bool, device=q.device).triu(1)
        s = s.masked_fill(mask, float("-inf"))
    return s.softmax(dim=-1) @ v  # (B, h, N, d)


def _runner(name: str, causal: bool):
    if name == "eager":
        return lambda q, k, v: eager_attention(q, k, v, causal)
    backend = BACKENDS[name]

    def run(q, k, v):
        with sdpa_kernel([backend]):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    return run


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def available_methods(cfg: BenchConfig = BenchConfig()) -> dict[str, str | None]:
    """name -> None if it runs here, else the reason it does not (tiny trial call)."""
    q = torch.randn(1, 1, 8, cfg.head_dim, device=cfg.device, dtype=cfg.dtype)
    out: dict[str, str | None] = {"eager": None}
    for name in BACKENDS:
        try:
            _runner(name, cfg.causal)(q, q, q)
            out[name] = None
        except RuntimeError as exc:
            out[name] = str(exc).strip().splitlines()[0][:160] or type(exc).__name__
    return out


def run_attention_bench(
    lengths: list[int], cfg: BenchConfig = BenchConfig(), methods: list[str] | None = None
) -> list[dict]:
    """Time each available method at each sequence length; one row per (length, method).

    Rows: method, seq_len, ms (best of cfg.repeats), mem_mb, mem_kind ("measured"/"analytic"),
    max_abs_err (vs eager, same inputs). Stops starting new lengths once cfg.budget_s is spent.
    """
    avail = available_methods(cfg)
    names = [m for m in (methods or list(avail)) if avail.get(m, "unknown") is None]
    rows: list[dict] = []
    start = time.perf_counter()
    for N in sorted(lengths):
        if time.perf_counter() - start > cfg.budget_s:
            break
        shape = (cfg.batch, cfg.heads, N, cfg.head_dim)
        gen = torch.Generator().manual_seed(N)
        q, k, v = (torch.randn(shape, generator=gen).to(cfg.device, cfg.dtype) for _ in range(3))
        reference = None
        for name in names:
            fn = _runner(name, cfg.causal)
            with torch.inference_mode():
                cuda = cfg.device.startswith("cuda")
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                    base = torch.cuda.memory_allocated()
                out = fn(q, k, v)  # warm-up (and the output for the error column)
                _sync(cfg.device)
                best = float("inf")
                for _ in range(cfg.repeats):
                    t0 = time.perf_counter()
                    fn(q, k, v)
                    _sync(cfg.device)
                    best = min(best, time.perf_counter() - t0)
                if cuda:
                    mem = (torch.cuda.max_memory_allocated() - base) / 2**20
                    kind = "measured"
                else:
                    # Eager and MATH hold the (B, h, N, N) scores; the flash kernel only tiles.
                    el = q.element_size()
                    full = cfg.batch * cfg.heads * N * N * el / 2**20
                    mem = None if name == "sdpa:flash" else full
                    kind = "analytic N×N scores" if mem is not None else "never materialised"
                if reference is None:
                    reference = out.float()
                rows.append(
                    {
                        "method": name,
                        "seq_len": N,
                        "ms": best * 1e3,
                        "mem_mb": mem,
                        "mem_kind": kind,
                        "max_abs_err": float((out.float() - reference).abs().max()),
                        "device": cfg.device,
                    }
                )
    return rows
