"""RoPE scaling: stretching rotary positions past the length a model was trained on.

RoPE rotates pair i of every query/key by position * w_i with w_i = base^(-2i/d) (lessons/rope.py).
Fast pairs (small i) turn many times inside the training length L; slow pairs turn less than once,
so the model has never seen their angles beyond L. Asking for positions > L means unseen angles.
Four fixes, all a change of w_i (and none needs new weights, though all work better fine-tuned):

- linear / position interpolation (Chen et al. 2023): w_i / s. Position s*L now looks like L, but
  every pair is slowed, so neighbouring tokens look s times closer: local order gets blurred.
- NTK-aware (bloc97 2023): keep w_0 = 1, raise the base to base * s^(d/(d-2)). Fast pairs barely
  change, the slowest pair is slowed by exactly s: interpolate low frequencies, extrapolate high.
- dynamic NTK: the same, with s chosen from the current length (no change at all up to L).
- YaRN (Peng et al. 2023): per pair, by how many turns r_i = L / wavelength_i it makes within L:
  r_i > beta_fast (32) -> unchanged, r_i < beta_slow (1) -> divided by s, linear ramp in between;
  and an attention temperature: cos/sin scaled by 0.1 ln s + 1 so logits keep their sharpness.

Our formulas are checked against transformers' ROPE_INIT_FUNCTIONS, which the page also uses on a
*copy* of the model's config. The measured part runs the real decoder layers with our (cos, sin).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from lessons.rope import RopeConfig, apply_rope, inv_freq

METHODS = ("none", "linear", "ntk", "dynamic", "yarn")


@dataclass(frozen=True)
class ScalingConfig:
    method: str = "yarn"  # one of METHODS
    factor: float = 4.0  # s: target length / trained length
    trained_len: int = 8192  # L: the context the model was trained on (or pretends to be)
    head_dim: int = 64
    base: float = 100_000.0  # rope_theta
    beta_fast: float = 32.0  # YaRN: pairs turning more than this often within L are left alone
    beta_slow: float = 1.0  # YaRN: pairs turning less than this are fully interpolated

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"Unknown RoPE scaling {self.method!r}; choose one of {METHODS}.")
        if self.factor < 1:
            raise ValueError(f"The scale factor must be >= 1, got {self.factor}.")
        if self.trained_len < 2:
            raise ValueError(f"trained_len must be >= 2, got {self.trained_len}.")


# --- the formulas ----------------------------------------------------------------------------


def linear_inv_freq(cfg: ScalingConfig) -> torch.Tensor:
    """Position interpolation: every pair slowed by s (same as positions / s)."""
    return inv_freq(cfg.head_dim, cfg.base) / cfg.factor  # (hs/2,)


def ntk_inv_freq(cfg: ScalingConfig, alpha: float | None = None) -> torch.Tensor:
    """NTK-aware: new base = base * alpha^(d/(d-2)); the slowest pair is alpha slower."""
    alpha = cfg.factor if alpha is None else alpha
    d = cfg.head_dim
    return inv_freq(d, cfg.base * alpha ** (d / (d - 2)))  # (hs/2,)


def dynamic_alpha(cfg: ScalingConfig, seq_len: int) -> float:
    """Dynamic NTK's alpha for the current length: 1 up to L, then s*T/L - (s-1) (transformers)."""
    seq_len = max(seq_len, cfg.trained_len)
    return cfg.factor * seq_len / cfg.trained_len - (cfg.factor - 1)


def yarn_inv_freq(cfg: ScalingConfig) -> tuple[torch.Tensor, float]:
    """YaRN's per-pair blend of extrapolation and interpolation, and its attention factor."""
    d = cfg.head_dim
    w = inv_freq(d, cfg.base)  # (hs/2,)

    def pair_with_turns(turns: float) -> float:
        # The (fractional) pair index whose wavelength fits `turns` times into L.
        return d * math.log(cfg.trained_len / (turns * 2 * math.pi)) / (2 * math.log(cfg.base))

    low = max(math.floor(pair_with_turns(cfg.beta_fast)), 0)  # below: fast pairs, keep
    high = min(math.ceil(pair_with_turns(cfg.beta_slow)), d - 1)  # above: slow pairs, interpolate
    if low == high:
        high += 0.001
    ramp = ((torch.arange(d // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)  # (hs/2,)
    keep = 1 - ramp  # 1: extrapolate (unchanged), 0: interpolate (divided by s)
    blended = (w / cfg.factor) * (1 - keep) + w * keep  # (hs/2,)
    attention = 0.1 * math.log(cfg.factor) + 1.0 if cfg.factor > 1 else 1.0
    return blended, attention


def scaled_inv_freq(cfg: ScalingConfig, seq_len: int | None = None) -> tuple[torch.Tensor, float]:
    """(inv_freq (hs/2,), attention factor) of a method; seq_len only matters for 'dynamic'."""
    if cfg.method == "none":
        return inv_freq(cfg.head_dim, cfg.base), 1.0
    if cfg.method == "linear":
        return linear_inv_freq(cfg), 1.0
    if cfg.method == "ntk":
        return ntk_inv_freq(cfg), 1.0
    if cfg.method == "dynamic":
        return ntk_inv_freq(cfg, dynamic_alpha(cfg, seq_len or cfg.trained_len)), 1.0
    return yarn_inv_freq(cfg)


def configs_for_model(
    model_config: Any, methods: list[str], factor: float, trained_len: int
) -> list[ScalingConfig]:
    """One ScalingConfig per method with the model's own head_dim and rope_theta (read by
    RopeConfig.from_model_config); "none" always gets factor 1."""
    rope = RopeConfig.from_model_config(model_config)
    return [
        ScalingConfig(m, 1.0 if m == "none" else factor, trained_len, rope.head_dim, rope.base)
        for m in methods
    ]


# --- the same through transformers ----------------------------------------------------------


def library_config(model_config: Any, cfg: ScalingConfig) -> Any:
    """A deep copy of a Hugging Face config with cfg's scaling written into rope_parameters.

    transformers reads the trained length from rope_parameters['original_max_position_embeddings']
    (YaRN) or from config.max_position_embeddings (dynamic), so both are set on the copy.
    """
    c = copy.deepcopy(model_config)  # never touch the shared model's config
    params = {"rope_theta": cfg.base, "rope_type": "default" if cfg.method == "none" else ""}
    if cfg.method in ("linear", "dynamic", "yarn"):
        params.update(rope_type=cfg.method, factor=float(cfg.factor))
    if cfg.method == "yarn":
        params.update(
            original_max_position_embeddings=cfg.trained_len,
            beta_fast=cfg.beta_fast,
            beta_slow=cfg.beta_slow,
        )
    if cfg.method == "ntk":  # no static type in transformers: dynamic with factor 1 at T = s*L
        params.update(rope_type="dynamic", factor=1.0)
    c.rope_parameters = params
    c.max_position_embeddings = cfg.trained_len
    c.head_dim = cfg.head_dim
    return c


def library_inv_freq(
    model_config: Any, cfg: ScalingConfig, seq_len: int | None = None
) -> tuple[torch.Tensor, float]:
    """transformers' own answer for the same method (ROPE_INIT_FUNCTIONS)."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    c = library_config(model_config, cfg)
    rope_type = c.rope_parameters["rope_type"]
    if rope_type == "default":
        return inv_freq(cfg.head_dim, cfg.base), 1.0
    if cfg.method == "ntk":
        seq_len = round(cfg.factor * cfg.trained_len)
    out, attention = ROPE_INIT_FUNCTIONS[rope_type](c, device=None, seq_len=seq_len)
    return out.float(), float(attention)


# --- tables for the plots --------------------------------------------------------------------


def frequency_table(cfg: ScalingConfig) -> dict[str, list[float]]:
    """Per pair: wavelength (tokens per turn) unscaled and scaled, and turns within L."""
    base_w = inv_freq(cfg.head_dim, cfg.base)  # (hs/2,)
    w, _ = scaled_inv_freq(cfg, seq_len=round(cfg.factor * cfg.trained_len))
    return {
        "pair": list(range(cfg.head_dim // 2)),
        "wavelength": (2 * math.pi / base_w).tolist(),
        "scaled_wavelength": (2 * math.pi / w).tolist(),
        "turns_in_L": (cfg.trained_len * base_w / (2 * math.pi)).tolist(),
        "slowdown": (base_w / w).tolist(),
    }


def scaling_curves(
    factor: float, trained_len: int, head_dim: int = 64, base: float = 100_000.0
) -> dict[str, Any]:
    """What the RoPE-scaling figures draw, for every method at s and L: per pair, the wavelength
    (unscaled and per method) and the largest angle reached at s*L over the largest seen in L."""
    target = int(factor * trained_len)
    cfg = {m: ScalingConfig(m, factor, trained_len, head_dim, base) for m in METHODS}
    none = frequency_table(cfg["none"])
    return {
        "pair": none["pair"],
        "factor": factor,
        "trained_len": trained_len,
        "target_len": target,
        "wavelength": none["wavelength"],
        "scaled_wavelength": {m: frequency_table(c)["scaled_wavelength"] for m, c in cfg.items()},
        "angle_ratio": {m: max_angle_seen(c, target).tolist() for m, c in cfg.items()},
    }


def method_summary(
    factor: float, trained_len: int, head_dim: int = 64, base: float = 100_000.0
) -> list[dict[str, Any]]:
    """One row per method: how much its fastest and slowest pairs are slowed, its attention
    factor, and how many pairs still reach unseen angles at s*L."""
    target = int(factor * trained_len)
    w0 = inv_freq(head_dim, base)  # (hs/2,)
    rows = []
    for method in METHODS:
        cfg = ScalingConfig(method, factor, trained_len, head_dim, base)
        w, attention = scaled_inv_freq(cfg, seq_len=target)
        rows.append(
            {
                "method": method,
                "fastest_slowed": float(w0[0] / w[0]),
                "slowest_slowed": float(w0[-1] / w[-1]),
                "attention_factor": attention,
                "pairs_out_of_range": int((max_angle_seen(cfg, target) > 1.001).sum()),
            }
        )
    return rows


def max_angle_seen(cfg: ScalingConfig, target_len: int) -> torch.Tensor:
    """Per pair: the largest angle reached at target_len, over the largest seen in training.

    > 1 means extrapolation: angles (distances) the model never saw. Only pairs that turn less
    than once within L can be out of range (faster pairs have seen every angle mod 2*pi).
    """
    base_w = inv_freq(cfg.head_dim, cfg.base)  # (hs/2,)
    w, _ = scaled_inv_freq(cfg, seq_len=target_len)
    seen = (cfg.trained_len * base_w).clamp(max=2 * math.pi)  # every angle mod 2pi seen
    return ((target_len * w).clamp(max=2 * math.pi) / seen).clone()  # (hs/2,)


# --- the real model, with our (cos, sin) -----------------------------------------------------


def cos_sin(cfg: ScalingConfig, seq_len: int, device: str = "cpu") -> tuple[torch.Tensor, ...]:
    """cos and sin (T, hs) of a method for positions 0..T-1, times the attention factor."""
    w, attention = scaled_inv_freq(cfg, seq_len=seq_len)
    theta = torch.arange(seq_len, dtype=torch.float32)[:, None] * w[None, :]  # (T, hs/2)
    emb = torch.cat((theta, theta), dim=-1)  # (T, hs): pair i is dims i and i + hs/2
    return (emb.cos() * attention).to(device), (emb.sin() * attention).to(device)


def hidden_states(
    model: Any, input_ids: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
) -> torch.Tensor:
    """LlamaModel.forward, staged: the model's own layers, our rotation, fused causal attention.

    Nothing on the model is changed; only its modules are called. input_ids: (1, T).
    Call under the model's lock and torch.inference_mode().
    """
    base = model.model
    h = base.embed_tokens(input_ids)  # (B, T, C)
    B, T, _ = h.shape
    for layer in base.layers[: model.config.num_hidden_layers]:
        attn = layer.self_attn
        x = layer.input_layernorm(h)  # (B, T, C)
        hs = attn.head_dim
        q = attn.q_proj(x).view(B, T, -1, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = attn.k_proj(x).view(B, T, -1, hs).transpose(1, 2)  # (B, nkv, T, hs)
        v = attn.v_proj(x).view(B, T, -1, hs).transpose(1, 2)  # (B, nkv, T, hs)
        q, k = apply_rope(q, k, cos, sin)  # the only place positions enter
        # Fused causal attention (flash on CPU/GPU): no (T, T) matrix, so 2k tokens fit easily.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)  # (B,nh,T,hs)
        h = h + attn.o_proj(y.transpose(1, 2).reshape(B, T, -1))  # (B, T, C)
        h = h + layer.mlp(layer.post_attention_layernorm(h))  # (B, T, C)
    return base.norm(h)  # (B, T, C)


def token_nll(
    model: Any, input_ids: torch.Tensor, cfg: ScalingConfig, chunk: int = 512
) -> torch.Tensor:
    """Negative log-likelihood of tokens 1..T-1 given their prefix: (T-1,), in nats."""
    T = input_ids.shape[1]
    cos, sin = cos_sin(cfg, T, device=str(input_ids.device))
    h = hidden_states(model, input_ids, cos, sin)[0]  # (T, C)
    out = []
    for s in range(0, T - 1, chunk):  # logits in chunks: T x 49k floats would be 400 MB at 2k
        logits = model.lm_head(h[s : min(s + chunk, T - 1)]).float()  # (chunk, V)
        target = input_ids[0, s + 1 : s + 1 + logits.shape[0]]  # (chunk,)
        out.append(F.cross_entropy(logits, target, reduction="none"))
    return torch.cat(out).cpu()  # (T-1,)


def perplexity_sweep(
    model: Any,
    input_ids: torch.Tensor,
    lengths: list[int],
    configs: list[ScalingConfig],
    budget_s: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[dict], bool]:
    """Perplexity at each length for each scaling. Returns (rows, finished_within_budget).

    One forward per method at max(lengths): with causal attention token t's prediction only sees
    tokens < t, so the first n losses of a long run equal those of a run cut at n (the test
    checks it). Perplexity at n = exp(mean NLL of the first n-1 predictions).
    Dynamic NTK is the exception (its frequencies depend on the run's length), so it gets one
    forward per length. Each row also says how long the forward behind it took (`forward_s`) and
    over how many tokens (`forward_len`): the cost the page quotes.
    """
    n_max = min(max(lengths), input_ids.shape[1])
    lengths = sorted({n for n in lengths if 2 <= n <= n_max})
    rows: list[dict] = []
    start = time.perf_counter()
    for cfg in configs:
        if time.perf_counter() - start > budget_s:
            return rows, False
        if progress:
            progress(f"{cfg.method} ×{cfg.factor:g} …")
        runs = [n_max] if cfg.method != "dynamic" else lengths
        for run_len in runs:
            if time.perf_counter() - start > budget_s:
                return rows, False
            t0 = time.perf_counter()
            nll = token_nll(model, input_ids[:, :run_len], cfg)  # (run_len - 1,)
            seconds = time.perf_counter() - t0
            for n in lengths if cfg.method != "dynamic" else [run_len]:
                rows.append(
                    {
                        "method": cfg.method,
                        "factor": cfg.factor,
                        "length": n,
                        "ppl": math.exp(float(nll[: n - 1].mean())),
                        "ppl_last_quarter": math.exp(float(nll[(3 * n) // 4 - 1 : n - 1].mean())),
                        "forward_len": run_len,
                        "forward_s": seconds,
                    }
                )
    return rows, True


def perplexity_gaps(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per method, at the longest length measured for it and "none": its perplexity over no
    scaling's (1.0 = no price), and that length. What the page says in words."""
    by = {(r["method"], r["length"]): r["ppl"] for r in rows}
    out: dict[str, dict[str, float]] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        common = [n for (m, n) in by if m == method and ("none", n) in by]
        if method == "none" or not common:
            continue
        n = max(common)
        out[method] = {"length": n, "ratio": by[(method, n)] / by[("none", n)]}
    return out


def forward_cost(rows: list[dict]) -> tuple[int, float] | None:
    """(tokens, seconds) of the slowest single forward of a sweep: the measured cost to quote."""
    timed = [(r["forward_len"], r["forward_s"]) for r in rows if "forward_s" in r]
    return max(timed, key=lambda t: t[1]) if timed else None


def measure_scalings(model: Any, token_ids: list[int], lengths: list[int], methods: list[str],
                     factor: float, trained_len: int, budget_s: float,
                     device: str = "cpu") -> tuple[list[dict], bool]:  # fmt: skip
    """Perplexity of `model` on `token_ids` at each length for each scaling method (its own
    head_dim and theta): the rows, and whether every run finished within the budget."""
    ids = torch.tensor([token_ids], device=device)  # (1, T)
    configs = configs_for_model(model.config, methods, factor, trained_len)
    with torch.inference_mode():
        return perplexity_sweep(model, ids, lengths, configs, budget_s)
