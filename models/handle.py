"""The one model handle every page and trainer uses, and the rule for sharing it.

A handle is what `ui.models.get_model(role)` returns and what lessons take: the registry choice,
the model, its tokenizer, a lock and the device. Shared handles live in a process-wide cache and
are used by every Streamlit session (each session is a thread), so:

- whoever calls the model or the tokenizer holds `handle.lock` for the whole call
  (`with handle.lock: ...`). Lesson functions that take a handle take the lock themselves;
  pages never call a shared model directly. The lock is re-entrant, so a lesson calling another
  lesson under the same lock is fine.
- nobody mutates a shared model: peft and TRL wrap (and change) the model they are given, and
  training changes weights. Trainers call `private_copy(handle)` and work on the copy.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from models.registry import Choice


@runtime_checkable
class ModelHandle(Protocol):
    choice: Choice  # key, label, kind, source (embedded | prepared | hub | server), licence
    model: Any  # a torch module; the client for a server; None for a tokenizer-only handle
    tokenizer: Any  # None for a server
    lock: threading.RLock  # every use of a shared model holds it
    device: str  # "cpu" | "cuda"


@dataclass
class Handle:
    """The concrete handle the loader returns (satisfies `ModelHandle`)."""

    choice: Choice
    tokenizer: Any
    model: Any | None
    lock: threading.RLock
    device: str
    load_seconds: float = 0.0
    fallback_reason: str | None = None  # set when another choice was asked for and failed
    private: bool = False  # True for a trainer's copy: safe to mutate

    @property
    def params(self) -> int:
        # .parameters() yields a tied tensor once, so tied embeddings count once.
        if self.model is None or not hasattr(self.model, "parameters"):
            return 0
        return sum(p.numel() for p in self.model.parameters())


def private_copy(handle: ModelHandle, *, train: bool = True) -> Handle:
    """A detached copy (model and tokenizer deep-copied under the shared lock) for peft, TRL or
    any training to mutate. The shared handle is left exactly as it was."""
    if handle.model is None or not hasattr(handle.model, "parameters"):
        raise ValueError(f"{handle.choice.label} has no model weights to copy")
    start = time.perf_counter()
    with handle.lock:
        model = copy.deepcopy(handle.model)
        tokenizer = copy.deepcopy(handle.tokenizer)
    model.train(train)
    for p in model.parameters():
        p.requires_grad_(True)
    return Handle(
        choice=replace(handle.choice),
        tokenizer=tokenizer,
        model=model,
        lock=threading.RLock(),
        device=handle.device,
        load_seconds=time.perf_counter() - start,
        private=True,
    )
