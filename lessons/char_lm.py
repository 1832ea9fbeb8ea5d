"""What a character-level GPT has learnt, measured: loss against guessing, real words, copying.

- **Loss against guessing**: a model that knows nothing spreads its probability evenly over the
  V characters, so its cross-entropy is ln V nats per character; every drop below it is learnt.
  Measured on the held-out last 10% of the text, in consecutive windows (every character once).
- **Real words**: the share of words in a sample that occur in the training text. Random weights
  write letter soup; a trained model writes the text's words, and spells new ones from its parts.
- **Copying**: the share of a sample's characters inside a run of `COPY_RUN` characters that
  occurs verbatim in the training text. On a small text a model memorises; this says how much.

Samples are seeded (three seeds by default), so the numbers come with their spread. No Streamlit.
"""

from __future__ import annotations

import contextlib
import math
import re
import statistics
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from models.gpt.data import CharData
from models.gpt.model import GPT
from models.gpt.trainer import sample_text

COPY_RUN = 24  # characters: longer than any common phrase, shorter than a line of the play
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


def uniform_loss(vocab_size: int) -> float:
    """Cross-entropy of the uniform guess over V characters: ln V nats per character."""
    return math.log(vocab_size)


@torch.no_grad()
def split_loss(model: GPT, ids: torch.Tensor) -> float:
    """Mean next-character loss over `ids` in consecutive full-context windows (deterministic:
    every target character counted once, except the first window's first)."""
    block = model.config.block_size
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(ids) - 1, block):
        x = ids[start : start + block][None].to(device)  # (1, T)
        y = ids[start + 1 : start + block + 1][None].to(device)  # (1, T)
        x = x[:, : y.shape[1]]
        logits, _ = model(x)  # (1, T, V)
        total += F.cross_entropy(logits[0], y[0], reduction="sum").item()
        count += y.shape[1]
    model.train(was_training)
    return total / max(1, count)


def word_share(sample: str, text: str) -> float:
    """Share of the sample's words that are words of the training text (0 when it has none)."""
    known = {w.lower() for w in _WORD.findall(text)}
    words = [w.lower() for w in _WORD.findall(sample)]
    return sum(w in known for w in words) / len(words) if words else 0.0


def copied_share(sample: str, text: str, run: int = COPY_RUN) -> float:
    """Share of the sample's characters covered by some `run`-character window that occurs
    verbatim in the training text."""
    if len(sample) < run:
        return 0.0
    grams = {text[i : i + run] for i in range(len(text) - run + 1)}
    covered = [False] * len(sample)
    for i in range(len(sample) - run + 1):
        if sample[i : i + run] in grams:
            covered[i : i + run] = [True] * run
    return sum(covered) / len(sample)


def sample(
    model: GPT,
    chars: list[str],
    prompt: str,
    n: int,
    temperature: float = 0.8,
    top_k: int = 0,
    seed: int | None = None,
    lock: Any = None,
) -> str:
    """Prompt + n characters; top_k 0 = all; under the shared model's lock when one is given."""
    with lock if lock is not None else contextlib.nullcontext():
        return sample_text(model, chars, prompt, n, temperature, top_k or None, seed)


@dataclass
class Assessment:
    who: str
    val_loss: float  # nats per character on the held-out 10%
    uniform: float  # ln V
    words: list[float]  # real-word share, one per seed
    copied: list[float]  # copied share, one per seed
    samples: list[str]  # the continuations (prompt not included), one per seed

    @property
    def words_mean(self) -> float:
        return statistics.fmean(self.words)

    @property
    def words_spread(self) -> float:
        return max(self.words) - min(self.words)

    @property
    def copied_mean(self) -> float:
        return statistics.fmean(self.copied)


def assess(
    model: GPT,
    data: CharData,
    text: str,
    who: str,
    prompt: str = "\n",
    chars: int = 300,
    temperature: float = 0.8,
    seeds: tuple[int, ...] = (0, 1, 2),
) -> Assessment:
    """Held-out loss, and real-word and copied shares of seeded samples, for one model."""
    samples = []
    for seed in seeds:
        out = sample_text(model, data.chars, prompt, chars, temperature, None, seed)
        samples.append(out[len(out) - chars :])  # only what the model wrote
    return Assessment(
        who=who,
        val_loss=split_loss(model, data.val),
        uniform=uniform_loss(data.vocab_size),
        words=[word_share(s, text) for s in samples],
        copied=[copied_share(s, text) for s in samples],
        samples=samples,
    )


def untrained_like(model: GPT, seed: int = 0) -> GPT:
    """The same architecture with fresh random weights: what training started from."""
    with torch.random.fork_rng():  # the global generator is left as it was
        torch.manual_seed(seed)
        return GPT(model.config).eval()


def compare(model: GPT, chars: list[str], text: str, **kw: Any) -> tuple[Assessment, Assessment]:
    """(the trained model, the same shape untrained), on the same text, prompt and seeds."""
    data = CharData.from_text(text, model.config.block_size)
    if data.chars != list(chars):
        raise ValueError("the model was trained on another text (its characters differ)")
    trained = assess(model, data, text, "trained", **kw)
    return trained, assess(untrained_like(model), data, text, "untrained", **kw)
