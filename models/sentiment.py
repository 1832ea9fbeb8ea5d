"""Project 1: sentiment classification, trained against a wall-clock budget.

    python -m models.sentiment split --data reviews.jsonl --out /tmp/mr --test-frac 0.1 --seed 0
    python -m models.sentiment train --arch scratch --data /tmp/mr/train.jsonl --out /tmp/m \
        --minutes 5
    python -m models.sentiment evaluate --model /tmp/m --data /tmp/mr/test.jsonl

`train` holds out 10% of its file for validation, prints one JSON line per evaluation, keeps the
best validation checkpoint and saves it (safetensors + config.json + tokenizer). The page uses the
same `fit` in a background job. Rows are `{"text": ..., "label": 0|1}`.
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from models.sentiment_data import (
    DataError,
    Encoded,
    batches,
    check_trainable,
    collate,
    encode,
    load_tokenizer,
    read_rows,
    split,
    write_jsonl,
)
from models.sentiment_model import ModelDirError, build, load, save
from models.training import CliReporter, Recorder, Reporter, Stopped, print_json


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
) -> FitResult:
    """Train until `budget_s` seconds have passed (minus time kept back for the last evaluation and
    `reserve_s` for saving) or `max_steps`, evaluating about 16 times; ends with the best
    validation weights. Each evaluation is one `reporter.log(...)` row; `reporter.check()` may
    raise `Stopped` (stop button, page left): we still keep the best."""
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


def run_training(
    rows: list,
    arch: str,
    size: str,
    budget_s: float,
    reporter: Reporter | None = None,
    seed: int = 0,
) -> Trained:
    """Split, tokenize, build, fit within `budget_s` (setup included), predict the validation
    rows. A MiniLM run loads its own copy of the encoder: the shared one is never changed."""
    t0 = time.monotonic()
    check_trainable(rows)
    cfg = default_config(arch, size=size, seed=seed)
    train_rows, val_rows = split(rows, cfg.val_frac, cfg.seed)
    tokenizer = load_tokenizer()
    torch.manual_seed(cfg.seed)
    model = build("scratch", size, max_len=cfg.max_len) if arch == "scratch" else build(arch)
    reporter = reporter or Recorder()
    reporter.check()
    train_enc = encode(tokenizer, train_rows, cfg.max_len)
    val_enc = encode(tokenizer, val_rows, cfg.max_len)
    left = budget_s - (time.monotonic() - t0)
    res = fit(model, train_enc, val_enc, cfg, left, reporter, reserve_s=0.05 * budget_s)
    return Trained(arch, model, tokenizer, cfg, val_rows, res.best_probs, res)


# --- inference ---------------------------------------------------------------------------------


@torch.no_grad()
def predict(model: nn.Module, tokenizer, texts: list[str], max_len: int = 64) -> list[float]:
    """P(positive) for each text."""
    model.eval()
    ids = tokenizer(texts, truncation=True, max_length=max_len)["input_ids"]
    input_ids, mask = collate(ids)  # (B, T)
    logits, _ = model(input_ids, mask)
    return logits.softmax(-1)[:, 1].tolist()


@torch.no_grad()
def explain(model: nn.Module, tokenizer, text: str, max_len: int = 64) -> dict:
    """Tokens, P(positive) and the last layer's attention (nh, T, T) for one sentence."""
    model.eval()
    ids = tokenizer(text, truncation=True, max_length=max_len)["input_ids"]
    input_ids, mask = collate([ids])  # (1, T)
    want = getattr(model, "want_attention", None)
    if want is not None:
        model.want_attention = True
    try:
        logits, att = model(input_ids, mask)  # (1, 2), (1, nh, T, T)
    finally:
        if want is not None:
            model.want_attention = want
    return {
        "tokens": tokenizer.convert_ids_to_tokens(ids),
        "p_positive": logits.softmax(-1)[0, 1].item(),
        "attention": att[0].tolist(),  # (nh, T, T)
        "truncated": len(tokenizer(text)["input_ids"]) > max_len,
    }


def latency_ms(model: nn.Module, tokenizer, texts: list[str], max_len: int = 64) -> float:
    """Milliseconds to classify one sentence on its own (tokenize + forward), the serving case."""
    texts = texts[:50]
    if not texts:
        return 0.0
    predict(model, tokenizer, texts[:1], max_len)  # warm-up
    t = time.perf_counter()
    for text in texts:
        predict(model, tokenizer, [text], max_len)
    return 1000 * (time.perf_counter() - t) / len(texts)


def hub_rows(name: str = "rotten_tomatoes", n: int = 4_000, split: str = "train") -> list:
    """`n` shuffled rows of a Hub sentiment set with text/label columns, via `datasets`
    (needs the network or the local datasets cache)."""
    from datasets import load_dataset

    from models.sentiment_data import Row

    ds = load_dataset(name, split=split).shuffle(seed=0)
    ds = ds.select(range(min(n, len(ds))))
    return [Row(t, int(y)) for t, y in zip(ds["text"], ds["label"], strict=True)]


def confusion_matrix(labels: list[int], preds: list[int], n_classes: int = 2) -> list[list[int]]:
    """counts[t][p]: rows with true label t predicted as p."""
    counts = [[0] * n_classes for _ in range(n_classes)]
    for t, p in zip(labels, preds, strict=True):
        counts[t][p] += 1
    return counts


def step_cost(archs: tuple[str, ...] = ("scratch", "minilm"), batch: int = 16, reps: int = 3):
    """Measured here: ms per training step (forward + backward + AdamW) of each architecture on
    one batch of sample-length reviews, best of `reps` after a warm-up step, and examples/s.
    Pages quote this instead of a typed ratio."""
    tokenizer = load_tokenizer()
    texts = ["a quietly moving film, though the middle drags on and on"] * batch
    ids, mask = collate(tokenizer(texts, truncation=True, max_length=64)["input_ids"])
    y = torch.zeros(batch, dtype=torch.long)
    out = {}
    for arch in archs:
        model = build("scratch", "small") if arch == "scratch" else build(arch)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model.train()
        best = float("inf")
        for i in range(reps + 1):
            t = time.perf_counter()
            loss = F.cross_entropy(model(ids, mask)[0], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if i:  # the first step warms up the allocator and kernels
                best = min(best, time.perf_counter() - t)
        out[arch] = {"ms_per_step": 1000 * best, "examples_per_s": batch / best}
    return out


# --- command line ------------------------------------------------------------------------------


def _print(row: dict) -> None:
    print_json(row)


def cmd_train(args: argparse.Namespace) -> None:
    rows = read_rows(args.data)
    check_trainable(rows, args.data)
    t_start = time.monotonic()  # the budget counts everything after the data is read
    budget_s = args.minutes * 60
    overrides = {"seed": args.seed, "size": args.size}
    if args.lr is not None:
        overrides["lr"] = args.lr
    cfg = default_config(args.arch, **overrides)
    train_rows, val_rows = split(rows, cfg.val_frac, cfg.seed)
    tokenizer = load_tokenizer()
    torch.manual_seed(cfg.seed)
    if cfg.arch == "scratch":
        model = build("scratch", cfg.size, max_len=cfg.max_len)
    else:
        model = build("minilm")
    train_enc = encode(tokenizer, train_rows, cfg.max_len)
    val_enc = encode(tokenizer, val_rows, cfg.max_len)
    left = budget_s - (time.monotonic() - t_start)
    # Saving 90 MB of MiniLM weights takes a few seconds; the scratch model is 4 MB.
    reserve_s = 5.0 if cfg.arch == "minilm" else 1.0
    res = fit(model, train_enc, val_enc, cfg, left, CliReporter(), reserve_s=reserve_s)
    extra = {
        "train": asdict(cfg),
        "best": res.best,
        "steps": res.steps,
        "examples_per_s": round(res.examples_per_s, 1),
        "data": {"file": str(args.data), "train_rows": len(train_rows), "val_rows": len(val_rows)},
    }
    save(model, tokenizer, args.out, extra)
    _print(
        {
            "saved": str(args.out),
            "steps": res.steps,
            "best_val_acc": res.best["val_acc"],
            "examples_per_s": round(res.examples_per_s, 1),
            "wall_s": round(time.monotonic() - t_start, 1),
        }
    )


def cmd_evaluate(args: argparse.Namespace) -> None:
    rows = read_rows(args.data)
    model, tokenizer, config = load(args.model)
    max_len = config.get("model", {}).get("max_len", config.get("train", {}).get("max_len", 64))
    data = encode(tokenizer, rows, max_len)
    t = time.perf_counter()
    ev = evaluate(model, data)
    seconds = time.perf_counter() - t
    ms = latency_ms(model, tokenizer, [r.text for r in rows], max_len)
    _print(
        {
            "n": len(rows),
            "loss": round(ev["loss"], 4),
            "examples_per_s": round(len(rows) / max(seconds, 1e-9), 1),
            "ms_per_sentence": round(ms, 2),
            "accuracy": round(ev["accuracy"], 4),  # last on purpose: `tail -c` friendly
        }
    )


def cmd_split(args: argparse.Namespace) -> None:
    rows = read_rows(args.data)
    keep, held = split(rows, args.test_frac, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(keep, out / "train.jsonl")
    write_jsonl(held, out / "test.jsonl")
    _print({"train": len(keep), "test": len(held), "out": str(out)})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m models.sentiment", description=__doc__.split("\n")[0]
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a classifier against a time budget")
    t.add_argument("--arch", choices=("scratch", "minilm"), default="scratch")
    t.add_argument("--data", required=True, help="jsonl (or csv) with text,label rows")
    t.add_argument("--out", required=True, help="folder for model.safetensors + config.json")
    t.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget after data load")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--size", choices=("tiny", "small", "base"), default="small", help="scratch")
    t.add_argument("--lr", type=float, default=None)
    e = sub.add_parser("evaluate", help="accuracy of a saved model on a labelled file")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    s = sub.add_parser("split", help="deterministic stratified train/test split of a file")
    s.add_argument("--data", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--test-frac", type=float, default=0.1)
    s.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    if getattr(args, "minutes", 1) <= 0:
        p.error("--minutes must be positive")
    try:
        {"train": cmd_train, "evaluate": cmd_evaluate, "split": cmd_split}[args.cmd](args)
    except (DataError, ModelDirError) as exc:
        p.error(str(exc))  # message + exit code 2, no traceback


if __name__ == "__main__":
    main(sys.argv[1:])
