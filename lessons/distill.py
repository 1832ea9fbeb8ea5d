"""Knowledge distillation (Hinton, Vinyals & Dean, 2015): a small student learns from a big
teacher's *soft* predictions, not only from the hard labels.

    loss = α · CE(y, s) + (1 − α) · T² · KL( softmax(t / T) ‖ softmax(s / T) )

- `soft_targets`: softmax at temperature T. T > 1 flattens the teacher's distribution, so the small
  probabilities it gives the wrong classes ("dark knowledge": a cat looks more like a dog than a
  truck) become large enough to learn from.
- `distillation_loss`: the two terms. Gradients of the soft term scale like 1/T², hence the T².
- `train_student`: a plain loop for the from-scratch student, with the teacher's logits computed
  once (`teacher_logits`) and looked up by row index; without them it is the control run
  (hard labels only) with the same seed, the same batches and the same number of steps.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models import sentiment as sent
from models.sentiment import evaluate, latency_ms
from models.sentiment_data import Encoded, batches, check_trainable, collate, encode, split
from models.sentiment_model import build, load

# A synthetic 10-class example where the dark knowledge is visible: the teacher is sure this image
# is a cat, but it also says "dog" is far more plausible than "truck".
TEN_CLASSES = (
    "cat",
    "dog",
    "fox",
    "deer",
    "horse",
    "bird",
    "frog",
    "ship",
    "car",
    "truck",
)
TEN_TEACHER = (9.0, 6.5, 5.0, 2.5, 2.0, 1.5, 1.0, -1.0, -2.0, -2.5)
TEN_STUDENT = (5.0, 5.5, 1.0, 1.0, 1.5, 0.5, 0.5, 0.0, 0.5, 0.0)  # a student that mixes up cat/dog
TEN_LABEL = 0  # the true class: cat


def soft_targets(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T) over the last axis; T = 1 is the ordinary softmax."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return F.softmax(logits / temperature, dim=-1)  # (..., C) each row sums to 1


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy in nats; log(C) for a uniform distribution over C classes."""
    return -(probs * probs.clamp_min(1e-12).log()).sum(-1)  # (...,)


@dataclass
class LossParts:
    total: torch.Tensor
    hard: torch.Tensor  # CE(y, s): the usual loss against the labels
    kl: torch.Tensor  # KL(softmax(t/T) ‖ softmax(s/T)), before the T² factor
    alpha: float
    temperature: float

    @property
    def hard_term(self) -> float:
        return self.alpha * self.hard.item()

    @property
    def soft_term(self) -> float:
        return (1 - self.alpha) * self.temperature**2 * self.kl.item()


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    alpha: float,
    temperature: float,
) -> LossParts:
    """α · CE(y, s) + (1 − α) · T² · KL(softmax(t/T) ‖ softmax(s/T)), averaged over the batch."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    T = temperature
    hard = F.cross_entropy(student_logits, labels)  # () mean over the batch
    log_s = F.log_softmax(student_logits / T, dim=-1)  # (B, C) the student, softened
    p_t = soft_targets(teacher_logits.detach(), T)  # (B, C) the teacher is a fixed target
    # kl_div(input=log q, target=p) = Σ p (log p − log q); batchmean divides by B as in the maths.
    kl = F.kl_div(log_s, p_t, reduction="batchmean")  # ()
    # d(KL)/d(logit) carries a 1/T from the softened softmax and the targets' differences shrink
    # like 1/T too: without T² the soft term would fade away as T grows.
    total = alpha * hard + (1 - alpha) * T * T * kl
    return LossParts(total, hard, kl, alpha, T)


@torch.no_grad()
def teacher_logits(model: nn.Module, data: Encoded, batch_size: int = 32) -> torch.Tensor:
    """The teacher's logits for every row, in order: computed once, then only looked up, so
    distilling costs the student's forward/backward, not the teacher's."""
    was_training = model.training
    model.eval()
    out = [model(ids, mask)[0] for ids, mask, _ in batches(data, batch_size, shuffle=False)]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, 2)  # (N, C)


@dataclass
class DistillConfig:
    alpha: float = 0.5  # weight of the hard-label term; 1.0 = no distillation
    temperature: float = 4.0
    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 30
    grad_clip: float = 1.0
    eval_every: int = 20
    seed: int = 0


def train_student(
    student: nn.Module,
    train: Encoded,
    val: Encoded,
    cfg: DistillConfig,
    soft: torch.Tensor | None = None,
    check: Callable[[], None] | None = None,
    on_eval: Callable[[dict], None] | None = None,
) -> list[dict]:
    """`cfg.steps` AdamW steps on `student`. With `soft` (N, C) teacher logits aligned with
    `train`, the loss is `distillation_loss`; with None it is plain cross-entropy (the control).
    The batch order depends only on `cfg.seed`, so both runs see the same batches.
    `check()` may raise `models.jobs.Stopped`; the history so far is kept by the caller's logs."""
    torch.manual_seed(cfg.seed)  # the same dropout masks in the distilled and the control run
    gen = torch.Generator().manual_seed(cfg.seed)
    decay = [p for p in student.parameters() if p.dim() >= 2]
    other = [p for p in student.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": other}],
        lr=cfg.lr,
        betas=(0.9, 0.98),
    )
    history: list[dict] = []
    run = {"loss": 0.0, "hard": 0.0, "soft": 0.0, "n": 0}
    t0 = time.monotonic()

    def do_eval(step: int) -> None:
        ev = evaluate(student, val)
        n = max(run["n"], 1)
        row = {
            "step": step,
            "train_loss": round(run["loss"] / n, 4),
            "train_hard": round(run["hard"] / n, 4),
            "train_soft": round(run["soft"] / n, 4),
            "val_loss": round(ev["loss"], 4),
            "val_acc": round(ev["accuracy"], 4),
            "elapsed_s": round(time.monotonic() - t0, 2),
        }
        run.update(loss=0.0, hard=0.0, soft=0.0, n=0)
        history.append(row)
        if on_eval:
            on_eval(row)

    student.train()
    step = 0
    while step < cfg.steps:
        order = torch.randperm(len(train), generator=gen)  # (N,) one epoch
        for start in range(0, len(train), cfg.batch_size):
            if step >= cfg.steps:
                break
            if check:
                check()
            idx = order[start : start + cfg.batch_size]  # (B,)
            input_ids, mask = collate([train.ids[i] for i in idx.tolist()])  # (B, T)
            y = train.labels[idx]  # (B,)
            # Warmup then cosine decay over the fixed number of steps.
            warm = min(1.0, (step + 1) / max(1, cfg.warmup_steps))
            for g in opt.param_groups:
                g["lr"] = cfg.lr * warm * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
            logits, _ = student(input_ids, mask)  # (B, C)
            if soft is None:
                loss = F.cross_entropy(logits, y)
                hard, soft_part = loss.item(), 0.0
            else:
                parts = distillation_loss(logits, soft[idx], y, cfg.alpha, cfg.temperature)
                loss = parts.total
                hard, soft_part = parts.hard_term, parts.soft_term
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(student.parameters(), cfg.grad_clip)
            opt.step()
            step += 1
            run["loss"] += loss.item() * len(y)
            run["hard"] += hard * len(y)
            run["soft"] += soft_part * len(y)
            run["n"] += len(y)
            if step % cfg.eval_every == 0 or step == cfg.steps:
                do_eval(step)
    student.eval()
    return history


@torch.no_grad()
def agreement(model: nn.Module, data: Encoded, reference: torch.Tensor) -> float:
    """Fraction of rows where `model`'s argmax equals the argmax of `reference` (N, C) logits."""
    got = teacher_logits(model, data)  # (N, C)
    return (got.argmax(-1) == reference.argmax(-1)).float().mean().item()


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- the page's two runs ------------------------------------------------------------------------


@dataclass
class Teacher:
    """A trained teacher and its logits on the training rows, cached once."""

    model: nn.Module
    tokenizer: object
    source: str  # "fine-tuned live (… s)" or the model folder
    train: Encoded
    val: Encoded
    val_texts: list[str]
    soft: torch.Tensor  # (N_train, C) the teacher's logits on `train`, in order
    val_acc: float
    max_len: int = 64


def prepare_teacher(
    rows: list,
    budget_s: float,
    model_dir: str | None = None,
    check: Callable[[], None] | None = None,
    log: Callable[[dict], None] | None = None,
    progress: Callable[[float], None] | None = None,
    seed: int = 0,
) -> Teacher:
    """Fine-tune MiniLM on `rows` within `budget_s` (Project 1's `run_training`), or load a folder
    written by `python -m models.sentiment train`; then cache its logits on the training rows.
    Both use Project 1's split of `rows` (10% validation, `seed`), so the students see the same."""
    check_trainable(rows)
    cfg = sent.default_config("minilm", seed=seed)
    train_rows, val_rows = split(rows, cfg.val_frac, cfg.seed)
    if model_dir:
        model, tokenizer, config = load(model_dir)
        max_len = config.get("train", {}).get("max_len", cfg.max_len)
        source = f"loaded from {model_dir}"
    else:
        trained = sent.run_training(rows, "minilm", "small", budget_s, check, log, progress, seed)
        model, tokenizer, max_len = trained.model, trained.tokenizer, trained.cfg.max_len
        source = f"MiniLM fine-tuned live for {trained.fit.steps} steps"
    # The students read the MiniLM tokenizer's ids too (Project 1 uses it for both models).
    train = encode(tokenizer, train_rows, max_len)
    val = encode(tokenizer, val_rows, max_len)
    soft = teacher_logits(model, train)  # (N_train, 2) computed once
    val_acc = evaluate(model, val)["accuracy"]
    return Teacher(model, tokenizer, source, train, val, [r.text for r in val_rows], soft, val_acc)


@dataclass
class PairResult:
    distilled: nn.Module
    control: nn.Module
    history: dict[str, list[dict]]
    table: list[dict]  # parameters, latency and accuracy of teacher, distilled, control


def distill_with_control(
    teacher: Teacher,
    size: str,
    cfg: DistillConfig,
    check: Callable[[], None] | None = None,
    log: Callable[[dict], None] | None = None,
) -> PairResult:
    """The same student (same seed: same initial weights, same batches, same dropout) trained
    twice for `cfg.steps`: with the teacher's soft targets, then on the hard labels only."""
    out: dict[str, nn.Module] = {}
    history: dict[str, list[dict]] = {}
    for run, soft in (("distilled", teacher.soft), ("control", None)):
        torch.manual_seed(cfg.seed)
        student = build("scratch", size, max_len=teacher.max_len)
        out[run] = student

        def on_eval(row: dict, run: str = run) -> None:
            if log:
                log({"run": run, **row})

        history[run] = train_student(student, teacher.train, teacher.val, cfg, soft, check, on_eval)
    table = compare(teacher, {"distilled student": out["distilled"], "control": out["control"]})
    return PairResult(out["distilled"], out["control"], history, table)


def compare(teacher: Teacher, students: dict[str, nn.Module]) -> list[dict]:
    """One row per model: parameters, measured ms per sentence (tokenize + forward, one sentence
    at a time, as when serving), validation accuracy and agreement with the teacher."""
    teacher_val = teacher_logits(teacher.model, teacher.val)  # (N_val, C)
    # A fast tokenizer is not thread-safe and the page uses the teacher's at the same time.
    tokenizer = copy.deepcopy(teacher.tokenizer)
    rows = []
    for name, model in {"teacher": teacher.model, **students}.items():
        rows.append(
            {
                "model": name,
                "parameters": n_params(model),
                "ms / sentence": round(
                    latency_ms(model, tokenizer, teacher.val_texts, teacher.max_len), 2
                ),
                "val accuracy": round(evaluate(model, teacher.val)["accuracy"], 4),
                "agrees with teacher (val)": round(agreement(model, teacher.val, teacher_val), 4),
            }
        )
    return rows
