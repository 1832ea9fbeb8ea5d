"""BERT's masked-LM corruption, and static vs dynamic masking (BERT 2018 vs RoBERTa 2019).

BERT picks 15% of the (non-special) tokens as prediction targets. Of those, 80% become [MASK],
10% a random vocabulary token and 10% stay unchanged: the model cannot learn "only [MASK]
positions matter", because at fine-tuning time there is no [MASK] at all.

*Static* masking (BERT) corrupts each sequence once, during preprocessing: every epoch sees the
same mask (RoBERTa's static baseline duplicated the data 10 times, so 10 different masks cycle).
*Dynamic* masking (RoBERTa) draws a new mask each time a sequence is fed to the model, so over many
epochs nearly every position becomes a target at some point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

NOT_SELECTED, MASKED, RANDOM, UNCHANGED = 0, 1, 2, 3
ACTION_NAMES = {NOT_SELECTED: "", MASKED: "[MASK]", RANDOM: "random", UNCHANGED: "unchanged"}


@dataclass(frozen=True)
class MaskConfig:
    select_prob: float = 0.15  # share of tokens that become prediction targets
    mask_replace: float = 0.8  # of the targets: replaced by [MASK]
    random_replace: float = 0.1  # of the targets: replaced by a random token (rest: unchanged)
    # "exact": BERT's create_pretraining_data.py picks round(15% of n) positions (at least 1);
    # "bernoulli": each token is a target with p = 15% (Hugging Face's DataCollatorForLM).
    selection: Literal["exact", "bernoulli"] = "exact"


@dataclass
class Masked:
    input_ids: torch.Tensor  # (T,) what the model reads
    labels: torch.Tensor  # (T,) the original id at targets, -100 elsewhere (ignored by the loss)
    action: torch.Tensor  # (T,) NOT_SELECTED / MASKED / RANDOM / UNCHANGED

    @property
    def targets(self) -> torch.Tensor:
        return self.action != NOT_SELECTED  # (T,) bool


def mask_tokens(
    ids: torch.Tensor,
    special: torch.Tensor,
    vocab_size: int,
    mask_id: int,
    gen: torch.Generator,
    cfg: MaskConfig | None = None,
) -> Masked:
    """Corrupt one sequence `ids` (T,) the BERT way; `special` (T,) marks [CLS]/[SEP]/padding,
    which are never targets."""
    cfg = cfg or MaskConfig()
    T = ids.shape[0]
    candidates = (~special).nonzero().squeeze(1)  # (n,) positions we may pick
    selected = torch.zeros(T, dtype=torch.bool)  # (T,)
    if cfg.selection == "exact":
        n = len(candidates)
        k = min(n, max(1, round(n * cfg.select_prob))) if n else 0
        selected[candidates[torch.randperm(n, generator=gen)[:k]]] = True
    else:
        selected = (torch.rand(T, generator=gen) < cfg.select_prob) & ~special
    # One uniform draw per position splits the targets 80 / 10 / 10.
    u = torch.rand(T, generator=gen)  # (T,)
    to_mask = selected & (u < cfg.mask_replace)
    to_random = selected & (u >= cfg.mask_replace) & (u < cfg.mask_replace + cfg.random_replace)
    unchanged = selected & ~to_mask & ~to_random
    random_ids = torch.randint(vocab_size, (T,), generator=gen)  # (T,)
    inputs = ids.clone()
    inputs[to_mask] = mask_id
    inputs[to_random] = random_ids[to_random]
    labels = torch.where(selected, ids, torch.full_like(ids, -100))
    action = torch.zeros(T, dtype=torch.long)
    action[to_mask], action[to_random], action[unchanged] = MASKED, RANDOM, UNCHANGED
    return Masked(inputs, labels, action)


# ---------------------------------------------------------------- static vs dynamic


@dataclass(frozen=True)
class ScheduleConfig:
    strategy: Literal["static", "dynamic"] = "static"
    epochs: int = 6
    copies: int = 1  # static only: how many pre-masked copies of the data cycle over the epochs
    seed: int = 0


def epoch_masks(
    ids: torch.Tensor,
    special: torch.Tensor,
    vocab_size: int,
    mask_id: int,
    schedule: ScheduleConfig,
    cfg: MaskConfig | None = None,
) -> list[Masked]:
    """The corrupted version of `ids` the model sees in each epoch."""
    if schedule.strategy == "static":
        # Preprocessing: each copy is masked once, with its own fixed seed, and stored on disk.
        copies = [
            mask_tokens(
                ids,
                special,
                vocab_size,
                mask_id,
                torch.Generator().manual_seed(schedule.seed * 1_000 + c),
                cfg,
            )
            for c in range(max(1, schedule.copies))
        ]
        return [copies[e % len(copies)] for e in range(schedule.epochs)]
    # Dynamic: one running random stream, drawn each time the sequence is batched.
    gen = torch.Generator().manual_seed(schedule.seed * 1_000)
    return [
        mask_tokens(ids, special, vocab_size, mask_id, gen, cfg) for _ in range(schedule.epochs)
    ]


@dataclass
class Coverage:
    distinct_masks: int  # different corruptions the model saw over the epochs
    times_target: list[int]  # per position: in how many epochs it was a prediction target
    ever_target: float  # share of maskable positions that were a target at least once


def coverage(masks: list[Masked], special: torch.Tensor) -> Coverage:
    actions = torch.stack([m.action for m in masks])  # (E, T)
    times = (actions != NOT_SELECTED).sum(0)  # (T,)
    maskable = ~special
    ever = (times[maskable] > 0).float().mean().item() if maskable.any() else 0.0
    # Which positions are targets *and* what they read: an "unchanged" target is still a target.
    distinct = len({(tuple(m.input_ids.tolist()), tuple(m.action.tolist())) for m in masks})
    return Coverage(distinct, times.tolist(), ever)


# ---------------------------------------------------------------- measured statistics


@dataclass
class MaskStats:
    draws: int
    selected: float  # targets / maskable tokens
    masked: float  # of the targets: share replaced by [MASK]
    random: float  # ... by a random token
    unchanged: float  # ... left as they were
    special_selected: int  # times a special token became a target (must be 0)


def measure(
    ids: torch.Tensor,
    special: torch.Tensor,
    vocab_size: int,
    mask_id: int,
    draws: int = 2_000,
    seed: int = 0,
    cfg: MaskConfig | None = None,
) -> MaskStats:
    """Count what `draws` independent corruptions of `ids` actually did."""
    gen = torch.Generator().manual_seed(seed)
    counts = torch.zeros(4, dtype=torch.long)  # per action
    special_hits = 0
    for _ in range(draws):
        m = mask_tokens(ids, special, vocab_size, mask_id, gen, cfg)
        counts += torch.bincount(m.action, minlength=4)
        special_hits += int((m.targets & special).sum())
    targets = int(counts[1:].sum())
    maskable = int((~special).sum()) * draws
    return MaskStats(
        draws=draws,
        selected=targets / max(maskable, 1),
        masked=int(counts[MASKED]) / max(targets, 1),
        random=int(counts[RANDOM]) / max(targets, 1),
        unchanged=int(counts[UNCHANGED]) / max(targets, 1),
        special_selected=special_hits,
    )


# ---------------------------------------------------------------- the page's demo, in one call


@dataclass
class StrategyView:
    rows: list[tuple[list[str], list[int]]]  # per epoch: the pieces the model reads, the actions
    coverage: Coverage


@dataclass
class MaskDemo:
    original: list[str]  # the sentence's pieces, [CLS] ... [SEP]
    static: StrategyView
    dynamic: StrategyView
    stats: MaskStats


def demo(
    tokenizer,
    text: str,
    schedule: ScheduleConfig,
    cfg: MaskConfig | None = None,
    max_length: int = 48,
    draws: int = 2_000,
) -> MaskDemo:
    """Mask `text` (first `max_length` tokens) the static and the dynamic way for
    `schedule.epochs` epochs, and measure `draws` independent corruptions of it."""
    enc = tokenizer(
        text,
        split_special_tokens=True,  # a typed "[MASK]" is text here, not the mask token
        truncation=True,
        max_length=max_length,
        return_special_tokens_mask=True,
        return_tensors="pt",
    )
    ids = enc["input_ids"][0]  # (T,)
    special = enc["special_tokens_mask"][0].bool()  # (T,)
    args = (ids, special, len(tokenizer), tokenizer.mask_token_id)
    views = {}
    for strategy in ("static", "dynamic"):
        sched = ScheduleConfig(strategy, schedule.epochs, schedule.copies, schedule.seed)
        masks = epoch_masks(*args, sched, cfg)
        rows = [(tokenizer.convert_ids_to_tokens(m.input_ids.tolist()), m.action.tolist())
                for m in masks]  # fmt: skip
        views[strategy] = StrategyView(rows, coverage(masks, special))
    stats = measure(*args, draws=draws, seed=schedule.seed, cfg=cfg)
    original = tokenizer.convert_ids_to_tokens(ids.tolist())
    return MaskDemo(original, views["static"], views["dynamic"], stats)
