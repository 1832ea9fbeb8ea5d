"""Character-level data for the GPT: text in, integer ids out, random training windows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

MAX_TEXT_BYTES = 50_000_000  # a CLI corpus; the page caps uploads far lower


class DataError(ValueError):
    """A training text we cannot use, with a message that says why."""


def read_text_file(path: str | Path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise DataError(f"{path}: {size:,} bytes; the limit is {max_bytes:,}")
    return decode_text(path.read_bytes(), name=str(path))


def decode_text(raw: bytes, name: str = "the file") -> str:
    """Bytes -> text, refusing what is clearly not a text file."""
    if not raw.strip():
        raise DataError(f"{name} is empty: there is nothing to learn from")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{name} looks binary (it contains NUL bytes); use a plain .txt file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name} is not UTF-8 text (undecodable byte at offset {exc.start}); "
            "save it as UTF-8 plain text"
        ) from exc


@dataclass
class CharData:
    """Character-level dataset: the vocabulary is the sorted set of characters in the text; the
    first 90% of the ids train, the last 10% validate (nanoGPT's split, no shuffling, so the
    validation text is genuinely unseen)."""

    chars: list[str]
    train: torch.Tensor  # (N_train,) int64 ids
    val: torch.Tensor  # (N_val,) int64 ids

    @classmethod
    def from_text(cls, text: str, block_size: int) -> CharData:
        if not text.strip():
            raise DataError("the text is empty: there is nothing to learn from")
        chars = sorted(set(text))
        if len(chars) < 2:
            raise DataError(
                f"the text has only one distinct character ({chars[0]!r}): "
                "nothing to predict; use real text"
            )
        stoi = {ch: i for i, ch in enumerate(chars)}
        ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)  # (N,)
        n = int(0.9 * len(ids))
        train, val = ids[:n], ids[n:]
        need = 10 * (block_size + 1)  # so that 10% of it still holds one context + target
        if len(val) <= block_size + 1:
            raise DataError(
                f"the text has {len(text):,} characters; a context of {block_size} needs at "
                f"least {need:,} (the last 10% is kept for validation)"
            )
        return cls(chars, train, val)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters the model knows; unknown characters are dropped."""
        stoi = {ch: i for i, ch in enumerate(self.chars)}
        return [stoi[c] for c in text if c in stoi]

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


def encode_with(chars: list[str], text: str) -> list[int]:
    stoi = {ch: i for i, ch in enumerate(chars)}
    return [stoi[c] for c in text if c in stoi]


def get_batch(
    ids: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows: x is block_size ids, y the same window shifted by one (the next chars)."""
    ix = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)  # (B,)
    offsets = torch.arange(block_size)  # (T,)
    x = ids[ix[:, None] + offsets]  # (B, T)
    y = ids[ix[:, None] + offsets + 1]  # (B, T): target at t is the char at t + 1
    return x, y


def fetch_hub_text(
    name: str, split: str = "train", column: str = "text", max_chars: int = 1_000_000
) -> str:
    """The first `max_chars` characters of a text column of a Hub dataset, streamed (nothing
    else is downloaded). Needs the network; the page only offers it online."""
    from datasets import load_dataset

    try:
        rows = load_dataset(name, split=split, streaming=True)
        parts, n = [], 0
        for row in rows:
            if column not in row:
                raise DataError(f"{name} has no column {column!r}; it has {', '.join(row)}")
            parts.append(str(row[column]))
            n += len(parts[-1]) + 1
            if n >= max_chars:
                break
    except DataError:
        raise
    except Exception as exc:  # unknown name, no such split, a network error
        raise DataError(f"could not read {name!r} ({split}): {type(exc).__name__}: {exc}") from exc
    return "\n".join(parts)[:max_chars]
