"""Prepared states: what the projects' own command lines trained once, for pages to open on.

A lesson whose effect needs more training than a page can wait for (pre-trained beats scratch,
the teacher beats the student, DPO moves the margins) opens on a state made by the project's own
command line, run by `make prepare` (`python -m models prepare`). Each state is a folder in the
gallery cache with a `record.json`: the exact command, the data, the wall time, the host and the
command's last JSON line (its result). Pages show that record beside the state, and can train
more live.

    STEPS                      every state the gallery prepares (name, command, data)
    prepare(names)             run the missing ones (or all, with force)
    ready(name) / record(name) is it there, and how was it made
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def root() -> Path:
    from models.loader import cache_root

    return cache_root() / "prepared"


def path(name: str) -> Path:
    return root() / name


@dataclass(frozen=True)
class Step:
    name: str  # folder name, registry repo of its prepared choice
    title: str  # what the page calls it
    argv: tuple[str, ...]  # after `python -m`; "{out}" is replaced by the state's folder
    data: str  # what it trains on, in words
    minutes: float  # the budget the command is given (for the preflight's estimate)


@dataclass
class Record:
    name: str
    title: str
    command: str
    data: str
    seconds: float
    result: dict[str, Any]
    created: str
    host: str = field(default_factory=lambda: f"{platform.machine()}, {os.cpu_count()} cores")

    def summary(self) -> str:
        mins = self.seconds / 60
        return f"{self.title}: `{self.command}` on {self.data}, {mins:.1f} min on {self.host}"


# Every prepared state. Commands are the projects' own CLIs, on data shipped in assets/.
STEPS: tuple[Step, ...] = (
    Step(
        "sentiment-minilm",
        "Project 1's MiniLM classifier",
        ("models.sentiment", "train", "--arch", "minilm", "--data",
         "assets/sentiment/sample.jsonl", "--out", "{out}", "--minutes", "3"),
        "the built-in reviews: 160 to train, 40 to validate, 100 held out in new wording",
        3.0,
    ),
    Step(
        "finetune-compare",
        "Seven fine-tuning techniques on MiniLM, 3 seeds",
        ("models.finetune", "compare", "--data", "assets/sentiment/sample.jsonl", "--out",
         "{out}", "--minutes", "12", "--steps", "120", "--seeds", "3"),
        "the built-in reviews (assets/sentiment/sample.jsonl)",
        8.5,
    ),
    Step(
        "lora-smollm2",
        "A LoRA adapter on SmolLM2 (r = 8, q/v, 120 steps)",
        ("models.lora", "train", "--data", "assets/lora/instructions.jsonl", "--out", "{out}",
         "--minutes", "5", "--steps", "120"),
        "the gallery's 48 instructions (assets/lora/instructions.jsonl, 8 held out)",
        3.0,
    ),
    Step(
        "gpt-lamplighters",
        "Project 4's GPT (baby preset, 2,000 steps)",
        ("models.gpt", "train", "--data", "assets/text/lamplighters.txt", "--out", "{out}",
         "--preset", "baby", "--max-iters", "2000"),
        "the built-in play (assets/text/lamplighters.txt, 32,371 characters)",
        1.5,
    ),
    Step(
        "dpo-smollm2",
        "Project 5's DPO adapter (SmolLM2 + LoRA, 10 min)",
        ("models.dpo", "train", "--out", "{out}", "--minutes", "10"),
        "the gallery's 120 preference pairs (assets/alignment/dpo_pairs_train.jsonl)",
        11.0,
    ),
    Step(
        "grpo-smollm2",
        "GRPO's arithmetic adapter (SmolLM2 + LoRA, 10 min)",
        ("models.grpo", "train", "--out", "{out}", "--minutes", "10"),
        "generated sums a ± b (1–20), the 40 held-out ones excluded",
        11.0,
    ),
    Step(
        "pretraining-compare",
        "BERT & RoBERTa's pre-trained vs from-scratch runs (30 s each, 3 seeds)",
        ("models.sentiment", "compare", "--data", "assets/sentiment/sample.jsonl", "--seeds",
         "0,1,2", "--minutes", "0.5", "--out", "{out}"),
        "the built-in reviews: 160 to train, 40 to validate, 100 held out in new wording",
        3.5,
    ),
    Step(
        "distill",
        "Distillation of Project 1's MiniLM into a 1-layer student (5 seeds)",
        ("models.distill", "--teacher", "prepared", "--data", "assets/sentiment/sample.jsonl",
         "--unlabelled", "assets/sentiment/unlabelled.jsonl", "--seeds", "0,1,2,3,4", "--sweep",
         "0,100,200,500,1000", "--sweep-seeds", "3", "--out", "{out}"),
        "the built-in reviews (160 labelled) and 200 unlabelled ones (up to 1,000 in the sweep)",
        3.0,
    ),
    Step(
        "ner-minilm",
        "Project 3's MiniLM tagger",
        ("models.ner", "train", "--arch", "minilm", "--data", "assets/ner/sample.conll", "--out",
         "{out}", "--minutes", "3", "--val-frac", "0.2"),
        "the gallery's 390 tagged sentences (assets/ner/sample.conll), 20% held out",
        3.0,
    ),
    Step(
        "ner-t5",
        "Project 3's T5 tagger, trained from scratch",
        ("models.ner", "train", "--arch", "t5", "--data", "assets/ner/sample.conll", "--out",
         "{out}", "--minutes", "3", "--val-frac", "0.2"),
        "the gallery's 390 tagged sentences (assets/ner/sample.conll), 20% held out",
        3.0,
    ),
    Step(
        "moe-compare",
        "The DeepSeek page's MoE, balanced and not, and its dense twin (3 seeds)",
        ("models.moe", "compare", "--data", "assets/text/lamplighters.txt", "--out", "{out}",
         "--minutes", "10", "--steps", "400", "--seeds", "0,1,2"),
        "the built-in play (assets/text/lamplighters.txt, 32,371 characters)",
        1.5,
    ),
    # After the trained models above: it scores Project 1's classifier (and Project 3's tagger)
    # too when they are ready. The Use cases page shows its last line.
    Step(
        "use-case-scores",
        "The Use cases page's models scored on held-out inputs",
        ("models.use_cases", "evaluate", "--out", "{out}"),
        "held-out sets written for the gallery (assets/use_cases/, assets/summarization/)",
        1.7,
    ),
    Step(
        "medqa-smollm2",
        "Project 6's LitGPT LoRA on SmolLM2 (medical QA, 3 min)",
        ("models.medqa", "train", "--out", "{out}", "--minutes", "3", "--show", "6", "--rouge-n",
         "10"),
        "the gallery's 191 medical QA pairs (assets/medqa/train.json; 40 held out)",
        8.0,
    ),
)  # fmt: skip

_BY_NAME = {s.name: s for s in STEPS}


def step(name: str) -> Step:
    return _BY_NAME[name]


def ready(name: str) -> bool:
    return (path(name) / "record.json").exists()


def record(name: str) -> Record | None:
    try:
        return Record(**json.loads((path(name) / "record.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return {}


def run_step(s: Step, log: Callable[[str], None] = print) -> Record:
    """Run one step's command into a fresh folder, then write its record there."""
    out = path(s.name)
    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    argv = [a.replace("{out}", str(tmp)) for a in s.argv]
    shown = "python -m " + " ".join(a.replace("{out}", str(out)) for a in s.argv)
    log(f"preparing {s.title}: {shown}")
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{shown} failed ({proc.returncode}): " + " | ".join(tail))
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "train.log").write_text(proc.stdout + proc.stderr)
    rec = Record(
        name=s.name,
        title=s.title,
        command=shown,
        data=s.data,
        seconds=round(seconds, 1),
        result=_last_json(proc.stdout),
        created=time.strftime("%Y-%m-%d %H:%M"),
    )
    (tmp / "record.json").write_text(json.dumps(asdict(rec), indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    log(f"  done in {seconds:.0f} s: {rec.result}")
    return rec


def prepare(names: list[str] | None = None, force: bool = False, log=print) -> list[Record]:
    """Run the steps that are missing (all of `names`, or every step), oldest first."""
    done = []
    for s in STEPS:
        if names and s.name not in names:
            continue
        if ready(s.name) and not force:
            log(f"{s.title}: ready ({path(s.name)})")
            continue
        done.append(run_step(s, log))
    return done


# --- loaders for the registry's prepared choices ---------------------------------------------


def sentiment_ready(choice) -> bool:
    return ready(choice.repo)


def load_sentiment(choice):
    """(tokenizer, model) of the prepared Project 1 classifier (a MiniLM fine-tune)."""
    from models.sentiment_model import load

    model, tokenizer, _ = load(path(choice.repo))
    return tokenizer, model
