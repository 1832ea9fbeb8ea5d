"""transformers' Trainer under the gallery's trainer protocol (`models.training.Reporter`).

Project 3 trains with the library's own loop (`Seq2SeqTrainer` for T5, `Trainer` for MiniLM):
this module is the glue that makes that loop behave like every other trainer here.

- `Meter` (a Trainer subclass mixin) counts examples, optimisation seconds and the running
  training loss from `training_step`;
- `BudgetCallback` stops at a wall-clock deadline or when the reporter says so (stop button,
  page left), evaluates about 16 times with the caller's function, logs one row per evaluation
  through the reporter and keeps the best weights;
- `time_schedule` is a LambdaLR on the *clock*: linear warmup, then cosine decay to the
  deadline, since the number of steps a budget allows is not known in advance;
- `cpu_args` are the TrainingArguments a CPU run needs (no bf16, no checkpoints, no reports, no
  progress bars; everything printed is the reporter's).
"""

from __future__ import annotations

import copy
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import Seq2SeqTrainer, Seq2SeqTrainingArguments, Trainer, TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from models.training import Recorder, Reporter


@dataclass
class Fit:
    """What a budgeted run did; `best` is the evaluation row whose weights the model ends with."""

    history: list[dict] = field(default_factory=list)
    best: dict | None = None
    steps: int = 0
    examples: int = 0
    train_seconds: float = 0.0
    stopped: str | None = None  # why it ended before its deadline, if it did

    @property
    def examples_per_s(self) -> float:
        return self.examples / max(self.train_seconds, 1e-9)


class Meter:
    """Mixin for a Trainer: per-step loss, examples and time, read by the callback."""

    fit: Fit
    _loss_sum: float = 0.0
    _loss_n: int = 0

    def training_step(self, model, inputs, num_items_in_batch=None):
        t = time.monotonic()
        loss = super().training_step(model, inputs, num_items_in_batch)  # type: ignore[misc]
        n = int(inputs["input_ids"].shape[0])
        self.fit.examples += n
        self._loss_sum += float(loss.detach()) * n
        self._loss_n += n
        self.fit.train_seconds += time.monotonic() - t
        return loss

    def running_loss(self) -> float | None:
        if not self._loss_n:
            return None
        value = self._loss_sum / self._loss_n
        self._loss_sum, self._loss_n = 0.0, 0
        return value


class MeteredSeq2SeqTrainer(Meter, Seq2SeqTrainer):
    pass


class MeteredTrainer(Meter, Trainer):
    pass


def time_schedule(opt: torch.optim.Optimizer, deadline: float, warmup_steps: int):
    """LR factor: linear warmup over `warmup_steps` (or the first 10% of the time, whichever is
    shorter), then cosine from 1 to 0 at the deadline."""
    t0 = time.monotonic()
    span = max(deadline - t0, 1e-6)

    def factor(step: int) -> float:
        frac = min(1.0, max(0.0, (time.monotonic() - t0) / span))
        warm = min(1.0, max((step + 1) / max(1, warmup_steps), frac / 0.1))
        return warm * 0.5 * (1.0 + math.cos(math.pi * frac))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


OPTIMIZERS = ("adamw", "adafactor")


def optimizer(
    model: torch.nn.Module, lr: float, weight_decay: float, kind: str = "adamw"
) -> torch.optim.Optimizer:
    """AdamW (weight decay on matrices only: biases and norm gains are not what overfits), or
    T5's own Adafactor: factored second moments, no momentum, and steps *relative* to each
    matrix's scale (`scale_parameter`), so T5's unit-variance embeddings move as fast as its
    small projection matrices. The caller's schedule multiplies `lr` in both cases."""
    params = [p for p in model.parameters() if p.requires_grad]
    if kind == "adafactor":
        from transformers.optimization import Adafactor

        return Adafactor(params, lr=lr, scale_parameter=True, relative_step=False,
                         warmup_init=False, weight_decay=weight_decay)  # fmt: skip
    if kind != "adamw":
        raise ValueError(f"unknown optimizer {kind!r}; use one of {', '.join(OPTIMIZERS)}")
    decay = [p for p in params if p.dim() >= 2]
    other = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": other, "weight_decay": 0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.98))


def cpu_args(batch_size: int, seed: int, grad_clip: float = 1.0) -> Seq2SeqTrainingArguments:
    """Arguments for a budgeted run on this machine: the callback decides when to stop, evaluate
    and keep weights, so the Trainer's own saving, evaluation, logging and reports are off."""
    return Seq2SeqTrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="gallery-trainer-"),
        per_device_train_batch_size=batch_size,
        max_steps=10**9,  # the deadline ends the run
        max_grad_norm=grad_clip,
        bf16=False,
        fp16=False,
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
        train_sampling_strategy="group_by_length",  # similar lengths per batch: less padding
        seed=seed,
        data_seed=seed,
        use_cpu=not torch.cuda.is_available(),
    )


class BudgetCallback(TrainerCallback):
    """Stop at the deadline or on the reporter's word; evaluate on a clock; keep the best."""

    def __init__(
        self,
        trainer: Meter,
        reporter: Reporter,
        evaluate: Callable[[Any], dict],
        deadline: float,
        budget_s: float,
        key: str,
    ) -> None:
        self.trainer, self.reporter, self.evaluate = trainer, reporter, evaluate
        self.t0 = time.monotonic()
        self.deadline, self.key = deadline, key
        self.every = max(0.5, budget_s / 16)
        self.next_eval = self.t0 + self.every
        self.eval_cost = 0.0
        self.best_state: dict | None = None

    def run_eval(self, model) -> None:
        fit = self.trainer.fit
        t = time.monotonic()
        was_training = model.training
        model.eval()
        with torch.no_grad():
            metrics = self.evaluate(model)
        model.train(was_training)
        self.eval_cost = time.monotonic() - t
        row = {"step": fit.steps}
        loss = self.trainer.running_loss()
        if loss is not None:
            row["train_loss"] = round(loss, 4)
        row.update(metrics)
        row["examples_per_s"] = round(fit.examples_per_s, 1)
        row["elapsed_s"] = round(time.monotonic() - self.t0, 1)
        fit.history.append(row)
        if fit.best is None or row[self.key] > fit.best[self.key]:
            fit.best = row
            self.best_state = copy.deepcopy(model.state_dict())
        self.reporter.log(**row)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        fit = self.trainer.fit
        fit.steps = state.global_step
        now = time.monotonic()
        if self.reporter.should_stop():
            fit.stopped = "stopped"
            control.should_training_stop = True
        elif now + 1.5 * self.eval_cost >= self.deadline:
            control.should_training_stop = True
        elif now >= self.next_eval:
            self.run_eval(model)
            # Evaluations take at most ~20% of the run, however slow they turn out.
            self.next_eval = time.monotonic() + max(self.every, 4 * self.eval_cost)
        span = max(self.deadline - self.t0, 1e-9)
        self.reporter.progress((now - self.t0) / span, f"training ({fit.steps:,} steps)")
        return control


def train_budgeted(
    trainer_cls: type,
    model: torch.nn.Module,
    train_dataset: Any,
    collator: Any,
    evaluate: Callable[[Any], dict],
    *,
    budget_s: float,
    lr: float,
    batch_size: int,
    weight_decay: float = 0.01,
    warmup_steps: int = 100,
    seed: int = 0,
    key: str = "val_f1",
    reporter: Reporter | None = None,
    processing_class: Any = None,
    optim: str = "adamw",
) -> Fit:
    """Run the library's Trainer until `budget_s` seconds have passed (the final evaluation
    included), evaluating with `evaluate(model) -> dict` (`key` picks the best), and leave the
    model with its best weights."""
    reporter = reporter or Recorder()
    start = time.monotonic()
    deadline = start + budget_s
    opt = optimizer(model, lr, weight_decay, optim)
    trainer = trainer_cls(
        model=model,
        args=cpu_args(batch_size, seed),
        train_dataset=train_dataset,
        data_collator=collator,
        processing_class=processing_class,
        optimizers=(opt, time_schedule(opt, deadline, warmup_steps)),
    )
    trainer.fit = Fit()
    for cb in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(cb)
    cb = BudgetCallback(trainer, reporter, evaluate, deadline, budget_s, key)
    trainer.add_callback(cb)
    if time.monotonic() < deadline:
        trainer.train()
    model = trainer.model
    if trainer._loss_n or not trainer.fit.history:
        cb.run_eval(model)
    if cb.best_state is not None:
        model.load_state_dict(cb.best_state)
    model.eval()
    return trainer.fit
