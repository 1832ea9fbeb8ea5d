"""Eager attention vs PyTorch's fused scaled_dot_product_attention (SDPA), timed on this host.

"Eager" is the textbook three steps: S = QK^T/sqrt(d), P = softmax(S), O = PV; S and P are full
(B, h, N, N) tensors. SDPA dispatches to a fused kernel (a backend) chosen per device:
- MATH: the reference C++ composition, same memory as eager;
- FLASH_ATTENTION: tiled online softmax (CUDA, and a CPU implementation in recent PyTorch);
- EFFICIENT_ATTENTION (memory-efficient, xFormers-style) and CUDNN_ATTENTION: CUDA only.
A backend that cannot run here (wrong device, dtype or shape) is reported as unavailable.

Timing: the first calls of a kernel at a new size pay for thread-pool start-up, allocator growth
and dispatch caches (without a warm-up, eager at N = 128 once read ~12 ms, slower than N = 256 at
~3 ms). So every method is first run untimed at every length of the sweep (`warm_up`), then each
(length, method) gets `warmup` more untimed calls, then the best of at least `repeats` timed
calls, repeated until `min_time_s` of timing was collected.

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
    repeats: int = 5  # best of n timed calls: the least disturbed by other processes
    warmup: int = 2  # untimed calls per (length, method) before the timed ones
    min_time_s: float = 0.05  # keep timing (beyond `repeats`) until this much was measured
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


def _inputs(N: int, cfg: BenchConfig) -> tuple[torch.Tensor, ...]:
    shape = (cfg.batch, cfg.heads, N, cfg.head_dim)
    gen = torch.Generator().manual_seed(N)
    return tuple(torch.randn(shape, generator=gen).to(cfg.device, cfg.dtype) for _ in range(3))


def warm_up(names: list[str], lengths: list[int], cfg: BenchConfig) -> int:
    """Run every method once at every length, untimed: the process-wide first-call costs
    (threads, allocator, kernel selection) land here, not in the first timed length.
    Returns the number of calls made."""
    calls = 0
    with torch.inference_mode():
        for N in sorted(set(lengths)):
            q, k, v = _inputs(N, cfg)
            for name in names:
                _runner(name, cfg.causal)(q, k, v)
                calls += 1
    _sync(cfg.device)
    return calls


def time_call(fn, args: tuple, cfg: BenchConfig) -> tuple[float, int]:
    """(best seconds, timed calls) of fn(*args): `cfg.warmup` untimed calls, then timed calls
    until at least `cfg.repeats` were made and `cfg.min_time_s` was spent timing."""
    for _ in range(cfg.warmup):
        fn(*args)
    _sync(cfg.device)
    best, spent, n = float("inf"), 0.0, 0
    while n < cfg.repeats or spent < cfg.min_time_s:
        t0 = time.perf_counter()
        fn(*args)
        _sync(cfg.device)
        dt = time.perf_counter() - t0
        best, spent, n = min(best, dt), spent + dt, n + 1
        if n >= 100 * cfg.repeats:
            break
    return best, n


def run_attention_bench(
    lengths: list[int], cfg: BenchConfig = BenchConfig(), methods: list[str] | None = None
) -> list[dict]:
    """Time each available method at each sequence length; one row per (length, method).

    Rows: method, seq_len, ms (best timed call), calls (how many were timed), mem_mb, mem_kind
    ("measured"/"analytic"), max_abs_err (vs eager, same inputs). Every method is warmed up at
    every length first. Stops starting new lengths once cfg.budget_s is spent.
    """
    avail = available_methods(cfg)
    names = [m for m in (methods or list(avail)) if avail.get(m, "unknown") is None]
    rows: list[dict] = []
    start = time.perf_counter()
    warm_up(names, lengths, cfg)
    for N in sorted(lengths):
        if time.perf_counter() - start > cfg.budget_s:
            break
        q, k, v = _inputs(N, cfg)
        reference = None
        for name in names:
            fn = _runner(name, cfg.causal)
            with torch.inference_mode():
                cuda = cfg.device.startswith("cuda")
                if cuda:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                    base = torch.cuda.memory_allocated()
                out = fn(q, k, v)  # the output for the error column
                best, calls = time_call(fn, (q, k, v), cfg)
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
                        "calls": calls,
                        "mem_mb": mem,
                        "mem_kind": kind,
                        "max_abs_err": float((out.float() - reference).abs().max()),
                        "device": cfg.device,
                    }
                )
    return rows
