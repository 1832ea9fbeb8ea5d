"""Project 6's data and settings: LitGPT JSON pairs ({"instruction", "input", "output"}), read
and checked, and the LoRA/training settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "assets" / "medqa"
TRAIN, HELDOUT = DATA / "train.json", DATA / "heldout.json"
MODEL_NAME = "SmolLM2-135M-Instruct"
PREPARED = "medqa-smollm2"
ADAPTER = "lit_model.pth.lora"
MAX_FIELD = 2_000  # characters per instruction/input/output
MAX_PAIRS = 5_000


class DataError(ValueError):
    """Data the trainer cannot use; the message is for the user."""


@dataclass(frozen=True)
class Settings:
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    lr: float = 1e-3
    batch_size: int = 4
    max_seq_length: int = 256
    warmup_steps: int = 10
    max_steps: int = 10_000  # the time budget usually ends the run first
    eval_every: int = 10  # steps between held-out NLL evaluations
    # Early stopping: a share of the *training* pairs is set aside; the adapter with the lowest
    # NLL on it is the one kept, and training stops after `patience` evaluations without a new
    # best (191 pairs are memorised within minutes; the held-out questions are never selected on).
    val_frac: float = 0.1
    patience: int = 6
    eval_n: int = 12  # held-out pairs in those evaluations (the command line scores all after)
    max_new_tokens: int = 48
    seed: int = 0

    def lora_config(self) -> dict[str, Any]:
        return {
            "lora_r": self.lora_r,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": self.lora_dropout,
            "lora_query": True,
            "lora_value": True,
        }


# --- data ---------------------------------------------------------------------------------------


def parse_pairs(raw: bytes | str, name: str = "data") -> list[dict[str, str]]:
    """LitGPT JSON (a list of objects) or JSON lines, checked: instruction and output non-empty
    strings, input optional, fields capped at MAX_FIELD characters."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    try:
        rows = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except ValueError as exc:
        raise DataError(f"{name} is not JSON or JSON lines: {exc}") from None
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{name} holds no question–answer pairs.")
    pairs = []
    for i, row in enumerate(rows[:MAX_PAIRS], start=1):
        if not isinstance(row, dict):
            raise DataError(f"{name}, item {i}: expected an object, got {type(row).__name__}.")
        fields = {f: row.get(f, "") for f in ("instruction", "input", "output")}
        if not all(isinstance(v, str) for v in fields.values()):
            raise DataError(f"{name}, item {i}: instruction, input and output must be strings.")
        if not fields["instruction"].strip() or not fields["output"].strip():
            raise DataError(f"{name}, item {i}: needs a non-empty instruction and output.")
        pairs.append({f: v.strip()[:MAX_FIELD] for f, v in fields.items()})
    return pairs


def read_pairs(path: str | Path) -> list[dict[str, str]]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_pairs(raw, str(path))


def merge_input(example: dict[str, str]) -> dict[str, str]:
    """SmolLM2's chat prompt has one user turn: the optional input follows the instruction."""
    extra = example.get("input", "")
    text = f"{example['instruction']}\n\n{extra}" if extra else example["instruction"]
    return {**example, "instruction": text}
