"""Project 6's numbers: how well a model knows the reference answers, and how close its own are.

    answer_nll(logits, labels)    mean negative log-likelihood per reference-answer token
    rouge_l(prediction, reference) F1 of the longest common subsequence of words (ROUGE-L)
    llama_8b_lora_memory()        what LitGPT's LoRA run on Llama 3.1 8B needs (the calculator)

`answer_nll` is teacher-forced: the model reads the prompt and the reference answer and is scored
on every answer token (the prompt tokens are masked with -100, as LitGPT's `mask_prompt` does).
It needs no generation, so it is cheap and smooth; ROUGE-L scores what the model actually writes
(greedy), word overlap in order, so it is noisy and blind to meaning: both are shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE = -100
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class NLL:
    total: float  # summed negative log-likelihood (nats) of the scored tokens
    tokens: int  # how many tokens were scored

    @property
    def mean(self) -> float:
        return self.total / self.tokens if self.tokens else float("nan")

    def __add__(self, other: NLL) -> NLL:
        return NLL(self.total + other.total, self.tokens + other.tokens)


def answer_nll(logits: torch.Tensor, labels: torch.Tensor) -> NLL:
    """Summed NLL of the labelled tokens: logits (B, T, V) predict labels (B, T) shifted by one
    (position t predicts token t + 1); labels of -100 (prompt, padding) are not scored."""
    pred = logits[:, :-1, :].reshape(-1, logits.size(-1)).float()  # (B·(T-1), V)
    target = labels[:, 1:].reshape(-1).long()  # (B·(T-1),)
    total = F.cross_entropy(pred, target, ignore_index=IGNORE, reduction="sum")
    return NLL(float(total), int((target != IGNORE).sum()))


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words (the tokenizer of Google's rouge-score, no stemming)."""
    return _WORD.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence (in order, gaps allowed), by dynamic programming
    over one row at a time."""
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b, start=1):
            row.append(prev[j - 1] + 1 if x == y else max(prev[j], row[j - 1]))
        prev = row
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1: precision = LCS / |prediction|, recall = LCS / |reference| (in words)."""
    p, r = words(prediction), words(reference)
    lcs = lcs_length(p, r)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(p), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def relative_drop(before: float, after: float) -> float:
    """How much lower `after` is than `before`, as a share of `before` (0.1 = 10 % lower)."""
    return (before - after) / before if before else float("nan")


# LitGPT's finetune_lora defaults: r 8 on the query and value projections, micro-batch 1.
LLAMA_8B_RUN = {"rank": 8, "batch": 1, "seq": 512, "dtype": "bf16", "checkpointing": False}


def llama_8b_lora_memory(seq: int = LLAMA_8B_RUN["seq"]):
    """`lessons.llm_calculator.training_memory` for the GPU command the page shows: Llama 3.1 8B
    (its published config in assets/configs/) frozen in bf16, LoRA r = 8 on q and v."""
    from lessons import llm_arch, llm_calculator

    arch = llm_arch.Arch.from_config(llm_arch.published("llama-3.1-8b").config)
    run = {**LLAMA_8B_RUN, "seq": seq}
    return llm_calculator.training_memory(
        arch,
        "lora",
        run["rank"],
        run["dtype"],
        run["batch"],
        run["seq"],
        run["checkpointing"],
        ("q_proj", "v_proj"),
    )
