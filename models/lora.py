"""A LoRA fine-tune of the chat model on the gallery's instruction set, with the adapter toggled.

    python -m models.lora train --data assets/lora/instructions.jsonl --out /tmp/lora \
        --minutes 5 --steps 120

`train` wraps a private copy of the chat model with peft (the shared model is never wrapped),
trains the adapter on the answers only (the prompt tokens are masked out of the loss), then
answers the held-out prompts twice, adapter off (`disable_adapter`) and on, and checks that
`merge_and_unload` gives the same logits. The command line saves the adapter (a few MB, peft's
own format) and `answers.json`; the page opens on that folder (`make prepare`).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lessons import lora as lo
from lessons.chat import generate_kwargs
from lessons.sampling import GenConfig
from models import cli
from models.handle import Handle, ModelHandle, private_copy
from models.lora_data import (  # noqa: F401  (re-exported for the pages)
    DATA,
    MAX_CHARS,
    PREPARED,
    ROOT,
    DataError,
    Example,
    collate,
    encode_example,
    prompt_ids,
    read_examples,
    style_marker,
)
from models.training import CliReporter, Recorder, Reporter, Stopped, print_json


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 60  # optimizer steps over the training instructions
    batch_size: int = 4
    lr: float = 1e-3
    max_len: int = 128  # tokens per prompt + answer, cut
    evals: int = 6  # held-out loss measured this many times during the run
    warmup_frac: float = 0.1
    max_new_tokens: int = 32  # the held-out answers after training
    seed: int = 0
    lora: lo.LoraSettings = field(default_factory=lo.LoraSettings)


@dataclass
class Answer:
    prompt: str
    base: str  # adapter off
    adapted: str  # adapter on


@dataclass(frozen=True)
class MergeCheck:
    fp32_abs: float  # max |Δlogit|, merged vs unmerged, in the model's own fp32
    fp32_rel: float  # the same, relative to the largest logit
    fp64_abs: float  # the same computation in float64: the merge itself is exact


@dataclass
class Adapted:
    """A trained adapter on a private copy of the chat model, and how it got there."""

    handle: Handle  # model: the peft model; its own lock
    model_key: str  # the registry choice it adapts
    model_label: str  # which model answered
    settings: lo.LoraSettings
    trainable: int
    total: int
    steps: int = 0
    seconds: float = 0.0
    held_loss_before: float = math.nan
    held_loss_after: float = math.nan
    marker: str = ""
    answers: list[Answer] = field(default_factory=list)
    answer_tokens: int = 0  # new tokens per held-out answer (greedy)
    merge: MergeCheck | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None

    def marker_rate(self, which: str) -> float:
        """Share of held-out answers (adapter off: "base", on: "adapted") in the trained style."""
        if not self.answers or not self.marker:
            return math.nan
        hits = [getattr(a, which).lstrip().startswith(self.marker) for a in self.answers]
        return sum(hits) / len(hits)


def wrap(handle: ModelHandle, settings: lo.LoraSettings) -> Handle:
    """A private copy of `handle` with a fresh LoRA adapter (B = 0) around its chosen modules."""
    import peft

    mine = private_copy(handle)
    mine.model = peft.get_peft_model(mine.model, lo.lora_config(settings, task_type="CAUSAL_LM"))
    return mine


@torch.no_grad()
def held_loss(model: nn.Module, data: list[tuple[list[int], list[int]]], pad_id: int) -> float:
    """Mean cross-entropy on the held-out answers' tokens."""
    was = model.training
    model.eval()
    total, n = 0.0, 0
    for start in range(0, len(data), 8):
        ids, mask, labels = collate(data[start : start + 8], pad_id)
        tokens = int((labels[:, 1:] != -100).sum())
        total += model(input_ids=ids, attention_mask=mask, labels=labels).loss.item() * tokens
        n += tokens
    model.train(was)
    return total / max(1, n)


def _lr(step: int, cfg: TrainConfig) -> float:
    warm = max(1, round(cfg.warmup_frac * cfg.steps))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    return cfg.lr * max(0.0, (cfg.steps - step) / max(1, cfg.steps - warm))


def train(
    handle: ModelHandle,
    examples: list[Example],
    cfg: TrainConfig = TrainConfig(),
    budget_s: float | None = None,
    reporter: Reporter | None = None,
    reserve_s: float = 0.0,
) -> Adapted:
    """Train a LoRA adapter on a private copy of `handle`'s model within `budget_s` (setup
    included; `reserve_s` is kept for what comes after), then answer the held-out prompts with
    the adapter off and on and compare merged with unmerged logits. A stop keeps the adapter."""
    t0 = time.monotonic()
    deadline = math.inf if budget_s is None else t0 + budget_s - reserve_s
    reporter = reporter or Recorder()
    torch.manual_seed(cfg.seed)
    mine = wrap(handle, cfg.lora)
    model, tok = mine.model, mine.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    train_rows = [encode_example(tok, e, cfg.max_len) for e in examples if e.split == "train"]
    held_rows = [encode_example(tok, e, cfg.max_len) for e in examples if e.split == "held_out"]
    trainable, total = model.get_nb_trainable_parameters()
    out = Adapted(
        mine,
        handle.choice.key,
        handle.choice.label,
        cfg.lora,
        trainable,
        total,
        marker=style_marker(examples),
    )
    out.held_loss_before = held_loss(model, held_rows, pad)
    reporter.log(step=0, held_loss=round(out.held_loss_before, 4))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(cfg.seed)
    order: list[int] = []
    eval_at = {max(1, round(cfg.steps * (i + 1) / cfg.evals)) for i in range(cfg.evals)}
    run_loss, run_n = 0.0, 0
    model.train()
    try:
        for step in range(1, cfg.steps + 1):
            reporter.check()
            if time.monotonic() >= deadline:
                out.stopped = "time budget"
                break
            while len(order) < cfg.batch_size:
                order += torch.randperm(len(train_rows), generator=gen).tolist()
            idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
            ids, mask, labels = collate([train_rows[i] for i in idx], pad)  # (B, T)
            for g in opt.param_groups:
                g["lr"] = _lr(step - 1, cfg)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            out.steps = step
            run_loss, run_n = run_loss + loss.item(), run_n + 1
            if step in eval_at:
                row = {"step": step, "train_loss": round(run_loss / run_n, 4)}
                row["held_loss"] = round(held_loss(model, held_rows, pad), 4)
                reporter.log(**row)
                run_loss, run_n = 0.0, 0
            reporter.progress(step / cfg.steps, f"LoRA step {step} of {cfg.steps}")
    except Stopped as exc:
        out.stopped = str(exc)
    model.eval()
    out.held_loss_after = held_loss(model, held_rows, pad)
    if run_n:
        reporter.log(step=out.steps, train_loss=round(run_loss / run_n, 4),
                     held_loss=round(out.held_loss_after, 4))  # fmt: skip
    if out.stopped is None or out.stopped == "time budget":
        reporter.progress(1.0, "answering the held-out prompts, adapter off and on")
        held = [e.prompt for e in examples if e.split == "held_out"]
        out.answers = answer(mine, held, cfg.max_new_tokens)
        out.answer_tokens = cfg.max_new_tokens
        out.merge = merge_check(mine, held[0])
    snapshot = getattr(reporter, "snapshot", None)
    out.history = list(snapshot() if snapshot else getattr(reporter, "rows", []))
    out.seconds = time.monotonic() - t0
    return out


@torch.no_grad()
def _generate(model: nn.Module, tok: Any, prompts: list[str], max_new: int) -> list[str]:
    """Greedy answers to several prompts in one left-padded batch."""
    rows = [prompt_ids(tok, p) for p in prompts]
    T = max(len(r) for r in rows)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids = torch.full((len(rows), T), pad, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(rows), T), dtype=torch.long)  # (B, T) left padding
    for i, r in enumerate(rows):
        ids[i, T - len(r) :], mask[i, T - len(r) :] = torch.tensor(r), 1
    greedy = generate_kwargs(GenConfig(temperature=0.0))
    out = model.generate(
        input_ids=ids, attention_mask=mask, max_new_tokens=max_new, pad_token_id=pad, **greedy
    )  # (B, T + new)
    return [tok.decode(o[T:], skip_special_tokens=True).strip() for o in out]


def answer(adapted: Handle, prompts: list[str], max_new_tokens: int = 32) -> list[Answer]:
    """The same prompts answered with the adapter off (the base model) and on."""
    if not prompts:
        return []
    with adapted.lock:
        model = adapted.model
        with model.disable_adapter():
            base = _generate(model, adapted.tokenizer, prompts, max_new_tokens)
        tuned = _generate(model, adapted.tokenizer, prompts, max_new_tokens)
    return [Answer(p, b, a) for p, b, a in zip(prompts, base, tuned, strict=True)]


@torch.no_grad()
def prompt_logits(model: nn.Module, tok: Any, prompt: str) -> torch.Tensor:
    ids = torch.tensor([prompt_ids(tok, prompt)])  # (1, T)
    return model(input_ids=ids).logits[0]  # (T, V)


def _merge_pair(model: nn.Module, tok: Any, prompt: str, dtype: torch.dtype) -> tuple:
    work = copy.deepcopy(model).to(dtype)
    unmerged = prompt_logits(work, tok, prompt)  # (T, V)
    merged = prompt_logits(work.merge_and_unload(), tok, prompt)  # (T, V) W + (α/r)·B·A
    del work
    return unmerged, merged


def merge_check(adapted: Handle, prompt: str) -> MergeCheck:
    """Logits with the adapter beside W (unmerged) and folded into it (`merge_and_unload`,
    on a copy: it returns the bare base model with the update added). In fp32 the two differ
    by rounding only; in float64 by ~1e-12."""
    with adapted.lock:
        model = adapted.model
        was = model.training
        model.eval()
        try:
            u32, m32 = _merge_pair(model, adapted.tokenizer, prompt, torch.float32)
            u64, m64 = _merge_pair(model, adapted.tokenizer, prompt, torch.float64)
        finally:
            model.train(was)
    d32 = float((m32 - u32).abs().max())
    return MergeCheck(d32, d32 / float(u32.abs().max()), float((m64 - u64).abs().max()))


def init_delta(handle: ModelHandle, settings: lo.LoraSettings, prompt: str) -> float:
    """max |Δlogit| between the shared base model and a fresh adapter around a copy of it:
    B = 0 at initialisation, so an untrained LoRA model is exactly the base."""
    mine = wrap(handle, settings)
    mine.model.eval()
    with handle.lock:
        base = prompt_logits(handle.model, handle.tokenizer, prompt)  # (T, V)
    adapted = prompt_logits(mine.model, mine.tokenizer, prompt)  # (T, V)
    return float((adapted - base).abs().max())


# --- saving and the prepared adapter ---------------------------------------------------------


def save(adapted: Adapted, out: str | Path) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    adapted.handle.model.save_pretrained(out / "adapter")  # adapter_model.safetensors + config
    record = {k: v for k, v in asdict(replace(adapted, handle=None)).items() if k != "handle"}
    (out / "answers.json").write_text(json.dumps(record, indent=1))
    return out


def read_record(folder: str | Path) -> dict[str, Any] | None:
    """What `save` wrote beside the adapter (answers, losses, merge check), or None."""
    try:
        return json.loads((Path(folder) / "answers.json").read_text())
    except (OSError, ValueError):
        return None


def load(handle: ModelHandle, folder: str | Path) -> Adapted:
    """A saved adapter on a fresh private copy of `handle`'s model, with its recorded answers."""
    import peft

    folder = Path(folder)
    rec = read_record(folder)
    if rec is None:
        raise DataError(f"{folder}: no adapter record (answers.json)")
    if rec["model_key"] != handle.choice.key:
        raise DataError(f"{folder} adapts {rec['model_label']}, not {handle.choice.label}")
    mine = private_copy(handle, train=False)
    mine.model = peft.PeftModel.from_pretrained(mine.model, folder / "adapter").eval()
    rec["settings"] = lo.LoraSettings(
        **{**rec["settings"], "targets": tuple(rec["settings"]["targets"])}
    )
    rec["answers"] = [Answer(**a) for a in rec["answers"]]
    rec["merge"] = MergeCheck(**rec["merge"]) if rec.get("merge") else None
    return Adapted(handle=mine, **rec)


def prepared_folder() -> Path:
    from models import prepared

    return prepared.path(PREPARED)


# --- command line ------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> None:
    from models import loader

    examples = read_examples(args.data)
    handle = loader.load(args.model)
    settings = lo.LoraSettings(r=args.r, alpha=args.alpha, dropout=args.dropout,
                               targets=tuple(args.targets))  # fmt: skip
    cfg = TrainConfig(steps=args.steps, seed=args.seed, lora=settings, max_new_tokens=args.tokens)
    res = train(handle, examples, cfg, args.minutes * 60, CliReporter(), reserve_s=60)
    save(res, args.out)
    for a in res.answers:
        print_json(asdict(a))
    print_json(
        {
            "saved": str(args.out),
            "model": res.model_label,
            "trainable": res.trainable,
            "steps": res.steps,
            "held_loss_before": round(res.held_loss_before, 3),
            "held_loss_after": round(res.held_loss_after, 3),
            "style_base": round(res.marker_rate("base"), 3),
            "style_adapted": round(res.marker_rate("adapted"), 3),
            "merge_fp32_max_abs_delta": res.merge.fp32_abs if res.merge else None,
            "merge_fp64_max_abs_delta": res.merge.fp64_abs if res.merge else None,
            "wall_s": round(res.seconds, 1),
        }
    )


def positive(kind):
    """An argparse type: a number of `kind` above zero, else a usage error (exit code 2)."""

    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    p, sub = cli.commands("python -m models.lora", __doc__)
    t = cli.subcommand(sub, "train", "train a LoRA adapter and answer the held-out prompts",
                       data="jsonl: prompt, response, split (train|held_out)",
                       out="folder for the adapter and answers.json")  # fmt: skip
    t.add_argument("--minutes", type=positive(float), default=5.0, help="wall-clock budget")
    t.add_argument("--steps", type=positive(int), default=120)
    t.add_argument("--r", type=positive(int), default=8)
    t.add_argument("--alpha", type=float, default=16.0)
    t.add_argument("--dropout", type=float, default=0.05)
    t.add_argument("--targets", nargs="+", default=["q_proj", "v_proj"])
    t.add_argument("--tokens", type=positive(int), default=40, help="new tokens per answer")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--model", default="smollm2-embedded", help="registry key of the chat model")
    return p


def main(argv: list[str] | None = None) -> None:
    from models.loader import ModelLoadError

    cli.run(parser(), argv, cmd_train, (DataError, ModelLoadError, ValueError))


if __name__ == "__main__":
    main(sys.argv[1:])
