"""Training the MoE GPT (and its dense twin) on a character text, reporting to a `Reporter`.

    run = train(MoEConfig(...), TrainConfig(steps=600), data, reporter, label="MoE, balanced")
    summary = compare(data, MoEConfig(...), TrainConfig(...), seeds=(0, 1, 2), reporter=rep)

`compare` trains the three models a lesson compares, seed by seed, for the same number of steps:
the MoE with DeepSeek-V3's bias balancing, the same MoE without it, and the dense model with the
same active parameters. The expert load it reports is each expert's share of the routed slots
over the last `load_window` training steps; max/mean is 1.0 when perfectly even and n_routed/k
when every token picks the same experts.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from models.gpt.data import CharData, get_batch
from models.moe.model import MoEConfig, MoEGPT
from models.training import Reporter

VARIANTS = ("MoE, balanced", "MoE, no balancing", "dense")


@dataclass
class TrainConfig:
    steps: int = 600
    batch_size: int = 32
    lr: float = 3e-3
    eval_every: int = 50
    eval_batches: int = 4
    load_window: int = 50  # steps over which the expert load is averaged
    seed: int = 0


@dataclass
class Run:
    label: str
    model: MoEGPT
    steps: int
    seconds: float
    train_loss: float
    val_loss: float
    load: list[list[float]]  # (L, E) share of routed slots per layer and expert, last window
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def max_over_mean(self) -> list[float]:
        return [max(layer) * len(layer) for layer in self.load]  # max / mean, mean = 1 / E


def variant(cfg: MoEConfig, label: str) -> MoEConfig:
    """The config of one of the compared models (VARIANTS)."""
    return {
        VARIANTS[0]: replace(cfg, balance=True, dense=False),
        VARIANTS[1]: replace(cfg, balance=False, dense=False),
        VARIANTS[2]: replace(cfg, dense=True),
    }[label]


@torch.no_grad()
def evaluate(model: MoEGPT, ids: torch.Tensor, tcfg: TrainConfig) -> float:
    gen = torch.Generator().manual_seed(1234)  # the same held-out windows every time
    model.eval()
    losses = []
    for _ in range(tcfg.eval_batches):
        x, y = get_batch(ids, tcfg.batch_size, model.cfg.block_size, gen)  # (B, T)
        losses.append(model(x, y)[1].item())
    model.train()
    return sum(losses) / len(losses)


def train(
    cfg: MoEConfig,
    tcfg: TrainConfig,
    data: CharData,
    reporter: Reporter,
    label: str = "MoE",
) -> Run:
    """Train one model for `tcfg.steps` steps (fewer if the reporter says stop)."""
    torch.manual_seed(tcfg.seed)
    model = MoEGPT(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr)
    gen = torch.Generator().manual_seed(tcfg.seed)
    start, step, ema = time.perf_counter(), 0, None
    recent: list[torch.Tensor] = []  # (L, E) loads of the last steps
    rows: list[dict[str, Any]] = []
    val = float("nan")
    while step < tcfg.steps and not reporter.should_stop():
        x, y = get_batch(data.train, tcfg.batch_size, cfg.block_size, gen)  # (B, T)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        layers = model.moe_layers()
        for moe in layers:
            moe.update_bias()  # after the step, as in DeepSeek-V3
        if layers:
            recent = [*recent[-(tcfg.load_window - 1) :], torch.stack([m.load() for m in layers])]
        step += 1
        ema = loss.item() if ema is None else 0.9 * ema + 0.1 * loss.item()
        if step % tcfg.eval_every == 0 or step == tcfg.steps:
            val = evaluate(model, data.val, tcfg)
            row: dict[str, Any] = {"run": label, "seed": tcfg.seed, "step": step}
            row.update(train_loss=round(ema, 4), val_loss=round(val, 4))
            for i, ratio in enumerate(_max_over_mean(recent)):
                row[f"load_L{i}"] = round(ratio, 3)
            rows.append(row)
            reporter.log(**row)
        reporter.progress(step / tcfg.steps, f"{label}: step {step:,} of {tcfg.steps:,}")
    if step and (not rows or rows[-1]["step"] != step):
        val = evaluate(model, data.val, tcfg)
    load = torch.stack(recent).mean(0).tolist() if recent else []
    return Run(label, model, step, time.perf_counter() - start, float(ema or 0.0), val, load, rows)


def _max_over_mean(recent: list[torch.Tensor]) -> list[float]:
    if not recent:
        return []
    load = torch.stack(recent).mean(0)  # (L, E)
    return (load.max(-1).values / load.mean(-1)).tolist()


def spread(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0}  # fmt: skip


def compare(
    data: CharData,
    cfg: MoEConfig,
    tcfg: TrainConfig,
    seeds: tuple[int, ...],
    reporter: Reporter,
    variants: tuple[str, ...] = VARIANTS,
) -> dict[str, Any]:
    """Every variant trained the same steps for every seed. Returns {"runs": [...per run
    summary], "summary": {variant: {metric: {mean, std}}}, "models": {variant: seed 0's},
    "rows": [...every logged row]}."""
    runs, models, rows = [], {}, []
    for seed in seeds:
        for label in variants:
            if reporter.should_stop():
                break
            run = train(variant(cfg, label), replace(tcfg, seed=seed), data, reporter, label)
            runs.append({"run": label, "seed": seed, "steps": run.steps, "val_loss": run.val_loss,
                         "train_loss": run.train_loss, "max_over_mean": run.max_over_mean,
                         "load": run.load,
                         "active_parameters": run.model.active_parameters()})  # fmt: skip
            models.setdefault(label, run.model)
            rows += run.rows
    summary: dict[str, dict[str, Any]] = {}
    for label in variants:
        mine = [r for r in runs if r["run"] == label]
        entry = {"val_loss": spread([r["val_loss"] for r in mine])}
        if mine and mine[0]["max_over_mean"]:
            entry["worst_max_over_mean"] = spread([max(r["max_over_mean"]) for r in mine])
        summary[label] = entry
    return {"runs": runs, "summary": summary, "models": models, "rows": rows}


def checkpoint_name(label: str) -> str:
    """File name of a variant's saved model in a compare folder: "MoE-balanced.pt"."""
    return label.replace(", ", "-").replace(" ", "-") + ".pt"


def summary_table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per variant over its seeds: expert load max/mean per layer (mean ± std), the
    validation loss (mean ± std), active parameters."""
    layers = max(len(r["max_over_mean"]) for r in runs)
    table = []
    for label in dict.fromkeys(r["run"] for r in runs):
        mine = [r for r in runs if r["run"] == label]
        row: dict[str, Any] = {"model": label, "seeds": len(mine)}
        for layer in range(layers):
            name = f"layer {layer} max/mean"
            row[name] = "no router"
            if mine[0]["max_over_mean"]:
                s = spread([r["max_over_mean"][layer] for r in mine])
                row[name] = f"{s['mean']:.2f} ± {s['std']:.2f}"
        s = spread([r["val_loss"] for r in mine])
        row["validation loss"] = f"{s['mean']:.3f} ± {s['std']:.3f}"
        row["active parameters"] = f"{mine[0]['active_parameters']:,}"
        row["steps"] = f"{mine[0]['steps']:,}"
        table.append(row)
    return table
