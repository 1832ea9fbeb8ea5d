"""RLHF's objective and PPO's clip: what the KL leash does, in numbers.

RLHF (Ziegler et al. 2019, Ouyang et al. 2022) maximises reward while staying close to the
reference model the run started from:

    J(π) = E_{y~π}[ r(x, y) ] − β · KL(π ‖ π_ref)

Over a finite set of answers this has a closed-form maximiser (the identity DPO is built on):

    π*(y) = π_ref(y) · exp(r(y) / β) / Z,     Z = Σ_y π_ref(y) · exp(r(y) / β)

Large β keeps π* at π_ref (a tight leash); small β piles everything onto the best-rewarded answer
(reward hacking, if the reward model is wrong). Rearranged,
r(y) = β · log(π*(y)/π_ref(y)) + β log Z: DPO's implicit reward, with the β log Z term
cancelling in every chosen-minus-rejected difference.

PPO (Schulman et al. 2017) climbs J by sampling, with a clipped surrogate per token:
    min(ρ · A, clip(ρ, 1 − ε, 1 + ε) · A),   ρ = π(token) / π_old(token)
so one batch cannot move a token's probability by more than a factor of about 1 ± ε.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Optimum:
    policy: list[float]  # π*(y)
    reference: list[float]  # π_ref(y)
    expected_reward: float  # E_{π*}[r]
    reference_reward: float  # E_{π_ref}[r]
    kl: float  # KL(π* ‖ π_ref), nats
    objective: float  # E[r] − β KL


def kl(p: torch.Tensor, q: torch.Tensor) -> float:
    """KL(p ‖ q) in nats for two distributions over the same set (0 · log 0 = 0)."""
    mask = p > 0
    return float((p[mask] * (p[mask].log() - q[mask].log())).sum())


def objective(p: torch.Tensor, ref: torch.Tensor, reward: torch.Tensor, beta: float) -> float:
    return float((p * reward).sum()) - beta * kl(p, ref)


def kl_optimum(ref_logp: list[float], reward: list[float], beta: float) -> Optimum:
    """π* ∝ π_ref · exp(r/β) over the given answers (their log-probabilities renormalised)."""
    if beta <= 0:
        raise ValueError("β must be positive")
    lr = torch.tensor(ref_logp, dtype=torch.float64)
    ref = torch.softmax(lr, 0)  # π_ref restricted to these answers
    r = torch.tensor(reward, dtype=torch.float64)
    pol = torch.softmax(lr + r / beta, 0)
    return Optimum(
        policy=pol.tolist(),
        reference=ref.tolist(),
        expected_reward=float((pol * r).sum()),
        reference_reward=float((ref * r).sum()),
        kl=kl(pol, ref),
        objective=objective(pol, ref, r, beta),
    )


def beta_sweep(ref_logp: list[float], reward: list[float], betas: list[float]) -> list[dict]:
    """Expected reward and KL of the optimum for each β: the leash's trade-off curve."""
    rows = []
    for b in betas:
        o = kl_optimum(ref_logp, reward, b)
        rows.append({"beta": b, "expected_reward": o.expected_reward, "kl": o.kl})
    return rows


def implicit_rewards(opt: Optimum, beta: float) -> list[float]:
    """β · log(π*/π_ref) for each answer: equals r minus one shared constant (β log Z)."""
    return [
        beta * (torch.tensor(p).log() - torch.tensor(q).log()).item()
        for p, q in zip(opt.policy, opt.reference, strict=True)
    ]


def ppo_clip(ratio: torch.Tensor, advantage: float, eps: float = 0.2) -> torch.Tensor:
    """PPO's clipped surrogate per token, as a function of the probability ratio ρ."""
    return torch.minimum(ratio * advantage, ratio.clamp(1 - eps, 1 + eps) * advantage)


def ppo_clip_curves(eps: float, points: int = 201) -> tuple[list[float], list[float], list[float]]:
    """ρ from 0 to 2, and the clipped surrogate for a positive (+1) and a negative (−1)
    advantage."""
    ratio = torch.linspace(0.0, 2.0, points)
    return ratio.tolist(), ppo_clip(ratio, 1.0, eps).tolist(), ppo_clip(ratio, -1.0, eps).tolist()
