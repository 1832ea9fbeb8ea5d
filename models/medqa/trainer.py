"""Project 6's trainer: LitGPT's LoRA GPT trained against a time budget (the loop is ours, so a
page can stop it between steps and see every logged row), saved as LitGPT's adapter file, and the
held-out evaluation."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from lessons import medqa as L
from models.handle import Handle
from models.medqa.data import ADAPTER, DataError, Settings, merge_input
from models.medqa.model import (
    answer,
    encode,
    load,
    nll,
    pad_batch,
    trainable_count,
    with_adapter_shape,
)
from models.training import Recorder, Reporter, Stopped

# --- training -----------------------------------------------------------------------------------


@dataclass
class Trained:
    handle: Handle
    settings: Settings
    steps: int = 0
    seconds: float = 0.0  # wall time of the training steps
    examples: int = 0
    nll_before: float = math.nan  # held-out answer NLL, the base model
    nll_after: float = math.nan
    trainable: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, str]] = field(default_factory=list)  # held-out, before and after
    stopped: str | None = None
    best_step: int = 0  # the step whose adapter is kept (lowest validation NLL)
    val_pairs: int = 0

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / self.steps if self.steps else math.nan


def _shuffled(n: int, s: Settings):
    """Batches of row indices, epoch after epoch, each epoch in a new seeded order."""
    gen = torch.Generator().manual_seed(s.seed)
    while True:
        perm = torch.randperm(n, generator=gen).tolist()
        yield from (perm[i : i + s.batch_size] for i in range(0, n, s.batch_size))


def split_validation(rows: list, s: Settings) -> tuple[list, list]:
    """(train, validation): a seeded `val_frac` of the training rows set aside for early
    stopping (none when there are fewer than 20 rows)."""
    if len(rows) < 20 or s.val_frac <= 0:
        return rows, []
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(s.seed)).tolist()
    n_val = max(4, round(s.val_frac * len(rows)))
    return [rows[i] for i in sorted(order[n_val:])], [rows[i] for i in sorted(order[:n_val])]


def _lora_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _lr(step: int, s: Settings) -> float:
    return s.lr * min(1.0, (step + 1) / max(1, s.warmup_steps))


def train(
    pairs: list[dict[str, str]],
    heldout: list[dict[str, str]],
    settings: Settings = Settings(),  # noqa: B008  (a frozen dataclass)
    budget_s: float | None = None,
    reporter: Reporter | None = None,
    init: str | Path | None = None,
    handle: Handle | None = None,
    answer_n: int = 0,
) -> Trained:
    """Train the LoRA adapter (a fresh one, or `init`'s) on `pairs` until `budget_s` (set-up
    included) or `max_steps`; log the train loss every step's batch average and the held-out
    answer NLL every `eval_every` steps, then answer `answer_n` held-out questions with the
    adapter off and on (unless stopped by hand). A stop keeps what was learnt."""
    t0 = time.monotonic()
    deadline = math.inf if budget_s is None else t0 + budget_s
    reporter = reporter or Recorder()
    if len(pairs) < 1:
        raise DataError("no training pairs")
    reporter.progress(0.0, "loading SmolLM2 into LitGPT")
    handle = handle or load(init, settings)
    settings = with_adapter_shape(settings, init)
    from litgpt.utils import chunked_cross_entropy

    model, s = handle.model, settings
    rows, val = split_validation(encode(handle, pairs, s.max_seq_length), s)
    held = encode(handle, heldout[: s.eval_n], s.max_seq_length)
    out = Trained(handle, s, trainable=trainable_count(model), val_pairs=len(val))
    best_nll, best_state, waited = math.inf, None, 0
    out.nll_before = out.nll_after = nll(handle, held, s.max_seq_length).mean if held else math.nan
    reporter.log(step=0, held_nll=round(out.nll_before, 4))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=s.lr, weight_decay=0.0)
    start = time.monotonic()
    model.train()
    try:
        for step, idx in zip(range(1, s.max_steps + 1), _shuffled(len(rows), s), strict=False):
            reporter.check()
            out.stopped = "time budget" if time.monotonic() >= deadline else None
            if out.stopped:
                break
            b = pad_batch([rows[i] for i in idx], s.max_seq_length)
            for g in opt.param_groups:
                g["lr"] = _lr(step - 1, s)
            with handle.lock:
                logits = model(b["input_ids"])  # (B, T, V)
                loss = chunked_cross_entropy(logits[..., :-1, :], b["labels"][..., 1:])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
            out.steps, out.examples = step, out.examples + len(idx)
            row: dict[str, Any] = {"step": step, "loss": round(loss.item(), 4)}
            if step % s.eval_every == 0:
                if held:
                    out.nll_after = nll(handle, held, s.max_seq_length).mean
                    row["held_nll"] = round(out.nll_after, 4)
                if val:
                    v = nll(handle, val, s.max_seq_length).mean
                    row["val_nll"] = round(v, 4)
                    if v < best_nll:
                        best_nll, best_state, waited, out.best_step = v, _lora_state(model), 0, step
                    else:
                        waited += 1
            reporter.log(**row)
            if waited >= s.patience:
                out.stopped = "early stop"
                break
            frac = step / s.max_steps if budget_s is None else (time.monotonic() - t0) / budget_s
            reporter.progress(frac, f"LoRA step {step:,}, loss {loss.item():.3f}")
    except Stopped as exc:
        out.stopped = str(exc)
    out.seconds = time.monotonic() - start
    model.eval()
    restored = best_state is not None and out.best_step != out.steps
    if restored:  # keep the adapter of the best validation NLL, not the last one
        model.load_state_dict(best_state, strict=False)
    elif not val:
        out.best_step = out.steps
    if held and restored:  # the kept adapter's held-out NLL (logged at its step already)
        out.nll_after = nll(handle, held, s.max_seq_length).mean
    elif held and out.steps % s.eval_every:  # the last steps since the last evaluation
        out.nll_after = nll(handle, held, s.max_seq_length).mean
        reporter.log(step=out.steps, held_nll=round(out.nll_after, 4))
    if answer_n and out.stopped in (None, "time budget", "early stop"):
        reporter.progress(1.0, "answering held-out questions, adapter off and on")
        out.answers = before_after(handle, heldout[:answer_n], s.max_new_tokens)
    out.history = reporter_rows(reporter)
    return out


def reporter_rows(reporter: Reporter) -> list[dict[str, Any]]:
    snapshot = getattr(reporter, "snapshot", None)
    return list(snapshot() if snapshot else getattr(reporter, "rows", []))


def save(trained: Trained, out: Path) -> None:
    from litgpt.lora import lora_filter

    out.mkdir(parents=True, exist_ok=True)
    sd = {k: v for k, v in trained.handle.model.state_dict().items() if lora_filter(k, v)}
    torch.save(sd, out / ADAPTER)
    (out / "settings.json").write_text(json.dumps(asdict(trained.settings), indent=2))
    (out / "history.json").write_text(json.dumps(trained.history))


# --- evaluation ---------------------------------------------------------------------------------


def evaluate(
    handle: Handle,
    pairs: list[dict[str, str]],
    base: bool = False,
    max_new_tokens: int = 48,
    rouge_n: int = 0,
) -> dict[str, Any]:
    """answer_nll (teacher-forced) on every pair and mean ROUGE-L of the greedy answers to the
    first `rouge_n` (0: all; generation is the slow part on a CPU), plus those answers."""
    max_len = int(handle.model.max_seq_length) - max_new_tokens
    mean = nll(handle, encode(handle, pairs, max_len), max_len, base=base).mean
    answers, scores = [], []
    for p in pairs[:rouge_n] if rouge_n > 0 else pairs:
        said = answer(handle, merge_input(p)["instruction"], max_new_tokens, base=base)
        answers.append(said)
        scores.append(L.rouge_l(said, p["output"]))
    return {
        "answer_nll": round(mean, 4),
        "rouge_l": round(sum(scores) / len(scores), 4),
        "pairs": len(pairs),
        "rouge_pairs": len(scores),
        "answers": answers,
    }


def before_after(handle: Handle, pairs: list[dict[str, str]], max_new: int = 64) -> list[dict]:
    """The same held-out questions answered with the adapter off and on (greedy)."""
    rows = []
    for p in pairs:
        q = merge_input(p)["instruction"]
        rows.append(
            {
                "question": q,
                "reference": p["output"],
                "before": answer(handle, q, max_new, base=True),
                "after": answer(handle, q, max_new),
            }
        )
    return rows
