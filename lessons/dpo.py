"""Direct Preference Optimization (Rafailov et al. 2023): the loss, its implicit reward, and the
sequence log-probabilities it is built from.

For a prompt x with a preferred answer y_c and a dispreferred y_r, a policy π and a frozen
reference π_ref (the model before training):

    implicit reward   r(y) = β · (log π(y|x) − log π_ref(y|x))
    margin            m    = r(y_c) − r(y_r)
    loss              L    = −log σ(m)
    gradient weight   w    = σ(−m)   (dL/dm = −w: pairs already ranked right pull less)

Only the margin enters the loss: adding the same number to both log-ratios changes nothing. So the
run is free to push both log-probabilities down as long as the rejected one falls faster, which is
why TRL's `rewards/chosen` often turns negative while `rewards/margins` rises.

A sequence's log-probability is the sum over its answer tokens of log π(token | everything before),
with the prompt rendered by the chat template exactly as TRL's `DPOTrainer` renders it (parity is
tested against TRL's own `logps/chosen`). No Streamlit here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


def implicit_reward(logp_policy: Any, logp_ref: Any, beta: float) -> Any:
    """β · log(π/π_ref): how much more likely the policy makes an answer than the reference."""
    return beta * (logp_policy - logp_ref)


@dataclass(frozen=True)
class PairLoss:
    reward_chosen: float
    reward_rejected: float
    margin: float
    loss: float
    weight: float  # σ(−margin): how hard this pair still pulls


def dpo_terms(
    logp_chosen: float, ref_chosen: float, logp_rejected: float, ref_rejected: float, beta: float
) -> PairLoss:
    """Every number of one pair's DPO loss, from the four sequence log-probabilities."""
    rc = implicit_reward(logp_chosen, ref_chosen, beta)
    rr = implicit_reward(logp_rejected, ref_rejected, beta)
    m = rc - rr
    loss = -F.logsigmoid(torch.tensor(float(m), dtype=torch.float64)).item()
    return PairLoss(rc, rr, m, loss, 1.0 / (1.0 + math.exp(m)) if m < 700 else 0.0)


def dpo_loss(
    logp_chosen: torch.Tensor,
    ref_chosen: torch.Tensor,
    logp_rejected: torch.Tensor,
    ref_rejected: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """Mean sigmoid DPO loss over a batch of pairs (B,) -> scalar (TRL's `loss_type="sigmoid"`)."""
    margin = implicit_reward(logp_chosen, ref_chosen, beta) - implicit_reward(
        logp_rejected, ref_rejected, beta
    )  # (B,)
    return -F.logsigmoid(margin).mean()


def loss_grid(beta: float, span: float = 20.0, n: int = 81) -> tuple[list, list, list]:
    """DPO loss over a grid of (chosen log-ratio, rejected log-ratio) in nats, for a heatmap:
    its contour lines are diagonals, because only the difference matters."""
    xs = torch.linspace(-span, span, n, dtype=torch.float64)  # chosen log π/π_ref
    ys = torch.linspace(-span, span, n, dtype=torch.float64)  # rejected log π/π_ref
    margin = beta * (xs[None, :] - ys[:, None])  # (n_y, n_x)
    z = -F.logsigmoid(margin)
    return xs.tolist(), ys.tolist(), z.tolist()


# ---------------------------------------------------------------- sequence log-probabilities


def _chat_ids(tokenizer: Any, messages: list[dict[str, str]], generation: bool) -> list[int]:
    enc = tokenizer.apply_chat_template(
        messages, add_generation_prompt=generation, tokenize=True, return_dict=True
    )
    return list(enc["input_ids"])


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def encode_answer(tokenizer: Any, prompt: str, answer: str) -> tuple[list[int], list[int]]:
    """(prompt ids, answer ids) as TRL tokenizes a conversational pair: the templated user turn
    with the assistant header, then the assistant turn up to and including its end token."""
    user = [{"role": "user", "content": prompt}]
    prompt_ids = _chat_ids(tokenizer, user, generation=True)
    full = _chat_ids(tokenizer, [*user, {"role": "assistant", "content": answer}], generation=False)
    cut = _common_prefix(prompt_ids, full)
    return prompt_ids[:cut], full[cut:]


@torch.no_grad()
def answer_logps(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    answers: Sequence[str],
    batch_size: int = 8,
    max_length: int = 256,
) -> torch.Tensor:
    """log π(answer | prompt) summed over the answer tokens, one per row (N,). Rows longer than
    `max_length` tokens keep their start (TRL's `keep_start`)."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(prompts), batch_size):
        seqs, masks = [], []
        for p, a in zip(prompts[i : i + batch_size], answers[i : i + batch_size], strict=True):
            pi, ai = encode_answer(tokenizer, p, a)
            ids = (pi + ai)[:max_length]
            seqs.append(ids)
            masks.append([0] * len(pi) + [1] * len(ai))
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)  # (B, T) right-padded
        attn = torch.zeros((len(seqs), width), dtype=torch.long)
        ans = torch.zeros((len(seqs), width), dtype=torch.bool)
        for j, (s, m) in enumerate(zip(seqs, masks, strict=True)):
            ids[j, : len(s)] = torch.tensor(s)
            attn[j, : len(s)] = 1
            ans[j, : len(s)] = torch.tensor(m[: len(s)], dtype=torch.bool)
        logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits  # (B,T,V)
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # (B, T-1, V): predicts t+1
        tok = logp.gather(-1, ids[:, 1:, None].to(device)).squeeze(-1)  # (B, T-1)
        out.append((tok * ans[:, 1:].to(device)).sum(-1).cpu())  # (B,)
    return torch.cat(out) if out else torch.zeros(0)


@dataclass
class PairScores:
    """Sequence log-probabilities of N pairs under the policy and the reference, each (N,)."""

    policy_chosen: torch.Tensor
    policy_rejected: torch.Tensor
    ref_chosen: torch.Tensor
    ref_rejected: torch.Tensor

    def margins(self, beta: float) -> torch.Tensor:
        rc = implicit_reward(self.policy_chosen, self.ref_chosen, beta)
        rr = implicit_reward(self.policy_rejected, self.ref_rejected, beta)
        return rc - rr  # (N,)


def pair_metrics(scores: PairScores, beta: float) -> dict[str, float]:
    """What a held-out set of pairs says about a policy:
    - reward_accuracy: share of pairs whose implicit reward ranks chosen above rejected (strictly,
      as TRL's `rewards/accuracies`; the reference against itself scores 0);
    - logp_accuracy: share with log π(chosen) > log π(rejected) (needs no reference);
    - mean_margin: mean of r(chosen) − r(rejected);
    - the mean implicit rewards, and the loss."""
    n = len(scores.policy_chosen)
    if n == 0:
        raise ValueError("no pairs to score")
    m = scores.margins(beta)
    rc = implicit_reward(scores.policy_chosen, scores.ref_chosen, beta)
    rr = implicit_reward(scores.policy_rejected, scores.ref_rejected, beta)
    return {
        "pairs": n,
        "reward_accuracy": round((m > 0).float().mean().item(), 4),
        "logp_accuracy": round(
            (scores.policy_chosen > scores.policy_rejected).float().mean().item(), 4
        ),
        "mean_margin": round(m.mean().item(), 4),
        "reward_chosen": round(rc.mean().item(), 4),
        "reward_rejected": round(rr.mean().item(), 4),
        "loss": round(-F.logsigmoid(m.double()).mean().item(), 4),
    }


def handle_logps(handle: Any, prompts: Sequence[str], answers: Sequence[str]) -> list[float]:
    """`answer_logps` on a shared model handle, under its lock."""
    with handle.lock:
        return answer_logps(handle.model, handle.tokenizer, list(prompts), list(answers)).tolist()


def loss_vs_margin(span: float = 10.0, n: int = 201) -> tuple[list, list, list]:
    """(margins, −log σ(m), σ(−m)) for a curve; the margin axis is in reward units."""
    m = torch.linspace(-span, span, n, dtype=torch.float64)
    return m.tolist(), (-F.logsigmoid(m)).tolist(), torch.sigmoid(-m).tolist()


def run_path(rows: Sequence[dict[str, Any]], beta: float) -> list[tuple[float, float]]:
    """A run's mean (chosen, rejected) log-ratios per logged step, from TRL's `rewards/*` (which
    are β times the log-ratios)."""
    return [
        (r["rewards/chosen"] / beta, r["rewards/rejected"] / beta)
        for r in rows
        if "rewards/chosen" in r and "rewards/rejected" in r
    ]
