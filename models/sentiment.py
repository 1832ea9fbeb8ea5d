"""Project 1: sentiment classification, trained against a wall-clock budget.

    python -m models.sentiment split --data reviews.jsonl --out /tmp/mr --test-frac 0.1 --seed 0
    python -m models.sentiment train --arch scratch --data /tmp/mr/train.jsonl --out /tmp/m \
        --minutes 5
    python -m models.sentiment evaluate --model /tmp/m --data /tmp/mr/test.jsonl
    python -m models.sentiment compare --data assets/sentiment/sample.jsonl --seeds 0,1,2 \
        --minutes 0.5 --out /tmp/cmp

`train` holds out 10% of its file for validation (or the rows marked `"split": "val"`), prints one
JSON line per evaluation, keeps the best validation checkpoint and saves it (safetensors +
config.json + tokenizer). Rows marked `"split": "test"` are measured at every evaluation and at the
end, never trained or selected on. `compare` trains both architectures for several seeds with the
same data and budget (the BERT & RoBERTa page opens on it). The page uses the same `fit` in a
background job. Rows are `{"text": ..., "label": 0|1}`.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from models.sentiment_data import (
    Encoded,
    batches,
    check_trainable,
    encode,
    load_tokenizer,
    read_rows,  # noqa: F401 (re-exported: sent.read_rows)
    split,
    test_rows,
)
from models.sentiment_infer import (  # noqa: F401 (pages and the bench use them as sent.<name>)
    collate,
    confusion_matrix,
    explain,
    hub_rows,
    latency_ms,
    predict,
    step_cost,
)
from models.sentiment_model import build
from models.training import Recorder, Reporter, Stopped


@dataclass
class TrainConfig:
    arch: str = "scratch"  # scratch | minilm
    size: str = "small"  # scratch model preset (models.sentiment_model.SIZE_PRESETS)
    lr: float = 1e-3
    weight_decay: float = 0.1
    batch_size: int = 32
    label_smoothing: float = 0.1  # no 100% sure targets: the network stays calibrated longer
    warmup_steps: int = 100
    max_len: int = 64
    grad_clip: float = 1.0
    val_frac: float = 0.1
    seed: int = 0


def default_config(arch: str, **overrides) -> TrainConfig:
    if arch == "minilm":
        # Pre-trained weights: a small step size, or the first updates erase what it knows.
        base = dict(arch="minilm", lr=5e-5, weight_decay=0.01, label_smoothing=0.0, warmup_steps=30)
    else:
        base = dict(arch="scratch")
    return TrainConfig(**{**base, **overrides})


def lr_at(step: int, frac: float, cfg: TrainConfig) -> float:
    """Linear warmup, then cosine decay over the *time* budget: the run ends at a wall clock
    deadline, not after a step count we could not know in advance. Warmup ends after
    `warmup_steps` or 10% of the budget, whichever comes first, so a short run on a slow machine
    (MiniLM: a few steps in 30 s) still trains at full rate."""
    warm = min(1.0, max((step + 1) / max(1, cfg.warmup_steps), frac / 0.1))
    return cfg.lr * warm * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, frac))))


def optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    # Decay matrices only; biases and LayerNorm gains are not what overfits.
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    other = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": other, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), fused=True)


@torch.no_grad()
def evaluate(model: nn.Module, data: Encoded, batch_size: int = 64) -> dict:
    """Loss, accuracy and per-row positive probability over `data`, in order."""
    was_training = model.training
    model.eval()
    probs, total_loss = [], 0.0
    for input_ids, mask, y in batches(data, batch_size, shuffle=False):
        logits, _ = model(input_ids, mask)  # (B, 2)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        probs.append(logits.softmax(-1)[:, 1])  # (B,) P(positive)
    model.train(was_training)
    p = torch.cat(probs) if probs else torch.zeros(0)
    preds = (p >= 0.5).long()
    n = max(1, len(data))
    return {
        "loss": total_loss / n,
        "accuracy": (preds == data.labels).float().mean().item() if len(data) else 0.0,
        "probs": p.tolist(),
        "preds": preds.tolist(),
    }


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)
    best: dict | None = None  # the evaluation whose weights the model ends with
    best_probs: list[float] = field(default_factory=list)  # its P(positive) per validation row
    steps: int = 0
    examples: int = 0
    train_seconds: float = 0.0  # optimisation time only (evaluations excluded)
    stopped: str | None = None  # why it ended before its deadline, if it did
    test: dict | None = None  # the kept weights on the `watch` rows: accuracy, probs (or None)

    @property
    def examples_per_s(self) -> float:
        return self.examples / max(self.train_seconds, 1e-9)


def fit(
    model: nn.Module,
    train: Encoded,
    val: Encoded,
    cfg: TrainConfig,
    budget_s: float,
    reporter: Reporter | None = None,
    reserve_s: float = 0.0,
    max_steps: int | None = None,
    watch: Encoded | None = None,
) -> FitResult:
    """Train until `budget_s` seconds have passed (minus time kept back for the last evaluation and
    `reserve_s` for saving) or `max_steps`, evaluating about 16 times; ends with the best
    validation weights. Each evaluation is one `reporter.log(...)` row; `reporter.check()` may
    raise `Stopped` (stop button, page left): we still keep the best. `watch` rows (test rows
    with new wording) are measured at each evaluation (`test_acc`) and at the end, but never
    choose the checkpoint."""
    reporter = reporter or Recorder()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = optimizer(model, cfg)
    t0 = time.monotonic()
    deadline = t0 + budget_s - reserve_s
    eval_every = max(0.5, budget_s / 16)
    next_eval, eval_cost = t0 + eval_every, 0.0
    res = FitResult()
    best_state = None
    run_loss = run_correct = run_n = 0.0

    def do_eval() -> None:
        nonlocal run_loss, run_correct, run_n, best_state, eval_cost
        t = time.monotonic()
        ev = evaluate(model, val)
        eval_cost = time.monotonic() - t
        row = {
            "step": res.steps,
            "train_loss": round(run_loss / max(run_n, 1), 4),
            "train_acc": round(run_correct / max(run_n, 1), 4),
            "val_loss": round(ev["loss"], 4),
            "val_acc": round(ev["accuracy"], 4),
            "examples_per_s": round(res.examples_per_s, 1),
            "elapsed_s": round(time.monotonic() - t0, 1),
        }
        if watch is not None and len(watch):
            row["test_acc"] = round(evaluate(model, watch)["accuracy"], 4)
        eval_cost = time.monotonic() - t
        run_loss = run_correct = run_n = 0.0
        res.history.append(row)
        if res.best is None or (row["val_acc"], -row["val_loss"]) > (
            res.best["val_acc"],
            -res.best["val_loss"],
        ):
            res.best, res.best_probs = row, ev["probs"]
            best_state = copy.deepcopy(model.state_dict())
        reporter.log(**row)

    model.train()
    try:
        done = False
        while not done:
            for input_ids, mask, y in batches(train, cfg.batch_size, gen):
                reporter.check()
                now = time.monotonic()
                # Keep room for the final evaluation (as long as the last one took, plus margin).
                if now + 1.5 * eval_cost >= deadline or res.steps == max_steps:
                    done = True
                    break
                if now >= next_eval:
                    do_eval()
                    # Evaluations take at most ~20% of the run, however slow they turn out.
                    next_eval = time.monotonic() + max(eval_every, 4 * eval_cost)
                    continue
                t_step = time.monotonic()
                frac = (now - t0) / max(deadline - t0, 1e-9)
                for g in opt.param_groups:
                    g["lr"] = lr_at(res.steps, frac, cfg)
                logits, _ = model(input_ids, mask)  # (B, 2)
                loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                res.steps += 1
                res.examples += len(y)
                res.train_seconds += time.monotonic() - t_step
                run_loss += loss.item() * len(y)
                run_correct += (logits.argmax(-1) == y).sum().item()
                run_n += len(y)
                reporter.progress(
                    (time.monotonic() - t0) / budget_s, f"training ({res.steps} steps)"
                )
    except Stopped as exc:
        res.stopped = str(exc)
    if run_n or not res.history:
        do_eval()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    if watch is not None and len(watch):
        ev = evaluate(model, watch)
        res.test = {"accuracy": ev["accuracy"], "probs": ev["probs"]}
    return res


# --- one run, as the page starts it -------------------------------------------------------------


@dataclass
class Trained:
    """What a finished run leaves in the user's session: the model and how it did."""

    arch: str
    model: nn.Module
    tokenizer: object
    cfg: TrainConfig
    val_rows: list
    val_probs: list[float]
    fit: FitResult
    test_rows: list = field(default_factory=list)  # held-out rows with new wording (maybe none)
    n_train: int = 0

    @property
    def test_acc(self) -> float | None:
        return self.fit.test["accuracy"] if self.fit.test else None


def run_training(
    rows: list,
    arch: str,
    size: str,
    budget_s: float,
    reporter: Reporter | None = None,
    seed: int = 0,
    reserve_s: float | None = None,
    **overrides,
) -> Trained:
    """Split, tokenize, build, fit within `budget_s` (setup included; `reserve_s` of it kept for
    the caller, 5% by default), predict the validation rows and measure the test rows. A MiniLM
    run loads its own copy of the encoder: the shared one is never changed."""
    t0 = time.monotonic()
    check_trainable(rows)
    cfg = default_config(arch, size=size, seed=seed, **overrides)
    train_rows, val_rows = split(rows, cfg.val_frac, cfg.seed)
    tokenizer = load_tokenizer()
    torch.manual_seed(cfg.seed)
    model = build("scratch", size, max_len=cfg.max_len) if arch == "scratch" else build(arch)
    reporter = reporter or Recorder()
    reporter.check()
    train_enc = encode(tokenizer, train_rows, cfg.max_len)
    val_enc = encode(tokenizer, val_rows, cfg.max_len)
    held = test_rows(rows)
    watch = encode(tokenizer, held, cfg.max_len) if held else None
    left = budget_s - (time.monotonic() - t0)
    reserve = 0.05 * budget_s if reserve_s is None else reserve_s
    res = fit(model, train_enc, val_enc, cfg, left, reporter, reserve, watch=watch)
    return Trained(
        arch, model, tokenizer, cfg, val_rows, res.best_probs, res, held, len(train_rows)
    )


def summary(trained: Trained) -> dict:
    """One run in a few numbers (a JSON line of `compare`, a row of a page's table)."""
    best = trained.fit.best or {}
    return {
        "arch": trained.arch,
        "seed": trained.cfg.seed,
        "steps": trained.fit.steps,
        "best_val_acc": best.get("val_acc"),
        "test_acc": None if trained.test_acc is None else round(trained.test_acc, 4),
        "examples_per_s": round(trained.fit.examples_per_s, 1),
    }


class Tagged:
    """A reporter that adds fixed fields (arch, seed, run) to every row it passes on."""

    def __init__(self, inner: Reporter, **tags) -> None:
        self.inner, self.tags = inner, tags

    def log(self, **metrics) -> None:
        self.inner.log(**self.tags, **metrics)

    def progress(self, fraction: float, message: str = "") -> None:
        self.inner.progress(fraction, message)

    def should_stop(self) -> bool:
        return self.inner.should_stop()

    def check(self) -> None:
        self.inner.check()


# --- command line (models/sentiment_cli.py: the CLI imports the trainer, not the reverse) -------


def main(argv: list[str] | None = None) -> None:
    from models.sentiment_cli import main as cli_main

    cli_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
