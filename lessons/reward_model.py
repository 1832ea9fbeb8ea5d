"""A reward model from preference pairs: Bradley–Terry on sentence embeddings.

Bradley & Terry (1952): if answers have scores r, a person prefers y_c to y_r with probability
σ(r(y_c) − r(y_r)). Fitting r to pairs is then logistic regression on score differences:

    loss = −log σ(r(x, y_c) − r(x, y_r))

RLHF's reward model (Ouyang et al. 2022) is this loss with r = a transformer plus a scalar head.
Here r is a linear head on frozen MiniLM embeddings of "question + answer" (384 numbers), small
enough to train in well under a second, so a page can fit it live and score pairs it never saw.
Only differences of r are ever used, so a bias term would cancel: the head has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class RewardConfig:
    steps: int = 300
    lr: float = 0.05
    weight_decay: float = 1e-3  # L2 on the head: 120 pairs, 384 weights
    seed: int = 0


def pair_text(prompt: str, answer: str) -> str:
    """What the encoder reads for one answer."""
    return f"Question: {prompt}\nAnswer: {answer}"


def embed_pairs(handle: Any, prompts, chosen, rejected) -> tuple[torch.Tensor, torch.Tensor]:
    """MiniLM embeddings (N, C) of every chosen and every rejected answer with its question."""
    from lessons.use_cases import embed

    texts = [pair_text(p, a) for p, a in zip(prompts, chosen, strict=True)]
    texts += [pair_text(p, a) for p, a in zip(prompts, rejected, strict=True)]
    e = embed(handle, texts)  # (2N, C), unit length
    return e[: len(prompts)], e[len(prompts) :]


def preference_probability(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """Bradley–Terry: P(chosen preferred) = σ(r_c − r_r)."""
    return torch.sigmoid(r_chosen - r_rejected)


def bt_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    return -F.logsigmoid(r_chosen - r_rejected).mean()


@dataclass
class RewardModel:
    weight: torch.Tensor  # (C,)
    history: list[dict[str, float]]  # step, loss, train accuracy

    def score(self, emb: torch.Tensor) -> torch.Tensor:
        return emb @ self.weight  # (N,)


def fit(e_chosen: torch.Tensor, e_rejected: torch.Tensor, cfg: RewardConfig) -> RewardModel:
    """Full-batch Adam on the Bradley–Terry loss; logs loss and training accuracy."""
    if len(e_chosen) == 0:
        raise ValueError("no pairs to train the reward model on")
    gen = torch.Generator().manual_seed(cfg.seed)
    w = (0.01 * torch.randn(e_chosen.shape[1], generator=gen)).requires_grad_(True)  # (C,)
    opt = torch.optim.Adam([w], lr=cfg.lr, weight_decay=cfg.weight_decay)
    history = []
    every = max(1, cfg.steps // 30)
    for step in range(cfg.steps + 1):
        rc, rr = e_chosen @ w, e_rejected @ w  # (N,), (N,)
        loss = bt_loss(rc, rr)
        if step % every == 0 or step == cfg.steps:
            acc = (rc > rr).float().mean().item()
            history.append({"step": step, "loss": loss.item(), "train_accuracy": acc})
        if step == cfg.steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    return RewardModel(w.detach(), history)


def accuracy(model: RewardModel, e_chosen: torch.Tensor, e_rejected: torch.Tensor) -> float:
    """Share of pairs the reward model ranks the human way."""
    if len(e_chosen) == 0:
        return float("nan")
    return (model.score(e_chosen) > model.score(e_rejected)).float().mean().item()


def accuracy_by_group(
    model: RewardModel, e_chosen: torch.Tensor, e_rejected: torch.Tensor, groups: Sequence[str]
) -> dict[str, float]:
    """Held-out accuracy per kind of rejected answer (wrong, rude, evasive, ramble)."""
    right = (model.score(e_chosen) > model.score(e_rejected)).float()  # (N,)
    out = {}
    for g in sorted(set(groups)):
        idx = torch.tensor([i for i, x in enumerate(groups) if x == g])
        out[g] = right[idx].mean().item()
    return out


def seed_spread(
    train: tuple[torch.Tensor, torch.Tensor],
    held: tuple[torch.Tensor, torch.Tensor],
    cfg: RewardConfig,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> list[float]:
    """Held-out accuracy of the same fit from several initial weights: how sure the number is."""
    return [
        accuracy(fit(*train, RewardConfig(cfg.steps, cfg.lr, cfg.weight_decay, s)), *held)
        for s in seeds
    ]


def mean_std(values) -> tuple[float, float]:
    """Mean and (sample) standard deviation, as torch computes them, of a list of accuracies."""
    t = torch.tensor(list(values), dtype=torch.float64)
    return float(t.mean()), float(t.std()) if t.numel() > 1 else 0.0
