"""Lightning's overhead: plain PyTorch vs Lightning, the same model, in the same process."""

from __future__ import annotations

import time

import torch

from models.gpt.data import get_batch
from models.gpt.lightning_module import RandomBatches, _lightning, make_module, make_trainer
from models.gpt.model import GPT
from models.gpt.trainer import make_optimizer, plain_step


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
