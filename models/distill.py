"""Distilling Project 1's MiniLM classifier into a small from-scratch student, as the page and the
command line run it (the loss and the loop are in lessons/distill.py).

    python -m models.distill --teacher prepared --data assets/sentiment/sample.jsonl \
        --unlabelled assets/sentiment/unlabelled.jsonl --seeds 0,1,2,3,4 --out /tmp/kd

The teacher's logits on every row it will be asked about (labelled training rows, validation,
test and the unlabelled reviews) are computed once (`make_teacher`) and saved with the state, so a
page distils without running the teacher at all. For each seed the command trains three students
with the same initial weights and the same number of steps:
- `distilled`: the teacher's soft labels on the labelled rows *and* on the unlabelled reviews;
- `soft only`: the teacher's soft labels on the labelled rows only (no extra text);
- `control`: the labelled rows' hard labels only, no teacher.
and measures each on the `test` rows, worded with words the labelled training rows never use.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lessons import distill as kd
from models import prepared
from models.sentiment import Tagged, latency_ms
from models.sentiment_data import (
    DataError,
    Encoded,
    Row,
    encode,
    load_tokenizer,
    read_rows,
    split,
    test_rows,
)
from models.sentiment_model import ModelDirError, build, load, save
from models.training import CliReporter, Recorder, Reporter, print_json

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sentiment" / "sample.jsonl"
UNLABELLED = ROOT / "assets" / "sentiment" / "unlabelled.jsonl"
STATE = "distill"  # the prepared state's name (models/prepared.py)
TEACHER_STATE = "sentiment-minilm"  # Project 1's prepared MiniLM classifier
PARTS = ("train", "val", "test", "unlabelled")


def read_unlabelled(path: str | Path = UNLABELLED) -> list[str]:
    """The `text` of every line of a jsonl file (no labels needed)."""
    rows = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                text = json.loads(line)["text"]
            except (ValueError, KeyError, TypeError):
                raise DataError(f"{path} line {i}: expected {{'text': ...}}") from None
            if isinstance(text, str) and text.strip():
                rows.append(text)
    return rows


@dataclass
class Teacher:
    """A teacher reduced to what distilling needs: its logits on every row, computed once."""

    source: str
    data: dict[str, Encoded]  # train / val / test / unlabelled, encoded with the MiniLM tokenizer
    logits: dict[str, torch.Tensor]  # the same parts: (N, 2) each
    params: int
    ms_per_sentence: float
    texts: dict[str, list[str]] = field(default_factory=dict)
    max_len: int = 64
    model: nn.Module | None = None  # kept for a live or loaded teacher (not saved with a state)
    tokenizer: Any = None

    def acc(self, part: str) -> float:
        return kd.accuracy(self.logits[part], self.data[part].labels)


def _parts(rows: list[Row], unlabelled: list[str], tokenizer, max_len: int) -> dict:
    train_rows, val_rows = split(rows, 0.1, 0)  # the built-in sample's fixed split
    parts = {"train": train_rows, "val": val_rows, "test": test_rows(rows)}
    parts["unlabelled"] = [Row(t, 0) for t in unlabelled]  # label unused: IGNORE in the set
    texts = {k: [r.text for r in v] for k, v in parts.items()}
    return {k: encode(tokenizer, v, max_len) for k, v in parts.items()}, texts


def make_teacher(model: nn.Module, tokenizer, rows, unlabelled, source: str, max_len=64) -> Teacher:
    """Run `model` once over every part; measure its size and its ms per sentence."""
    data, texts = _parts(rows, unlabelled, tokenizer, max_len)
    if not texts["test"]:
        raise DataError('the data needs rows marked "split": "test" (new wording)')
    logits = {k: kd.teacher_logits(model, v) for k, v in data.items()}  # (N, 2) each
    ms = latency_ms(model, tokenizer, texts["test"], max_len)
    return Teacher(source, data, logits, kd.n_params(model), ms, texts, max_len, model, tokenizer)


@torch.no_grad()
def logits_on(model: nn.Module, tokenizer, text: str, max_len: int = 64) -> torch.Tensor:
    """A classifier's two logits for one sentence (negative, positive): (2,)."""
    return kd.teacher_logits(model, encode(tokenizer, [Row(text, 0)], max_len))[0]


def _fingerprint(teacher_texts: dict[str, list[str]]) -> str:
    blob = json.dumps([teacher_texts[k] for k in PARTS]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def save_teacher(teacher: Teacher, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in teacher.logits.items()}, str(out / "logits.safetensors")
    )
    meta = {k: getattr(teacher, k) for k in ("source", "params", "ms_per_sentence", "max_len")}
    meta["fingerprint"] = _fingerprint(teacher.texts)
    (out / "teacher.json").write_text(json.dumps(meta, indent=2) + "\n")


def load_teacher(folder: Path | None = None, rows=None, unlabelled=None) -> Teacher | None:
    """The prepared teacher (logits saved by `python -m models.distill`), or None when it is
    missing or was made from other data than the files here now."""
    folder = folder or prepared.path(STATE)
    try:
        meta = json.loads((folder / "teacher.json").read_text())
        logits = load_file(str(folder / "logits.safetensors"))
    except (OSError, ValueError):
        return None
    rows = rows if rows is not None else read_rows(SAMPLE)
    unlabelled = unlabelled if unlabelled is not None else read_unlabelled()
    data, texts = _parts(rows, unlabelled, load_tokenizer(), meta["max_len"])
    if meta.get("fingerprint") != _fingerprint(texts):
        return None
    return Teacher(
        meta["source"],
        data,
        logits,
        meta["params"],
        meta["ms_per_sentence"],
        texts,
        meta["max_len"],
    )


def teacher_from_folder(model_dir: str | Path, rows, unlabelled) -> Teacher:
    """A classifier folder written by `python -m models.sentiment train` as the teacher."""
    model, tokenizer, config = load(model_dir)
    max_len = config.get("train", {}).get("max_len", 64)
    return make_teacher(model, tokenizer, rows, unlabelled, f"loaded from {model_dir}", max_len)


def teacher_live(rows, unlabelled, budget_s: float, reporter: Reporter | None = None) -> Teacher:
    """Fine-tune MiniLM now (Project 1's `run_training`), then compute its logits."""
    from models.sentiment import run_training

    trained = run_training(rows, "minilm", "small", budget_s, reporter)
    source = f"MiniLM fine-tuned live for {trained.fit.steps:,} steps"
    return make_teacher(trained.model, trained.tokenizer, rows, unlabelled, source)


# --- the students ------------------------------------------------------------------------------

RUNS = {
    "distilled": "soft labels on the labelled and the unlabelled reviews",
    "soft only": "soft labels on the labelled reviews only",
    "control": "hard labels only, no teacher",
}


def student_data(teacher: Teacher, run: str, n_unlabelled: int):
    """(training set, teacher logits or None) of one kind of student run."""
    train, soft = teacher.data["train"], teacher.logits["train"]
    if run == "control":
        return train, None
    if run == "soft only" or n_unlabelled <= 0:
        return train, soft
    unl = teacher.data["unlabelled"]
    unl = Encoded(unl.ids[:n_unlabelled], unl.labels[:n_unlabelled])
    return kd.transfer_set(train, soft, unl, teacher.logits["unlabelled"])


def train_run(teacher, run, size, cfg, reporter=None, span=(0.0, 1.0)) -> tuple[nn.Module, list]:
    """One student of kind `run`, seeded by cfg.seed (the same initial weights for every run)."""
    data, soft = student_data(teacher, run, cfg.unlabelled)
    torch.manual_seed(cfg.seed)
    student = build("scratch", size, max_len=teacher.max_len)
    rep = Tagged(reporter or Recorder(), run=run)
    val, test = teacher.data["val"], teacher.data["test"]
    return student, kd.train_student(student, data, val, cfg, soft, rep, test, span)


def row_of(name: str, teacher: Teacher, model: nn.Module | None = None) -> dict:
    """One row of the comparison table (the teacher's from its saved logits)."""
    if model is None:
        logits = {p: teacher.logits[p] for p in ("val", "test")}
        params, ms = teacher.params, teacher.ms_per_sentence
    else:
        logits = {p: kd.teacher_logits(model, teacher.data[p]) for p in ("val", "test")}
        params = kd.n_params(model)
        ms = latency_ms(model, load_tokenizer(), teacher.texts["test"], teacher.max_len)
    return {
        "model": name,
        "parameters": params,
        "ms / sentence": round(ms, 2),
        "familiar wording (val)": round(kd.accuracy(logits["val"], teacher.data["val"].labels), 4),
        "new wording (test)": round(kd.accuracy(logits["test"], teacher.data["test"].labels), 4),
        "agrees with teacher (test)": round(
            kd.accuracy(logits["test"], teacher.logits["test"].argmax(-1)), 4
        ),
    }


@dataclass
class PairResult:
    models: dict[str, nn.Module]
    history: dict[str, list[dict]]
    table: list[dict]  # teacher first, then each student

    def test_acc(self, name: str) -> float:
        return next(r["new wording (test)"] for r in self.table if r["model"] == name)


def distill_pair(
    teacher: Teacher,
    size: str,
    cfg: kd.DistillConfig,
    reporter: Reporter | None = None,
    runs: tuple[str, ...] = ("distilled", "control"),
) -> PairResult:
    """The same student (same seed: same initial weights, same dropout) trained once per run."""
    models, history = {}, {}
    for i, run in enumerate(runs):
        span = (i / len(runs), (i + 1) / len(runs))
        models[run], history[run] = train_run(teacher, run, size, cfg, reporter, span)
    table = [row_of("teacher", teacher)] + [row_of(r, teacher, m) for r, m in models.items()]
    return PairResult(models, history, table)


# --- the command line (a prepared state for the page) ------------------------------------------


def cmd_run(args: argparse.Namespace) -> None:
    t_start = time.monotonic()
    rows, unlabelled = read_rows(args.data), read_unlabelled(args.unlabelled)
    teacher_dir = prepared.path(TEACHER_STATE) if args.teacher == "prepared" else args.teacher
    if not (Path(teacher_dir) / "config.json").exists():
        raise ModelDirError(
            f"{teacher_dir}: no teacher there; run `python -m models prepare {TEACHER_STATE}`"
        )
    teacher = teacher_from_folder(teacher_dir, rows, unlabelled)
    out = Path(args.out)
    save_teacher(teacher, out)
    cfg = kd.DistillConfig(steps=args.steps, unlabelled=args.unlabelled_n)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    per_seed, cli = [], CliReporter()
    for seed in seeds:
        cfg.seed = seed
        rec = Recorder()
        pair = distill_pair(teacher, args.size, cfg, rec, tuple(RUNS))
        accs = {r["model"]: r["new wording (test)"] for r in pair.table}
        per_seed.append({"seed": seed, "test_acc": accs, "table": pair.table, "history": rec.rows})
        cli.log(seed=seed, **{k.replace(" ", "_"): v for k, v in accs.items()})
        if seed == seeds[0]:
            for run, model in pair.models.items():
                save(model, load_tokenizer(), out / "students" / run.replace(" ", "_"))
    sweep = []  # the distilled student against the size of its unlabelled set
    for n in [int(x) for x in args.sweep.split(",") if x.strip()]:
        for seed, done in zip(seeds[: args.sweep_seeds], per_seed, strict=False):
            if n in (0, cfg.unlabelled):  # the runs above: soft only, and the distilled student
                acc = done["test_acc"]["distilled" if n else "soft only"]
            else:
                cfg_n = replace(cfg, unlabelled=n, seed=seed)
                student, _ = train_run(teacher, "distilled", args.size, cfg_n)
                acc = row_of("distilled", teacher, student)["new wording (test)"]
            sweep.append({"unlabelled": n, "seed": seed, "test_acc": acc})
            cli.log(sweep_unlabelled=n, seed=seed, test_acc=acc)
    cfg.seed = seeds[0]
    summary = {"teacher_test_acc": round(teacher.acc("test"), 4), "seeds": len(seeds)}
    for run in RUNS:
        accs = [s["test_acc"][run] for s in per_seed]
        key = run.replace(" ", "_")
        summary.update({f"{key}_test_mean": round(sum(accs) / len(accs), 4),
                        f"{key}_test_min": min(accs), f"{key}_test_max": max(accs)})  # fmt: skip
    results = {"config": asdict(cfg) | {"seed": seeds}, "size": args.size, "runs": RUNS}
    results |= {"teacher": row_of("teacher", teacher), "per_seed": per_seed, "summary": summary}
    results["sweep"] = sweep
    (out / "results.json").write_text(json.dumps(results) + "\n")
    print_json({**summary, "wall_s": round(time.monotonic() - t_start, 1)})


def results(folder: Path | None = None) -> dict[str, Any] | None:
    """The prepared state's per-seed results, or None."""
    try:
        return json.loads(((folder or prepared.path(STATE)) / "results.json").read_text())
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m models.distill", description=__doc__.split("\n")[0])
    p.add_argument("--teacher", default="prepared", help="a classifier folder, or 'prepared'")
    p.add_argument("--data", default=str(SAMPLE.relative_to(ROOT)))
    p.add_argument("--unlabelled", default=str(UNLABELLED.relative_to(ROOT)))
    p.add_argument("--unlabelled-n", type=int, default=kd.DistillConfig.unlabelled)
    p.add_argument("--steps", type=int, default=kd.DistillConfig.steps)
    p.add_argument("--size", choices=("tiny", "small"), default="tiny")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--sweep", default="", help="unlabelled-set sizes to train a student on too")
    p.add_argument("--sweep-seeds", type=int, default=3, help="seeds per size of the sweep")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    try:
        cmd_run(args)
    except (DataError, ModelDirError, OSError) as exc:
        p.error(str(exc))


if __name__ == "__main__":
    main(sys.argv[1:])
