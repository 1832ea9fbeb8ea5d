"""The command line of Project 1 (`python -m models.sentiment ...`, see models/sentiment.py):
train, compare, evaluate, split. One JSON line per evaluation and a last JSON line with the
result, printed on rank zero only."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from models import cli
from models.sentiment import (
    Tagged,
    Trained,
    evaluate,
    run_training,
    summary,
)
from models.sentiment_data import (
    DataError,
    check_trainable,
    encode,
    fixed_split,
    read_rows,
    split,
    test_rows,
    write_jsonl,
)
from models.sentiment_infer import latency_ms
from models.sentiment_model import ModelDirError, load, save
from models.training import CliReporter, Recorder, print_json


def _print(row: dict) -> None:
    print_json(row)


def _data_info(args: argparse.Namespace, trained: Trained) -> dict:
    return {
        "file": str(args.data),
        "train_rows": trained.n_train,
        "val_rows": len(trained.val_rows),
        "test_rows": len(trained.test_rows),
    }


def cmd_train(args: argparse.Namespace) -> None:
    rows = read_rows(args.data)
    check_trainable(rows, args.data)
    t_start = time.monotonic()  # the budget counts everything after the data is read
    overrides = {"lr": args.lr} if args.lr is not None else {}
    # Saving 90 MB of MiniLM weights takes a few seconds; the scratch model is 4 MB.
    reserve_s = 5.0 if args.arch == "minilm" else 1.0
    trained = run_training(
        rows, args.arch, args.size, args.minutes * 60, CliReporter(), args.seed, reserve_s,
        **overrides,
    )  # fmt: skip
    res = trained.fit
    extra = {
        "train": asdict(trained.cfg),
        "best": res.best,
        "test_acc": trained.test_acc,
        "steps": res.steps,
        "examples_per_s": round(res.examples_per_s, 1),
        "data": _data_info(args, trained),
    }
    save(trained.model, trained.tokenizer, args.out, extra)
    _print(
        {
            "saved": str(args.out),
            **summary(trained),
            "wall_s": round(time.monotonic() - t_start, 1),
        }
    )


class _Part(Tagged):
    """Run `part` of `parts` one after the other: its progress is that share of one bar."""

    def __init__(self, inner, part: int, parts: int, **tags) -> None:
        super().__init__(inner, **tags)
        self.part, self.parts = part, parts

    def progress(self, fraction: float, message: str = "") -> None:
        label = self.tags.get("arch", "")
        self.inner.progress((self.part + fraction) / self.parts, f"{label}: {message}")


def train_both(
    rows,
    budget_s: float,
    reporter,
    seed: int = 0,
    archs=("scratch", "minilm"),
    size: str = "small",
    saving: bool = False,
) -> dict[str, Trained]:
    """Each architecture in turn on the same rows, seed and budget (`budget_s` each): what
    `compare` runs per seed, and what BERT & RoBERTa's one training panel runs live. Rows are
    tagged with arch and seed. `saving`: keep time for saving (5 s for MiniLM's 90 MB)."""
    out = {}
    for i, arch in enumerate(archs):
        part = _Part(reporter, i, len(archs), arch=arch, seed=seed)
        reserve = (5.0 if arch == "minilm" else 1.0) if saving else None
        out[arch] = run_training(rows, arch, size, budget_s, part, seed, reserve_s=reserve)
    return out


def cmd_compare(args: argparse.Namespace) -> None:
    """Both architectures, every seed, the same data and budget; saves the first seed's models
    (`<out>/<arch>/`) and every run's logged rows (`<out>/compare.json`)."""
    rows = read_rows(args.data)
    check_trainable(rows, args.data)
    t_start = time.monotonic()
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs, cli = [], CliReporter()
    archs = tuple(args.archs.split(","))
    for seed in seeds:
        rec = Recorder()
        both = train_both(rows, args.minutes * 60, rec, seed, archs, args.size, saving=True)
        for arch, trained in both.items():
            if seed == seeds[0]:
                save(trained.model, trained.tokenizer, out / arch, {"train": asdict(trained.cfg)})
            history = [r for r in rec.rows if r.get("arch") == arch]
            runs.append({**summary(trained), "history": history})
            cli.log(**summary(trained))
    (out / "compare.json").write_text(json.dumps({"data": str(args.data), "runs": runs}) + "\n")
    result = {"minutes_per_run": args.minutes, "seeds": len(seeds)}
    for arch in args.archs.split(","):
        accs = [r["test_acc"] for r in runs if r["arch"] == arch and r["test_acc"] is not None]
        if accs:
            result[f"{arch}_test_acc_mean"] = round(sum(accs) / len(accs), 4)
            result[f"{arch}_test_acc_min"] = min(accs)
            result[f"{arch}_test_acc_max"] = max(accs)
    _print({**result, "wall_s": round(time.monotonic() - t_start, 1)})


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
    if fixed_split(rows):  # the file says where each row goes: keep it that way
        keep, held = [r for r in rows if r.split != "test"], test_rows(rows)
    else:
        keep, held = split(rows, args.test_frac, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(keep, out / "train.jsonl")
    write_jsonl(held, out / "test.jsonl")
    _print({"train": len(keep), "test": len(held), "out": str(out)})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m models.sentiment", description="Project 1: sentiment classification"
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
    c = sub.add_parser("compare", help="both architectures, several seeds, the same budget")
    c.add_argument("--data", required=True, help="jsonl (or csv) with text,label rows")
    c.add_argument("--out", required=True, help="folder for compare.json and the seed's models")
    c.add_argument("--minutes", type=float, default=0.5, help="wall-clock budget per run")
    c.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    c.add_argument("--archs", default="scratch,minilm", help="comma-separated architectures")
    c.add_argument("--size", choices=("tiny", "small", "base"), default="small", help="scratch")
    cli.subcommand(sub, "evaluate", "accuracy of a saved model on a labelled file", model="",
                   data="")  # fmt: skip
    s = cli.subcommand(sub, "split", "deterministic stratified train/test split of a file",
                       data="", out="")  # fmt: skip
    s.add_argument("--test-frac", type=float, default=0.1)
    s.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> None:
    commands = {"train": cmd_train, "compare": cmd_compare, "evaluate": cmd_evaluate,
                "split": cmd_split}  # fmt: skip
    cli.run(parser(), argv, commands, (DataError, ModelDirError))


if __name__ == "__main__":
    main(sys.argv[1:])
