"""DeepSeek-R1's output format: the reasoning between `<think>` and `</think>`, then the answer.

R1 (and its distilled Qwen/Llama students) write one stream of text. Its chat template opens the
assistant turn with `<think>\\n`; the model reasons, closes the tag and answers. R1-Zero's RL
(GRPO) rewarded exactly this shape (a *format* reward) besides the answer's correctness. Ollama's
server parses the stream for reasoning models and returns the two parts apart
(`message.thinking`, `message.content`); `join` puts them back as the model wrote them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

OPEN, CLOSE = "<think>", "</think>"
RECORDED = Path(__file__).resolve().parents[1] / "assets" / "deepseek" / "think_example.json"


@dataclass(frozen=True)
class Reasoned:
    thinking: str
    answer: str
    closed: bool  # the model closed its </think>: the answer is really an answer


def split(text: str) -> Reasoned:
    """Split raw R1 output. The template may have put `<think>` in the prompt already, so the
    opening tag is optional; with no closing tag everything is (unfinished) thinking."""
    body = text.lstrip()
    if body.startswith(OPEN):
        body = body[len(OPEN) :]
    if CLOSE not in body:
        return Reasoned(body.strip(), "", False)
    thinking, answer = body.split(CLOSE, 1)
    return Reasoned(thinking.strip(), answer.strip(), True)


def join(thinking: str, answer: str) -> str:
    """The two parts as one R1 stream."""
    return f"{OPEN}\n{thinking.strip()}\n{CLOSE}\n\n{answer.strip()}"


def format_reward(text: str) -> float:
    """R1-Zero's format reward, in spirit: 1 for exactly one closed think block followed by a
    non-empty answer, else 0."""
    r = split(text)
    once = text.count(OPEN) <= 1 and text.count(CLOSE) == 1
    return float(r.closed and once and bool(r.thinking) and bool(r.answer))


def recorded() -> dict[str, str]:
    """The shipped example of the format (see its `label`: written for the gallery)."""
    return json.loads(RECORDED.read_text(encoding="utf-8"))
