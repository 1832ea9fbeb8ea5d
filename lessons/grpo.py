"""Group Relative Policy Optimization (Shao et al. 2024, DeepSeekMath) with verifiable rewards.

For each prompt the policy samples a *group* of G completions; a program scores each one (no
reward model: the answer is checked). The advantage of completion i is its reward against its own
group's:

    A_i = (r_i − mean(r_group)) / (std(r_group) + 1e-4)          (std with Bessel's correction)

so no value network is needed. A group whose completions all score the same (all right, or all
wrong) has A = 0 for every member: it teaches nothing, and when every group of a step is like that,
TRL logs `reward_std` 0 and a loss of exactly 0 (`frac_reward_zero_std` is their share).

The task here: small additions and subtractions, answered with the number only. Two reward
functions, both plain Python: `correct` (the integer is right) and `format`: 1 for the number alone,
0.5 for one short line that ends with a number ("7 + 5 = 12."), 0 for anything that goes on (a
second line, a ramble cut off by the length cap). The half step gives a group something to tell
apart long before the model first writes a bare number. No Streamlit here.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

INSTRUCTION = "Reply with the number only."
REWARD_WEIGHTS = {"correct": 1.0, "format": 0.5}
_INT = re.compile(r"[-−]?\d+")
_ONLY_INT = re.compile(r"\s*[-−]?\d+\.?\s*")
_ENDS_INT = re.compile(r"[-−]?\d+\.?$")
SHORT_LINE = 40  # characters: "17 + 4 = 21." fits, a sentence of working does not


@dataclass(frozen=True)
class Question:
    question: str  # "What is 12 + 7?"
    answer: int


def prompt_text(question: str) -> str:
    """What the model is asked: the question and the format instruction."""
    return f"{question} {INSTRUCTION}"


def completion_text(completion: Any) -> str:
    """TRL passes a conversational completion as [{"role": "assistant", "content": ...}]."""
    if isinstance(completion, list):
        return "".join(str(m.get("content", "")) for m in completion if isinstance(m, dict))
    return str(completion)


def extract_answer(text: str) -> int | None:
    """The reply's answer: the last integer on its first non-empty line ("7 + 5 = 12" -> 12)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    found = _INT.findall(lines[0].replace(",", ""))
    if not found:
        return None
    return int(found[-1].replace("−", "-"))


def correct_reward(text: str, answer: int) -> float:
    return 1.0 if extract_answer(text) == int(answer) else 0.0


def format_reward(text: str) -> float:
    """1: only an integer (an optional full stop); 0.5: one short line ending in an integer;
    0: anything longer."""
    if _ONLY_INT.fullmatch(text):
        return 1.0
    t = text.strip()
    return 0.5 if "\n" not in t and len(t) <= SHORT_LINE and _ENDS_INT.search(t) else 0.0


def total_reward(text: str, answer: int) -> float:
    return REWARD_WEIGHTS["correct"] * correct_reward(text, answer) + REWARD_WEIGHTS[
        "format"
    ] * format_reward(text)


@dataclass(frozen=True)
class Groups:
    rewards: torch.Tensor  # (P, G) total reward per completion
    advantages: torch.Tensor  # (P, G)
    mean: torch.Tensor  # (P,)
    std: torch.Tensor  # (P,)
    zero_spread: torch.Tensor  # (P,) bool: every completion scored the same


def group_advantages(rewards: Sequence[float], group_size: int, scale: bool = True) -> Groups:
    """TRL's `scale_rewards="group"` advantages for consecutive groups of `group_size`."""
    r = torch.as_tensor(list(rewards), dtype=torch.float32)
    if group_size < 2 or len(r) % group_size:
        raise ValueError(f"{len(r)} rewards do not split into groups of {group_size} (≥ 2)")
    g = r.view(-1, group_size)  # (P, G)
    mean = g.mean(1)  # (P,)
    std = g.std(1, unbiased=True)  # (P,) Bessel, as TRL's nanstd
    adv = g - mean[:, None]
    if scale:
        adv = adv / (std[:, None] + 1e-4)
    zero = torch.isclose(std, torch.zeros_like(std))
    return Groups(g, adv, mean, std, zero)


def _ask(a: int, op: str, b: int) -> Question:
    return Question(f"What is {a} {op} {b}?", a + b if op == "+" else a - b)


def make_questions(
    n: int, seed: int = 0, exclude: Iterable[str] = (), low: int = 1, high: int = 20
) -> list[Question]:
    """`n` distinct questions a ± b with a, b in [low, high] (no negative answers), none of them in
    `exclude` (the held-out set)."""
    rng = random.Random(seed)
    seen = set(exclude)
    out: list[Question] = []
    k = high - low + 1
    space = k * k + k * (k + 1) // 2  # every a + b, and a − b with a ≥ b
    if n > space - len(seen):
        raise ValueError(f"only {space - len(seen)} distinct questions exist in that range")
    while len(out) < n:
        a, b = rng.randint(low, high), rng.randint(low, high)
        op = rng.choice("+-")
        if op == "-" and b > a:
            a, b = b, a
        q = _ask(a, op, b)
        if q.question not in seen:
            seen.add(q.question)
            out.append(q)
    return out


def score(texts: Sequence[str], answers: Sequence[int]) -> dict[str, float]:
    """Held-out figures of a set of replies: accuracy, mean total reward, format rate (share
    answered with the number only) and the mean format reward."""
    if not texts:
        raise ValueError("no replies to score")
    n = len(texts)
    pairs = list(zip(texts, answers, strict=True))
    return {
        "questions": n,
        "accuracy": round(sum(correct_reward(t, a) for t, a in pairs) / n, 4),
        "reward": round(sum(total_reward(t, a) for t, a in pairs) / n, 4),
        "format_rate": round(sum(format_reward(t) == 1.0 for t in texts) / n, 4),
        "format": round(sum(format_reward(t) for t in texts) / n, 4),
    }
