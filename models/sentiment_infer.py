"""Project 1 at inference time: predictions, attention for one sentence, latency, the cost of a
training step measured on this machine, and a Hub dataset's rows.

`step_cost()` is the one place a page gets "MiniLM costs N× a from-scratch step": measured here,
once per process (`functools.cache`), never typed.
"""

from __future__ import annotations

import functools
import time

import torch
import torch.nn.functional as F
from torch import nn

from models.sentiment_data import collate, load_tokenizer
from models.sentiment_model import build


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


@functools.cache
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


# --- the prepared comparison (python -m models.sentiment compare, via `make prepare`) -----------

COMPARE_STATE = "pretraining-compare"


def compare_runs(name: str = COMPARE_STATE) -> list[dict] | None:
    """Every run of a prepared `compare` (arch, seed, test_acc, history ...), or None."""
    import json

    from models import prepared

    try:
        return json.loads((prepared.path(name) / "compare.json").read_text())["runs"]
    except (OSError, ValueError, KeyError):
        return None


def spread(runs: list[dict], arch: str, key: str = "test_acc") -> dict | None:
    """Mean, lowest and highest `key` over one architecture's runs (None without any)."""
    vals = [r[key] for r in runs if r.get("arch") == arch and r.get(key) is not None]
    if not vals:
        return None
    return {"mean": sum(vals) / len(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def prepared_ready(choice) -> bool:
    """Registry hook: is the prepared folder `choice.repo` ("state/arch") there?"""
    from models import prepared

    state, _, sub = choice.repo.partition("/")
    return prepared.ready(state) and (prepared.path(state) / sub / "config.json").exists()


def load_prepared(choice):
    """Registry hook: (tokenizer, model) of a classifier saved inside a prepared state."""
    from models import prepared
    from models.sentiment_model import load

    model, tokenizer, _ = load(prepared.path(choice.repo))
    return tokenizer, model
