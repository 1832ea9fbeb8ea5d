"""Training the character-level GPT: data, the plain-PyTorch step, Lightning, the command line.

The same model trains two ways:
- `plain_step`: forward, backward, clip, AdamW step, by hand. The live page uses it (a job can
  stop between any two steps) and `overhead` times it as the reference.
- `GPTModule` + `lightning.Trainer`: what `python -m models.gpt train` runs. Lightning owns the
  device, precision (bf16 autocast on CUDA) and distribution (`--devices 8 --strategy ddp`,
  `--num-nodes`), so the same code runs on a laptop CPU, one GPU or a cluster.
Settings follow nanoGPT's train.py / config/train_shakespeare_char.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from models.gpt import GPT, MODEL_PRESETS, CheckpointError, GPTConfig, load_checkpoint
from models.gpt import save_checkpoint as _save

MAX_TEXT_BYTES = 50_000_000  # a CLI corpus; the page caps uploads far lower


# --- data: characters in, integer ids out -------------------------------------------------------


class DataError(ValueError):
    """A training text we cannot use, with a message that says why."""


def read_text_file(path: str | Path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise DataError(f"{path}: {size:,} bytes; the limit is {max_bytes:,}")
    return decode_text(path.read_bytes(), name=str(path))


def decode_text(raw: bytes, name: str = "the file") -> str:
    """Bytes -> text, refusing what is clearly not a text file."""
    if not raw.strip():
        raise DataError(f"{name} is empty: there is nothing to learn from")
    if b"\x00" in raw[:65536]:
        raise DataError(f"{name} looks binary (it contains NUL bytes); use a plain .txt file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name} is not UTF-8 text (undecodable byte at offset {exc.start}); "
            "save it as UTF-8 plain text"
        ) from exc


@dataclass
class CharData:
    """Character-level dataset: the vocabulary is the sorted set of characters in the text; the
    first 90% of the ids train, the last 10% validate (nanoGPT's split, no shuffling, so the
    validation text is genuinely unseen)."""

    chars: list[str]
    train: torch.Tensor  # (N_train,) int64 ids
    val: torch.Tensor  # (N_val,) int64 ids

    @classmethod
    def from_text(cls, text: str, block_size: int) -> CharData:
        if not text.strip():
            raise DataError("the text is empty: there is nothing to learn from")
        chars = sorted(set(text))
        if len(chars) < 2:
            raise DataError(
                f"the text has only one distinct character ({chars[0]!r}): "
                "nothing to predict; use real text"
            )
        stoi = {ch: i for i, ch in enumerate(chars)}
        ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)  # (N,)
        n = int(0.9 * len(ids))
        train, val = ids[:n], ids[n:]
        need = 10 * (block_size + 1)  # so that 10% of it still holds one context + target
        if len(val) <= block_size + 1:
            raise DataError(
                f"the text has {len(text):,} characters; a context of {block_size} needs at "
                f"least {need:,} (the last 10% is kept for validation)"
            )
        return cls(chars, train, val)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters the model knows; unknown characters are dropped."""
        stoi = {ch: i for i, ch in enumerate(self.chars)}
        return [stoi[c] for c in text if c in stoi]

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


def encode_with(chars: list[str], text: str) -> list[int]:
    stoi = {ch: i for i, ch in enumerate(chars)}
    return [stoi[c] for c in text if c in stoi]


def get_batch(
    ids: torch.Tensor, batch_size: int, block_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows: x is block_size ids, y the same window shifted by one (the next chars)."""
    ix = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)  # (B,)
    offsets = torch.arange(block_size)  # (T,)
    x = ids[ix[:, None] + offsets]  # (B, T)
    y = ids[ix[:, None] + offsets + 1]  # (B, T): target at t is the char at t + 1
    return x, y


def fetch_hub_text(
    name: str, split: str = "train", column: str = "text", max_chars: int = 1_000_000
) -> str:
    """The first `max_chars` characters of a text column of a Hub dataset, streamed (nothing
    else is downloaded). Needs the network; the page only offers it online."""
    from datasets import load_dataset

    try:
        rows = load_dataset(name, split=split, streaming=True)
        parts, n = [], 0
        for row in rows:
            if column not in row:
                raise DataError(f"{name} has no column {column!r}; it has {', '.join(row)}")
            parts.append(str(row[column]))
            n += len(parts[-1]) + 1
            if n >= max_chars:
                break
    except DataError:
        raise
    except Exception as exc:  # unknown name, no such split, a network error
        raise DataError(f"could not read {name!r} ({split}): {type(exc).__name__}: {exc}") from exc
    return "\n".join(parts)[:max_chars]


# --- training settings --------------------------------------------------------------------------


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


# --- Lightning ----------------------------------------------------------------------------------


def _lightning():
    """Import Lightning on first use: the page and `sample` do not need it."""
    import lightning as L

    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*IterableDataset.*")
    warnings.filterwarnings("ignore", message=".*GPU available but not used.*")
    return L


class RandomBatches(torch.utils.data.IterableDataset):
    """An endless stream of random (x, y) windows, made in the main process (num_workers=0):
    slicing a tensor is cheaper than any worker hand-off. Each distributed rank seeds its own
    generator so ranks see different batches."""

    def __init__(self, ids: torch.Tensor, batch_size: int, block_size: int, seed: int = 1337):
        self.ids, self.batch_size, self.block_size, self.seed = ids, batch_size, block_size, seed

    def __iter__(self):
        rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
        gen = torch.Generator().manual_seed(self.seed + rank)
        while True:
            yield get_batch(self.ids, self.batch_size, self.block_size, gen)


def make_module(model: GPT, cfg: TrainConfig):
    L = _lightning()

    class GPTModule(L.LightningModule):
        """The Lightning wrapper: the model, its loss, its optimizer. Nothing device-specific:
        Lightning moves batches, casts precision and wraps the model for DDP/FSDP."""

        def __init__(self):
            super().__init__()
            self.model = model
            self.cfg = cfg

        def training_step(self, batch, batch_idx):
            x, y = batch  # (B, T), (B, T)
            _, loss = self.model(x, y)
            return loss

        def configure_optimizers(self):
            opt, sched = make_optimizer(self.model, self.cfg, self.device.type)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return GPTModule()


def make_trainer(cfg: TrainConfig, callbacks: list, max_steps: int, **device_args):
    """A Trainer with every per-step extra switched off: no progress bar, logger, checkpoint
    callback, summary or sanity check; validation is our own callback at eval_interval."""
    L = _lightning()
    return L.Trainer(
        max_steps=max_steps,
        max_epochs=-1,
        gradient_clip_val=cfg.grad_clip or None,
        callbacks=callbacks,
        enable_progress_bar=False,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        log_every_n_steps=10**9,
        use_distributed_sampler=False,
        **device_args,
    )


def make_eval_callback(data, cfg, model, on_eval, peak_flops, autocast):
    L = _lightning()

    class EvalCallback(L.Callback):
        """nanoGPT's loop in callback form: at step 0, every eval_interval and at the end,
        estimate both losses and report ms per training step (evaluation time excluded)."""

        def __init__(self):
            self.gen = torch.Generator().manual_seed(42)
            self.t_last = 0.0
            self.it_last = 0

        def _sync(self, device):
            if device.type == "cuda":
                torch.cuda.synchronize()

        def _eval(self, trainer, pl_module, it):
            self._sync(pl_module.device)
            dt = time.perf_counter() - self.t_last
            steps = it - self.it_last
            losses = estimate_loss(
                model, data, cfg.batch_size, cfg.eval_iters, self.gen, pl_module.device, autocast
            )
            row = {
                "iter": it,
                "train_loss": round(losses["train"], 4),
                "val_loss": round(losses["val"], 4),
            }
            if steps > 0:
                ms = 1000 * dt / steps
                row["ms_per_iter"] = round(ms, 2)
                row["tokens_per_s"] = round(cfg.batch_size * model.config.block_size / ms * 1e3)
                row["lr"] = float(f"{get_lr(it - 1, cfg):.3g}")
                if pl_module.device.type == "cuda":
                    row["mfu"] = round(
                        model.estimate_mfu(cfg.batch_size, dt / steps, peak_flops), 4
                    )
            if trainer.is_global_zero:
                on_eval(row)
            self._sync(pl_module.device)
            self.t_last, self.it_last = time.perf_counter(), it

        def on_train_start(self, trainer, pl_module):
            self.t_last = time.perf_counter()
            self._eval(trainer, pl_module, 0)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            it = trainer.global_step
            if it % cfg.eval_interval == 0 or it >= trainer.max_steps:
                self._eval(trainer, pl_module, it)

    return EvalCallback()


def device_args(device: str, devices: str, strategy: str, precision: str | None, nodes: int = 1):
    accelerator = {"auto": "auto", "cpu": "cpu", "cuda": "gpu"}[device]
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if precision is None:
        # bf16 autocast on a GPU (no loss scaling needed, unlike fp16); full fp32 on CPU
        precision = "bf16-mixed" if cuda else "32-true"
    n = devices if devices == "auto" else int(devices)
    return dict(
        accelerator=accelerator, devices=n, strategy=strategy, precision=precision, num_nodes=nodes
    ), cuda


def train_lightning(
    data: CharData,
    model_cfg: GPTConfig,
    cfg: TrainConfig,
    out: str | Path | None = None,
    device: str = "auto",
    devices: str = "1",
    strategy: str = "auto",
    precision: str | None = None,
    num_nodes: int = 1,
    compile: bool = False,
    peak_flops: float = 989e12,
    seed: int = 1337,
    on_eval=lambda row: print(json.dumps(row), flush=True),
) -> GPT:
    L = _lightning()
    L.seed_everything(seed, verbose=False)
    model = GPT(model_cfg)
    dargs, cuda = device_args(device, devices, strategy, precision, num_nodes)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if cuda and "bf16" in dargs["precision"]
        else None
    )
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 matmuls for whatever stays fp32
        torch.backends.cudnn.allow_tf32 = True
    module = make_module(torch.compile(model) if compile else model, cfg)
    loader = torch.utils.data.DataLoader(
        RandomBatches(data.train, cfg.batch_size, model_cfg.block_size, seed),
        batch_size=None,  # the dataset yields whole batches
        num_workers=0,
    )
    callback = make_eval_callback(data, cfg, model, on_eval, peak_flops, autocast)
    trainer = make_trainer(cfg, [callback], cfg.max_iters, **dargs)
    trainer.fit(module, train_dataloaders=loader)
    if out is not None and trainer.is_global_zero:
        _save(model.cpu(), data.chars, out, {"preset_train": asdict(cfg)})
    return model


# --- overhead: plain PyTorch vs Lightning, same model, same process ------------------------------


def _time_plain(model_cfg, cfg, data, iters, warmup, seed) -> tuple[float, float]:
    torch.manual_seed(seed)
    model = GPT(model_cfg)
    opt, sched = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(seed)
    t0 = c0 = 0.0
    for it in range(warmup + iters):
        if it == warmup:
            t0, c0 = time.perf_counter(), time.process_time()
        x, y = get_batch(data.train, cfg.batch_size, model_cfg.block_size, gen)
        plain_step(model, opt, sched, x, y, cfg)
    return 1000 * (time.perf_counter() - t0) / iters, 1000 * (time.process_time() - c0) / iters


def _time_lightning(model_cfg, cfg, data, iters, warmup, seed) -> tuple[float, float]:
    L = _lightning()
    torch.manual_seed(seed)
    model = GPT(model_cfg)
    marks: dict[int, tuple[float, float]] = {}

    class Clock(L.Callback):
        # batch-end to batch-end: covers data fetch, transfer, hooks, step, clipping, scheduler
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if trainer.global_step in (warmup, warmup + iters):
                marks[trainer.global_step] = (time.perf_counter(), time.process_time())

    trainer = make_trainer(
        cfg, [Clock()], warmup + iters, accelerator="cpu", devices=1, precision="32-true"
    )
    loader = torch.utils.data.DataLoader(
        RandomBatches(data.train, cfg.batch_size, model_cfg.block_size, seed),
        batch_size=None,
        num_workers=0,
    )
    trainer.fit(make_module(model, cfg), train_dataloaders=loader)
    (t0, c0), (t1, c1) = marks[warmup], marks[warmup + iters]
    return 1000 * (t1 - t0) / iters, 1000 * (c1 - c0) / iters


def overhead(data, model_cfg, cfg, iters: int, rounds: int = 2, warmup: int = 10) -> dict:
    """Alternate plain and Lightning runs (other load on the machine hits both alike); report
    the best round of each and their ratio, in wall time and in this process's CPU time (which
    a busy machine disturbs less)."""
    plain, light = [], []
    for r in range(rounds):
        plain.append(_time_plain(model_cfg, cfg, data, iters, warmup, 1337 + r))
        light.append(_time_lightning(model_cfg, cfg, data, iters, warmup, 1337 + r))
    pw, lw = min(p[0] for p in plain), min(v[0] for v in light)
    pc, lc = min(p[1] for p in plain), min(v[1] for v in light)
    return {
        "iters": iters,
        "rounds": rounds,
        "plain_ms_per_iter": round(pw, 2),
        "lightning_ms_per_iter": round(lw, 2),
        "ratio": round(lw / pw, 3),
        "plain_cpu_ms_per_iter": round(pc, 2),
        "lightning_cpu_ms_per_iter": round(lc, 2),
        "cpu_ratio": round(lc / pc, 3),
        "plain_all": [round(p[0], 2) for p in plain],
        "lightning_all": [round(v[0], 2) for v in light],
        "threads": torch.get_num_threads(),
    }


# --- live training for the page (plain loop, stoppable between steps) ---------------------------


@dataclass
class LiveResult:
    model: GPT
    chars: list[str]
    iters: int


def live_train(
    job,
    data: CharData,
    model_cfg: GPTConfig,
    cfg: TrainConfig,
    sample_every: int = 100,
    sample_tokens: int = 200,
    seed: int = 1337,
    peak_flops: float = 989e12,
    eval_every_s: float = 10.0,
) -> LiveResult:
    """The page's work function for `models.jobs`: plain steps, `job.check()` between them,
    `job.log(...)` at each evaluation. Returns the trained model even when stopped early."""
    from models.jobs import Stopped

    torch.manual_seed(seed)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    model = GPT(model_cfg).to(device)
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
        job.log(**row)
        job.report(it / cfg.max_iters, f"step {it} of {cfg.max_iters}")
        t_last, it_last = time.perf_counter(), it

    try:
        evaluate(0)
        for it in range(1, cfg.max_iters + 1):
            job.check()
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


# --- command line -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.gpt", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train on a text file with Lightning; JSON lines out")
    t.add_argument("--data", required=True, help="a UTF-8 text file")
    t.add_argument("--out", default="out/gpt", help="checkpoint directory")
    t.add_argument("--preset", default="baby", choices=list(MODEL_PRESETS))
    t.add_argument("--max-iters", type=int)
    t.add_argument("--eval-interval", type=int)
    t.add_argument("--eval-iters", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    t.add_argument("--devices", default="1", help="Lightning devices: a count or 'auto'")
    t.add_argument("--num-nodes", type=int, default=1)
    t.add_argument("--strategy", default="auto", help="Lightning strategy: auto, ddp, fsdp, ...")
    t.add_argument("--precision", help="Lightning precision (default bf16-mixed on CUDA, else 32)")
    t.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    t.add_argument("--peak-flops", type=float, default=989e12, help="for MFU; H100/H200 bf16")
    t.add_argument("--seed", type=int, default=1337)

    s = sub.add_parser("sample", help="generate text from a checkpoint")
    s.add_argument("--model", required=True, help="checkpoint directory")
    s.add_argument("--prompt", default="\n")
    s.add_argument("--tokens", type=int, default=500)
    s.add_argument("--temperature", type=float, default=0.8)
    s.add_argument("--top-k", type=int)
    s.add_argument("--seed", type=int)
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda"])

    o = sub.add_parser("overhead", help="ms/iter of plain PyTorch vs Lightning, same process")
    o.add_argument("--data", required=True)
    o.add_argument("--preset", default="baby", choices=list(MODEL_PRESETS))
    o.add_argument("--iters", type=int, default=100)
    o.add_argument("--rounds", type=int, default=2)
    return p


def _configs(args) -> tuple[CharData, GPTConfig, TrainConfig]:
    block = MODEL_PRESETS[args.preset]["block_size"]
    data = CharData.from_text(read_text_file(args.data), block)
    model_cfg, cfg = preset(args.preset, data.vocab_size)
    for name in ("max_iters", "eval_interval", "eval_iters", "batch_size"):
        if getattr(args, name, None) is not None:
            if getattr(args, name) < 1:
                raise DataError(f"--{name.replace('_', '-')} must be at least 1")
            setattr(cfg, name, getattr(args, name))
    if getattr(args, "max_iters", None) is not None:
        cfg.lr_decay_iters = args.max_iters  # decay over the run that was asked for
    return data, model_cfg, cfg


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "train":
            data, model_cfg, cfg = _configs(args)
            t0 = time.perf_counter()
            train_lightning(
                data, model_cfg, cfg, out=args.out, device=args.device, devices=args.devices,
                strategy=args.strategy, precision=args.precision, num_nodes=args.num_nodes,
                compile=args.compile, peak_flops=args.peak_flops, seed=args.seed,
            )  # fmt: skip
            print(
                json.dumps(
                    {
                        "done": True,
                        "iters": cfg.max_iters,
                        "out": str(args.out),
                        "wall_s": round(time.perf_counter() - t0, 1),
                    }
                ),
                flush=True,
            )
        elif args.cmd == "sample":
            model, chars = load_checkpoint(args.model, args.device)
            print(
                sample_text(
                    model, chars, args.prompt, args.tokens, args.temperature, args.top_k, args.seed
                )
            )
        elif args.cmd == "overhead":
            data, model_cfg, cfg = _configs(args)
            print(json.dumps(overhead(data, model_cfg, cfg, args.iters, args.rounds)), flush=True)
    except (DataError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
