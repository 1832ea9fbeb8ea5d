"""Training the character-level GPT by hand: settings, schedule, the plain step, evaluation,
sampling, and the live loop the page runs (stoppable between any two steps).

The live loop takes a `models.training.Reporter` (the page's job, or any other), so the same code
trains behind the page and in tests. Settings follow nanoGPT's train.py /
config/train_shakespeare_char.py.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, replace

import torch

from models.gpt.data import CharData, encode_with, get_batch
from models.gpt.model import GPT, MODEL_PRESETS, GPTConfig
from models.training import Reporter, Stopped


@dataclass
class TrainConfig:
    batch_size: int = 12
    learning_rate: float = 1e-3
    max_iters: int = 2000
    lr_decay_iters: int = 2000  # cosine from learning_rate down to min_lr over this many steps
    min_lr: float = 1e-4  # ~learning_rate / 10 (Chinchilla)
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99  # a bit above 0.95 because there are few tokens per step
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20


TRAIN_PRESETS: dict[str, TrainConfig] = {
    # nanoGPT README, "I only have a macbook": eval_iters=20, block 64, batch 12, 2000 iters
    "baby": TrainConfig(),
    # nanoGPT config/train_shakespeare_char.py
    "small": TrainConfig(
        batch_size=64, max_iters=5000, lr_decay_iters=5000, eval_interval=250, eval_iters=200
    ),
    # for the live page on CPU: fewer, larger steps would not help; a smaller model does
    "tiny": TrainConfig(
        batch_size=16,
        learning_rate=2e-3,
        max_iters=1000,
        lr_decay_iters=1000,
        warmup_iters=20,
        eval_interval=50,
        eval_iters=10,
    ),
}


def preset(name: str, vocab_size: int) -> tuple[GPTConfig, TrainConfig]:
    if name not in MODEL_PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {', '.join(MODEL_PRESETS)}")
    return GPTConfig(vocab_size=vocab_size, **MODEL_PRESETS[name]), replace(TRAIN_PRESETS[name])


def resume_config(cfg: TrainConfig) -> TrainConfig:
    """Training on from a checkpoint that finished its schedule: no warm-up, the schedule's final
    learning rate throughout (what nanoGPT's `init_from='resume'` past lr_decay_iters does)."""
    return replace(cfg, learning_rate=cfg.min_lr, warmup_iters=0, lr_decay_iters=0)


def get_lr(it: int, cfg: TrainConfig) -> float:
    """nanoGPT's schedule: linear warm-up, cosine decay to min_lr, then flat."""
    if it < cfg.warmup_iters:
        return cfg.learning_rate * (it + 1) / (cfg.warmup_iters + 1)
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    ratio = (it - cfg.warmup_iters) / max(1, cfg.lr_decay_iters - cfg.warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))  # 1 -> 0
    return cfg.min_lr + coeff * (cfg.learning_rate - cfg.min_lr)


def make_optimizer(model: GPT, cfg: TrainConfig, device_type: str = "cpu"):
    """AdamW; weight decay on matrices (matmuls, embeddings) only, not on gains and biases.
    The LambdaLR scheduler multiplies learning_rate by get_lr(step) / learning_rate."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(
        groups,
        lr=cfg.learning_rate,
        betas=(cfg.beta1, cfg.beta2),
        fused=device_type == "cuda",  # one kernel for all parameters on a GPU
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda it: get_lr(it, cfg) / cfg.learning_rate)
    return opt, sched


def plain_step(model: GPT, opt, sched, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig):
    """One training step by hand: the reference Lightning is timed against."""
    _, loss = model(x, y)
    loss.backward()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return loss.detach()


@torch.no_grad()
def estimate_loss(
    model: GPT,
    data: CharData,
    batch_size: int,
    eval_iters: int,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    autocast: contextlib.AbstractContextManager | None = None,
) -> dict[str, float]:
    """Mean loss over eval_iters random batches of each split (noise drops as 1/sqrt(iters))."""
    was_training = model.training
    model.eval()
    out = {}
    block = model.config.block_size
    for split, ids in (("train", data.train), ("val", data.val)):
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            x, y = get_batch(ids, batch_size, block, generator)
            with autocast or contextlib.nullcontext():
                _, loss = model(x.to(device), y.to(device))
            losses[k] = loss.item()
        out[split] = losses.mean().item()
    model.train(was_training)
    return out


def sample_text(
    model: GPT,
    chars: list[str],
    prompt: str,
    tokens: int,
    temperature: float = 0.8,
    top_k: int | None = None,
    seed: int | None = None,
) -> str:
    """Continue `prompt` by `tokens` characters (prompt characters the model has not seen are
    dropped; an empty prompt starts from a newline, or the first character)."""
    device = next(model.parameters()).device
    ids = encode_with(chars, prompt) or encode_with(chars, "\n") or [0]
    gen = None
    if seed is not None:
        gen = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    idx = torch.tensor([ids], dtype=torch.long, device=device)  # (1, T)
    out = model.generate(idx, tokens, temperature=temperature, top_k=top_k, generator=gen)
    model.train(was_training)
    return "".join(chars[i] for i in out[0].tolist())


# --- live training for the page (plain loop, stoppable between steps) ---------------------------


@dataclass
class LiveResult:
    model: GPT
    chars: list[str]
    iters: int


def live_train(
    reporter: Reporter,
    data: CharData,
    model_cfg: GPTConfig,
    cfg: TrainConfig,
    sample_every: int = 100,
    sample_tokens: int = 200,
    seed: int = 1337,
    peak_flops: float = 989e12,
    eval_every_s: float = 10.0,
    init: GPT | None = None,
) -> LiveResult:
    """Plain steps, `reporter.check()` between them, `reporter.log(...)` at each evaluation.
    With `init` (same shape), training goes on from a copy of its weights; `init` is not touched.
    Returns the trained model even when stopped early (stop button, budget)."""
    torch.manual_seed(seed)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    model = GPT(model_cfg)
    if init is not None:
        model.load_state_dict(init.state_dict())  # copies: the shared model stays as it was
    model = model.to(device)
    opt, sched = make_optimizer(model, cfg, device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()
    gen, eval_gen = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(42)
    result = LiveResult(model, data.chars, 0)
    t_last, it_last, next_sample = time.perf_counter(), 0, 0

    def evaluate(it: int) -> None:
        nonlocal t_last, it_last, next_sample
        if cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t_last
        losses = estimate_loss(
            model,
            data,
            cfg.batch_size,
            cfg.eval_iters,
            eval_gen,
            device,
            autocast if cuda else None,
        )
        row = {"iter": it, "train_loss": losses["train"], "val_loss": losses["val"]}
        if it > it_last:
            row["tokens_per_s"] = (it - it_last) * cfg.batch_size * model_cfg.block_size / dt
            row["ms_per_iter"] = 1000 * dt / (it - it_last)
            if cuda:
                row["mfu"] = model.estimate_mfu(cfg.batch_size, dt / (it - it_last), peak_flops)
        if it >= next_sample or it == cfg.max_iters:  # the first evaluation past every N steps
            row["sample"] = sample_text(model, data.chars, "\n", sample_tokens, 0.8, None, seed)
            next_sample = it + max(1, sample_every)
        reporter.log(**row)
        reporter.progress(it / cfg.max_iters, f"step {it} of {cfg.max_iters}")
        t_last, it_last = time.perf_counter(), it

    try:
        evaluate(0)
        for it in range(1, cfg.max_iters + 1):
            reporter.check()
            x, y = get_batch(data.train, cfg.batch_size, model_cfg.block_size, gen)
            with autocast:
                plain_step(model, opt, sched, x.to(device), y.to(device), cfg)
            result.iters = it
            # every eval_interval steps, and at least every eval_every_s on a slow machine, so
            # the curve moves while someone watches
            slow = time.perf_counter() - t_last > eval_every_s
            if it % cfg.eval_interval == 0 or it == cfg.max_iters or slow:
                evaluate(it)
    except Stopped:
        # the budget or the stop button: keep what was learnt, and show where it got to
        if result.iters > it_last:
            evaluate(result.iters)
    result.model = model.cpu().eval()
    return result
