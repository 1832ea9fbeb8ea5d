"""The LoRA page's data: the gallery's instruction set, read and encoded for training (the loss
is on the answer tokens only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.jsonl import DataError, objects

PREPARED = "lora-smollm2"
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "assets" / "lora" / "instructions.jsonl"
MAX_CHARS = 1_000
MAX_ROWS = 10_000


@dataclass(frozen=True)
class Example:
    prompt: str
    response: str
    split: str = "train"  # train | held_out


def read_examples(path: str | Path = DATA) -> list[Example]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    out = []
    for where, obj in objects(path.read_text(encoding="utf-8"), str(path), MAX_ROWS):
        if not isinstance(obj, dict) or not all(
            isinstance(obj.get(k), str) and obj[k].strip() for k in ("prompt", "response")
        ):
            raise DataError(f"{where}: needs non-empty 'prompt' and 'response' strings")
        split = obj.get("split", "train")
        if split not in ("train", "held_out"):
            raise DataError(f"{where}: split must be 'train' or 'held_out'")
        out.append(Example(obj["prompt"][:MAX_CHARS], obj["response"][:MAX_CHARS], split))
    if not any(e.split == "train" for e in out) or not any(e.split == "held_out" for e in out):
        raise DataError(f"{path}: needs both training rows and held_out rows")
    return out


def style_marker(examples: list[Example]) -> str:
    """What every training answer starts with (the style the adapter should learn), if any."""
    answers = [e.response for e in examples if e.split == "train"]
    if not answers:
        return ""
    n = 0
    while all(len(a) > n and a[n] == answers[0][n] for a in answers):
        n += 1
    return answers[0][:n].strip()


def prompt_ids(tokenizer: Any, prompt: str) -> list[int]:
    """The chat-templated prompt, ending with the assistant's turn header."""
    msgs = [{"role": "user", "content": prompt}]
    # sanitize_control_tokens: a typed '<|im_start|>' is text, it cannot forge a turn.
    return tokenizer.apply_chat_template(
        msgs, add_generation_prompt=True, tokenize=True, return_dict=True,
        sanitize_control_tokens=True,
    )["input_ids"]  # fmt: skip


def encode_example(tokenizer: Any, ex: Example, max_len: int) -> tuple[list[int], list[int]]:
    """(ids, labels) of prompt + answer: labels are -100 on the prompt, so only the answer is
    learnt. The templated prompt is a prefix of the templated conversation."""
    head = prompt_ids(tokenizer, ex.prompt)
    msgs = [{"role": "user", "content": ex.prompt}, {"role": "assistant", "content": ex.response}]
    full = tokenizer.apply_chat_template(
        msgs, tokenize=True, return_dict=True, sanitize_control_tokens=True
    )["input_ids"]
    if full[: len(head)] != head:
        raise ValueError("the chat template's prompt is not a prefix of the conversation")
    full = full[:max_len]
    return full, [-100] * min(len(head), len(full)) + full[len(head) :]


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int):
    T = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), T), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(pairs), T), dtype=torch.long)  # (B, T)
    labels = torch.full((len(pairs), T), -100, dtype=torch.long)  # (B, T)
    for i, (x, y) in enumerate(pairs):
        ids[i, : len(x)], mask[i, : len(x)], labels[i, : len(y)] = (
            torch.tensor(x),
            1,
            torch.tensor(y),
        )
    return ids, mask, labels
