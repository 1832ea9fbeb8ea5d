"""Process-wide start-up: import the heavy libraries once, before sessions race to do it.

Several Streamlit sessions importing transformers' lazy model modules at the same moment raised
ImportError in a quick test; importing them here, from app.py, at start-up avoids that.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
import threading
import time

_done = False
_lock = threading.Lock()

WARM_MODULES = (
    "torch",
    "transformers",
    "transformers.models.auto.modeling_auto",
    "transformers.models.auto.tokenization_auto",
    "transformers.models.bert.modeling_bert",
    "transformers.models.distilbert.modeling_distilbert",  # the DistilBERT page
    "transformers.models.llama.modeling_llama",
    "transformers.models.roberta.modeling_roberta",
    "transformers.models.gpt2.modeling_gpt2",
    "transformers.models.t5.modeling_t5",
    "transformers.models.qwen2.modeling_qwen2",
    "transformers.models.deepseek_v3.modeling_deepseek_v3",  # the DeepSeek page's MLA check
    "tokenizers",
    "plotly.graph_objects",
)


def warm_imports() -> None:
    global _done
    with _lock:
        if _done:
            return
        for name in WARM_MODULES:
            importlib.import_module(name)
        _done = True
    settle_heap()


_modules_at_freeze = 0


def settle_heap() -> None:
    """Move the long-lived objects into the garbage collector's permanent generation.

    Streamlit runs a full `gc.collect(2)` after every script run (`runner.postScriptGC`). With
    torch, transformers and plotly imported that walks ~400,000 objects: 0.25-0.4 s of held GIL
    per rerun on these CPUs (measured), during which every other session's thread waits.
    Modules and what they hold live as long as the process, so once new modules have been
    imported (start-up, or the first visit to a page that imports peft, trl, lightning...) they
    are collected once and frozen; later collections walk only what sessions create. Called at
    the end of every run (app.py); the check is one len(). The cost: a frozen object that later
    becomes part of an unreachable cycle stays (reference counting still frees the rest); freezes
    happen a bounded number of times, once per batch of new imports."""
    global _modules_at_freeze
    if len(sys.modules) <= _modules_at_freeze:
        return
    with _lock:
        if len(sys.modules) <= _modules_at_freeze:
            return
        gc.collect()
        gc.freeze()
        _modules_at_freeze = len(sys.modules)


RUN_LOG_ENV = "GALLERY_RUN_LOG"
RUN_LOG_MAX_BYTES = 2_000_000  # a talk served after the preflight keeps running: stop there
_log_lock = threading.Lock()


def log_run(page: str, started: float, seconds: float) -> None:
    """Append one script run (the page's name, its wall-clock start, its seconds) to the file
    named by $GALLERY_RUN_LOG, when it is set: the server's own share of a page open, which the
    preflight and `make bench` set it for and read. Off (one getenv) otherwise."""
    path = os.environ.get(RUN_LOG_ENV)
    if not path:
        return
    line = json.dumps({"page": page, "start": round(started, 3), "seconds": round(seconds, 4)})
    with _log_lock:
        try:
            if os.path.exists(path) and os.path.getsize(path) > RUN_LOG_MAX_BYTES:
                return
            with open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        except OSError:  # a log that cannot be written never breaks a page
            return


def read_run_log(path: str | os.PathLike) -> list[dict]:
    """The runs `log_run` wrote (an empty list when there is no log); a line being written as
    it is read is skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return []
    runs = []
    for line in text.splitlines():
        try:
            runs.append(json.loads(line))
        except ValueError:
            continue
    return runs


def run_clock() -> tuple[float, float]:
    """(wall-clock time, perf counter) at the start of a script run, for `log_run`."""
    return time.time(), time.perf_counter()


def device_summary() -> str:
    import torch

    if torch.cuda.is_available():
        return f"CUDA · {torch.cuda.get_device_name(0)}"
    return f"CPU · {torch.get_num_threads()} threads"
