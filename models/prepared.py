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
        "the 300 built-in reviews (assets/sentiment/sample.jsonl)",
        3.0,
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
