"""The GPT on Lightning: what `python -m models.gpt train` runs.

Lightning owns the device, precision (bf16 autocast on CUDA) and distribution (`--devices 8
--strategy ddp`, `--num-nodes`), so the same code runs on a laptop CPU, one GPU or a cluster.
Only global rank zero reports evaluations and saves the checkpoint.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

from models.gpt.data import CharData, get_batch
from models.gpt.model import GPT, GPTConfig, save_checkpoint
from models.gpt.trainer import TrainConfig, estimate_loss, get_lr, make_optimizer
from models.training import print_json


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
    on_eval=print_json,
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
        save_checkpoint(model.cpu(), data.chars, out, {"preset_train": asdict(cfg)})
    return model
