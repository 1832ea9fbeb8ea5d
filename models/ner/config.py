"""Project 3's tagger settings and data split (shared by the T5 and MiniLM taggers)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from lessons import ner_format as nf
from lessons.ner_format import DataError, Sentence

ARCHS = ("t5", "minilm")
T5_SPECIALS = ["<pad>", "</s>", "<unk>", *nf.TAG_TOKENS, nf.O_TOKEN]
META = "ner.json"


@dataclass
class NerConfig:
    arch: str = "t5"
    # the T5 trained from scratch (ignored for minilm)
    vocab_size: int = 8000
    d_model: int = 128
    d_ff: int = 512
    num_layers: int = 3  # encoder
    num_decoder_layers: int = 2
    num_heads: int = 4
    dropout: float = 0.1
    base: str | None = None  # a T5 checkpoint (Hub id or folder) to fine-tune instead
    prefix: str = ""  # T5 task prefix ("ner: " for a pre-trained T5)
    notation: str = "every-word"  # or "entities": only entity words carry a tag
    copy_loss: bool = False  # train on the copied words too, not only on the tags
    # training
    optim: str = "adamw"  # or "adafactor" (T5's own, lr 1e-2: the default for t5 from scratch)
    lr: float = 2e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_steps: int = 200
    max_len: int = 128  # source pieces
    val_frac: float = 0.05
    min_val: int = 40
    val_eval: int = 400  # validation sentences decoded at each evaluation
    seed: int = 0


def default_config(arch: str, **overrides) -> NerConfig:
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; use one of {', '.join(ARCHS)}")
    base: dict[str, Any] = {"arch": arch}
    if arch == "t5":  # from scratch: T5's own Adafactor, steps relative to each weight's scale
        base.update(optim="adafactor", lr=1e-2)
    if arch == "minilm":  # pre-trained weights: small steps, or the first updates erase them
        base.update(lr=1e-4, warmup_steps=100, batch_size=16)
    if overrides.get("base"):
        base.update(optim="adamw", lr=5e-4, prefix="ner: ", warmup_steps=50, batch_size=16)
    return NerConfig(**{**base, **{k: v for k, v in overrides.items() if v is not None}})


def split(sents: list[Sentence], cfg: NerConfig) -> tuple[list[Sentence], list[Sentence]]:
    """Deterministic hold-out (seeded shuffle): `val_frac` of the sentences, at least min_val."""
    order = list(range(len(sents)))
    random.Random(cfg.seed).shuffle(order)
    n_val = min(len(sents) // 2, max(cfg.min_val, round(cfg.val_frac * len(sents))))
    val = sorted(order[:n_val])
    keep = sorted(order[n_val:])
    return [sents[i] for i in keep], [sents[i] for i in val]


def check_trainable(sents: list[Sentence], what: str = "the data") -> None:
    if len(sents) < 20:
        raise DataError(f"{what} has {len(sents)} sentences; train on at least 20")
    if not any(t != "O" for s in sents for t in s.tags):
        raise DataError(f"{what} has no entities to learn")
