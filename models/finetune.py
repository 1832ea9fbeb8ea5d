"""Fine-tuning techniques side by side: one encoder, one task, one budget, seven ways to train.

    python -m models.finetune compare --data assets/sentiment/sample.jsonl --out /tmp/ft \
        --minutes 6 --steps 120

Every technique (lessons/finetuning.py) trains a fresh private copy of the encoder with the same
head initialisation, the same batches in the same order and the same number of steps (or its
equal share of the time budget, whichever ends first), then reports peft's trainable-parameter
count, the step time, the training memory, the held-out accuracy and the encoder's sentence-
similarity score after training (forgetting). `compare` is the trainer the page runs in a
background job; the command line runs it with a `CliReporter` and writes `comparison.json`.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lessons import finetuning as ft
from models import cli
from models.handle import ModelHandle, private_copy
from models.lora import positive
from models.sentiment_data import (
    DataError,
    Encoded,
    Row,
    check_trainable,
    collate,
    encode,
    fixed_split,
    read_rows,
    split,
    test_rows,
)
from models.training import CliReporter, Recorder, Reporter, Stopped, print_json

PREPARED = "finetune-compare"


@dataclass(frozen=True)
class CompareConfig:
    techniques: tuple[str, ...] = tuple(ft.TECHNIQUES)
    steps: int = 120  # per technique: the same batches, in the same order
    batch_size: int = 16
    max_len: int = 64
    val_frac: float = 0.2
    evals: int = 8  # evaluations per technique (the curve's points)
    warmup_frac: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0
    technique: ft.TechniqueConfig = field(default_factory=ft.TechniqueConfig)


@dataclass
class Comparison:
    model: str  # which model answered
    data: str
    n_train: int
    n_val: int
    similarity_before: float  # the untouched encoder's score on the pairs
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per technique (the table)
    history: list[dict[str, Any]] = field(default_factory=list)  # logged rows (the curves)
    config: dict[str, Any] = field(default_factory=dict)
    stopped: str | None = None
    seconds: float = 0.0

    def row(self, key: str) -> dict[str, Any] | None:
        return next((r for r in self.rows if r["key"] == key), None)


def lr_at(step: int, total: int, cfg: CompareConfig, base: float) -> float:
    """Linear warmup over the first `warmup_frac` of the steps, then linear decay to 0."""
    warm = max(1, round(cfg.warmup_frac * total))
    if step < warm:
        return base * (step + 1) / warm
    return base * max(0.0, (total - step) / max(1, total - warm))


@torch.no_grad()
def accuracy(model: nn.Module, data: Encoded, batch_size: int = 64) -> float:
    was = model.training
    model.eval()
    correct = 0
    for start in range(0, len(data), batch_size):
        ids, mask = collate(data.ids[start : start + batch_size])  # (B, T)
        pred = ft.logits(model, ids, mask).argmax(-1)  # (B,)
        correct += (pred == data.labels[start : start + batch_size]).sum().item()
    model.train(was)
    return correct / max(1, len(data))


def batch_order(n: int, steps: int, batch_size: int, seed: int) -> list[list[int]]:
    """The same sequence of batches for every technique: epochs of one seeded permutation each."""
    gen = torch.Generator().manual_seed(seed)
    out: list[list[int]] = []
    while len(out) < steps:
        perm = torch.randperm(n, generator=gen).tolist()
        out += [perm[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
        if n < batch_size:
            out.append(perm)
    return out[:steps]


def _train_one(
    key: str,
    handle: ModelHandle,
    train: Encoded,
    val: Encoded,
    pairs: list[ft.Pair],
    cfg: CompareConfig,
    deadline: float,
    reporter: Reporter,
    done_before: int,
) -> dict[str, Any]:
    tech = ft.TECHNIQUES[key]
    copy = private_copy(handle)  # never the shared model
    torch.manual_seed(cfg.seed)  # the same head initialisation for every technique
    tok_path = getattr(copy.tokenizer, "name_or_path", None) or None
    model = ft.apply(key, copy.model, cfg.technique, tok_path)
    model.train()
    trainable, total = ft.trainable_parameters(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=tech.lr, weight_decay=0.01)
    order = batch_order(len(train), cfg.steps, cfg.batch_size, cfg.seed)
    first = order[0]
    ids0, mask0 = collate([train.ids[i] for i in first])
    mem = ft.memory(model, ids0, mask0, train.labels[first])
    cuda = copy.device == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    eval_at = {max(1, round(cfg.steps * (i + 1) / cfg.evals)) for i in range(cfg.evals)}
    reporter.log(technique=tech.label, step=0, val_acc=round(accuracy(model, val), 4))
    times: list[float] = []
    run_loss, run_n, step = 0.0, 0, 0
    for step, idx in enumerate(order, start=1):
        reporter.check()
        if time.monotonic() >= deadline:
            step -= 1
            break
        t = time.perf_counter()
        ids, mask = collate([train.ids[i] for i in idx])  # (B, T)
        y = train.labels[idx]  # (B,)
        for g in opt.param_groups:
            g["lr"] = lr_at(step - 1, cfg.steps, cfg, tech.lr)
        out = model(input_ids=ids, attention_mask=mask.long(), labels=y)
        loss = out["loss"] if isinstance(out, dict) else out.loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        times.append(time.perf_counter() - t)
        run_loss += loss.item()
        run_n += 1
        if step in eval_at:
            reporter.log(
                technique=tech.label,
                step=step,
                train_loss=round(run_loss / run_n, 4),
                val_acc=round(accuracy(model, val), 4),
            )
            run_loss, run_n = 0.0, 0
        reporter.progress(
            (done_before + step) / (cfg.steps * len(cfg.techniques)), f"{tech.label}: step {step}"
        )
    val_acc = accuracy(model, val)
    if run_n:
        reporter.log(
            technique=tech.label,
            step=step,
            train_loss=round(run_loss / run_n, 4),
            val_acc=round(val_acc, 4),
        )
    peak = torch.cuda.max_memory_allocated() if cuda else mem.total
    return {
        "key": key,
        "technique": tech.label,
        "trains": tech.trains,
        "trainable": trainable,
        "total": total,
        "trainable_pct": 100 * trainable / total,
        "lr": tech.lr,
        "steps": step,
        "ms_per_step": 1000 * statistics.median(times) if times else math.nan,
        "memory_mb": peak / 2**20,
        "memory_method": "CUDA allocator peak" if cuda else "counted",
        "memory_parts_mb": {k: v / 2**20 for k, v in asdict(mem).items()},
        "val_acc": val_acc,
        "similarity": ft.similarity_score(ft.encoder_of(model), copy.tokenizer, pairs),
    }


def compare(
    handle: ModelHandle,
    rows: list[Row],
    cfg: CompareConfig = CompareConfig(),
    budget_s: float | None = None,
    reporter: Reporter | None = None,
    pairs: list[ft.Pair] | None = None,
    data_name: str = "data",
) -> Comparison:
    """Train every technique of `cfg` on a private copy of `handle`'s encoder; techniques
    share what is left of `budget_s` equally. A stop keeps the techniques already done."""
    t0 = time.monotonic()
    reporter = reporter or Recorder()
    check_trainable(rows, data_name)
    unknown = [k for k in cfg.techniques if k not in ft.TECHNIQUES]
    if unknown or not cfg.techniques:
        raise ValueError(f"unknown techniques {unknown}; choose from {', '.join(ft.TECHNIQUES)}")
    pairs = pairs if pairs is not None else ft.read_pairs()
    # The built-in sample fixes its splits: train on `train`, score on `test` (new wording,
    # never trained or selected on). Other data: a seeded stratified split.
    train_rows, val_rows = split(rows, cfg.val_frac, cfg.seed)
    if fixed_split(rows) and test_rows(rows):
        val_rows = test_rows(rows)
    with handle.lock:
        train = encode(handle.tokenizer, train_rows, cfg.max_len)
        val = encode(handle.tokenizer, val_rows, cfg.max_len)
        before = ft.similarity_score(handle.model, handle.tokenizer, pairs)
    result = Comparison(
        model=handle.choice.label,
        data=data_name,
        n_train=len(train),
        n_val=len(val),
        similarity_before=before,
        config={**asdict(cfg), "techniques": list(cfg.techniques)},
    )
    try:
        for i, key in enumerate(cfg.techniques):
            left = math.inf if budget_s is None else budget_s - (time.monotonic() - t0)
            deadline = time.monotonic() + left / (len(cfg.techniques) - i)
            result.rows.append(
                _train_one(key, handle, train, val, pairs, cfg, deadline, reporter, i * cfg.steps)
            )
    except Stopped as exc:
        result.stopped = str(exc)
    snapshot = getattr(reporter, "snapshot", None)  # a Job; a Recorder keeps `rows`
    result.history = list(snapshot() if snapshot else getattr(reporter, "rows", []))
    result.seconds = time.monotonic() - t0
    return result


def aggregate(results: list[Comparison]) -> Comparison:
    """Several seeds (split, head initialisation, batch order) in one table: each technique's
    accuracy and similarity become the mean, with the spread (standard deviation) beside them.
    The curves are the first seed's."""
    if not results:
        raise ValueError("nothing to aggregate")
    first = results[0]
    rows = []
    for r0 in first.rows:
        same = [r for res in results for r in res.rows if r["key"] == r0["key"]]
        row = dict(r0)
        for name in ("val_acc", "similarity", "ms_per_step"):
            values = [r[name] for r in same]
            row[name] = statistics.fmean(values)
            row[f"{name}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        row["seeds"] = len(same)
        rows.append(row)
    return Comparison(
        model=first.model,
        data=first.data,
        n_train=first.n_train,
        n_val=first.n_val,
        similarity_before=first.similarity_before,
        rows=rows,
        history=first.history,
        config={**first.config, "seeds": [res.config["seed"] for res in results]},
        stopped=next((res.stopped for res in results if res.stopped), None),
        seconds=sum(res.seconds for res in results),
    )


def _pm(value: float, sd: float | None, fmt: str) -> str:
    return f"{value:{fmt}}" + (f" ± {sd:{fmt}}" if sd else "")


def table_rows(result: Comparison) -> list[dict[str, str]]:
    """The comparison table as the page shows it: one row per technique, numbers written out
    (thousands separators; ± the spread over seeds when there are several)."""
    out = []
    for r in result.rows:
        out.append(
            {
                "technique": r["technique"],
                "trains": r["trains"],
                "trainable parameters": f"{r['trainable']:,}",
                "% of the model": f"{r['trainable_pct']:.3g}%",
                "learning rate": f"{r['lr']:g}",
                "steps": f"{r['steps']:,}",
                "ms / step": f"{r['ms_per_step']:,.0f}",
                "training memory (MB)": f"{r['memory_mb']:,.0f}",
                "held-out accuracy": _pm(100 * r["val_acc"], 100 * r.get("val_acc_sd", 0), ".1f")
                + "%",
                "similarity after": _pm(r["similarity"], r.get("similarity_sd"), ".1f"),
            }
        )
    return out


@dataclass(frozen=True)
class Takeaways:
    full_acc: float
    lora_acc: float
    lora_pct: float  # LoRA's trainable share of the model, in percent
    before: float  # similarity score of the untouched encoder
    full_after: float
    lora_after: float

    @property
    def full_drop(self) -> float:
        return self.before - self.full_after

    @property
    def lora_drop(self) -> float:
        return self.before - self.lora_after


def takeaways(result: Comparison) -> Takeaways | None:
    """Full fine-tune vs LoRA, the two the lesson compares (None unless both ran)."""
    full, lora = result.row("full"), result.row("lora")
    if full is None or lora is None:
        return None
    return Takeaways(
        full["val_acc"],
        lora["val_acc"],
        lora["trainable_pct"],
        result.similarity_before,
        full["similarity"],
        lora["similarity"],
    )


# --- the prepared state ----------------------------------------------------------------------


def save(result: Comparison, out: str | Path) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "comparison.json"
    path.write_text(json.dumps(asdict(result), indent=1))
    return path


def load(folder: str | Path) -> Comparison | None:
    try:
        return Comparison(**json.loads((Path(folder) / "comparison.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def load_prepared() -> Comparison | None:
    from models import prepared

    return load(prepared.path(PREPARED))


def summary(result: Comparison) -> dict[str, Any]:
    """One flat JSON line: what the prepared record shows."""
    out: dict[str, Any] = {"similarity_before": round(result.similarity_before, 1)}
    for r in result.rows:
        out[f"{r['key']}_acc"] = round(r["val_acc"], 3)
        out[f"{r['key']}_similarity"] = round(r["similarity"], 1)
    out["seeds"] = len(result.config.get("seeds", [result.config.get("seed")]))
    out["wall_s"] = round(result.seconds, 1)
    return out


# --- command line ------------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> None:
    from models import loader

    rows = read_rows(args.data)
    handle = loader.load(args.model)
    t0 = time.monotonic()
    runs = []
    for i in range(args.seeds):
        cfg = CompareConfig(
            techniques=tuple(args.techniques),
            steps=args.steps,
            seed=args.seed + i,
            evals=args.evals,
        )
        left = args.minutes * 60 - (time.monotonic() - t0)
        budget = left / (args.seeds - i)  # every seed gets an equal share of what is left
        runs.append(compare(handle, rows, cfg, budget, CliReporter(), data_name=str(args.data)))
    res = aggregate(runs)
    save(res, args.out)
    for r in res.rows:
        print_json({k: v for k, v in r.items() if k != "memory_parts_mb"})
    print_json({"saved": str(args.out), **summary(res)})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m models.finetune", description=__doc__.split("\n")[0]
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare", help="train every technique with the same budget")
    c.add_argument("--data", required=True, help="jsonl (or csv) with text,label rows")
    c.add_argument("--out", required=True, help="folder for comparison.json")
    c.add_argument("--minutes", type=positive(float), default=6.0, help="budget, all techniques")
    c.add_argument("--steps", type=positive(int), default=CompareConfig.steps, help="per technique")
    c.add_argument("--evals", type=positive(int), default=CompareConfig.evals)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--seeds", type=positive(int), default=1, help="seeds seed..seed+n-1")
    c.add_argument("--model", default="minilm-embedded", help="registry key of the encoder")
    c.add_argument(
        "--techniques", nargs="+", default=list(ft.TECHNIQUES), choices=list(ft.TECHNIQUES)
    )
    return p


def main(argv: list[str] | None = None) -> None:
    from models.loader import ModelLoadError

    cli.run(parser(), argv, cmd_compare, (DataError, ValueError, ModelLoadError))


if __name__ == "__main__":
    main(sys.argv[1:])
