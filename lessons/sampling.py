"""From logits to a next-token distribution: repetition penalty, temperature, top-k, top-p.

Each knob is a pure function on a logits vector (V,); "removing" a token sets its logit to -inf, so
softmax gives it exactly zero probability and renormalises the rest. The order is the one
`transformers.generate` uses: repetition penalty (a processor, it also changes greedy), then the
warpers temperature -> top-k -> top-p. Parity with the library's processors is tested to 1e-6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingConfig:
    temperature: float = 1.0  # > 0; 1 = the model's own distribution
    top_k: int = 0  # 0 = off; else keep the k likeliest tokens
    top_p: float = 1.0  # 1 = off; else keep the smallest top set with mass >= p
    repetition_penalty: float = 1.0  # 1 = off; > 1 discourages tokens already in the text


@dataclass(frozen=True)
class GenConfig:
    """Every knob of one generation, for every engine (transformers `generate`, llama.cpp) and
    every page: the cap, the sampling knobs (temperature 0 = greedy), the seed, the clock."""

    max_new_tokens: int = 128
    temperature: float = 0.0  # 0 = greedy (reproducible lessons); > 0 samples
    top_k: int = 0  # 0 = off
    top_p: float = 1.0  # 1 = off
    repetition_penalty: float = 1.0  # 1 = off
    seed: int = 0  # for sampling; the global RNG is left untouched
    time_budget_s: float = 20.0  # stop generating after this many seconds, with a notice

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    def sampling(self) -> SamplingConfig:
        """The distribution knobs alone (greedy shows the model's own distribution, T = 1)."""
        return SamplingConfig(
            temperature=1.0 if self.greedy else self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            repetition_penalty=self.repetition_penalty,
        )


def repetition_penalty(
    logits: torch.Tensor, prev_ids: torch.Tensor, penalty: float
) -> torch.Tensor:
    """CTRL's penalty (Keskar et al. 2019): make every token already seen less likely.

    Dividing a positive logit by `penalty` shrinks it; a negative one must be *multiplied* to move
    it further down (dividing would pull it towards 0, i.e. make it likelier).
    """
    if penalty == 1.0 or prev_ids.numel() == 0:
        return logits
    seen = torch.unique(prev_ids)  # (S,) each token once, however often it appeared
    score = logits[seen]  # (S,)
    score = torch.where(score < 0, score * penalty, score / penalty)  # (S,)
    out = logits.clone()  # (V,)
    out[seen] = score
    return out


def temperature(logits: torch.Tensor, t: float) -> torch.Tensor:
    """softmax(z / t): t < 1 sharpens towards the argmax, t > 1 flattens towards uniform."""
    if t <= 0:
        raise ValueError(f"temperature must be > 0 (use greedy decoding for 0), got {t}")
    return logits / t  # (V,)


def top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k highest logits (ties with the k-th are kept too), -inf for the rest."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k).values[-1]  # () the k-th largest logit
    return logits.masked_fill(logits < kth, -math.inf)  # (V,)


def top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus sampling (Holtzman et al. 2019): keep the smallest set of likeliest tokens whose
    probabilities add up to at least p. The top token is always kept."""
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True)  # (V,), (V,)
    probs = sorted_logits.softmax(dim=-1)  # (V,)
    mass_before = probs.cumsum(dim=-1) - probs  # (V,) probability of the tokens ranked above
    drop_sorted = mass_before >= p  # (V,) the set already reached p without this token
    drop_sorted[0] = False  # never remove everything
    drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)  # (V,) back to vocab order
    return logits.masked_fill(drop, -math.inf)


def filter_logits(
    logits: torch.Tensor, prev_ids: torch.Tensor, cfg: SamplingConfig
) -> torch.Tensor:
    """All four knobs, in generate's order. Returns processed logits (V,), -inf where removed."""
    z = repetition_penalty(logits.float(), prev_ids, cfg.repetition_penalty)  # (V,)
    if cfg.temperature != 1.0:
        z = temperature(z, cfg.temperature)
    z = top_k(z, cfg.top_k)
    return top_p(z, cfg.top_p)  # (V,)


def entropy_bits(probs: torch.Tensor) -> float:
    """H = -sum p log2 p over the tokens that keep probability (0 log 0 = 0)."""
    p = probs[probs > 0]  # (N,)
    return float(-(p * p.log2()).sum())


@dataclass
class Distribution:
    """The model's distribution and the one we would sample from, for one position."""

    original: torch.Tensor  # (V,) softmax of the raw logits
    filtered: torch.Tensor  # (V,) softmax of the processed logits (zeros where removed)

    @property
    def kept(self) -> int:
        return int((self.filtered > 0).sum())

    @property
    def entropy_original(self) -> float:
        return entropy_bits(self.original)

    @property
    def entropy_filtered(self) -> float:
        return entropy_bits(self.filtered)

    def top(self, n: int = 20) -> list[tuple[int, float, float]]:
        """(token id, p model, p after the knobs) of the n likeliest tokens under the model."""
        ids = torch.topk(self.original, min(n, self.original.numel())).indices.tolist()
        return [(i, float(self.original[i]), float(self.filtered[i])) for i in ids]


def distribution(logits, prev_ids, cfg: SamplingConfig) -> Distribution:
    """The model's distribution and the filtered one; logits (V,) and the previous ids as tensors
    or arrays."""
    logits, prev_ids = torch.as_tensor(logits), torch.as_tensor(prev_ids, dtype=torch.long)
    return Distribution(
        original=logits.float().softmax(dim=-1),  # (V,)
        filtered=filter_logits(logits, prev_ids, cfg).softmax(dim=-1),  # (V,)
    )
