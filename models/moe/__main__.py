"""Command line of the DeepSeek page's mixture of experts (the CLI imports the model, never the
reverse). JSON lines out; the last line is the result.

    python -m models.moe train --data input.txt --out out/moe --minutes 2
    python -m models.moe train --data input.txt --out out/moe --minutes 2 --no-balance
    python -m models.moe compare --data input.txt --out out/moe-compare --minutes 3 --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.gpt.data import CharData, DataError, read_text_file
from models.moe.model import MoEConfig, save
from models.moe.trainer import VARIANTS, TrainConfig, compare, train
from models.training import CliReporter, print_json


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m models.moe", description="A small MoE GPT")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, text in (("train", "train one model"),
                       ("compare", "balanced vs unbalanced MoE vs dense, per seed")):  # fmt: skip
        s = sub.add_parser(name, help=text)
        s.add_argument("--data", required=True, help="a UTF-8 text file")
        s.add_argument("--out", required=True, help="output directory")
        s.add_argument("--minutes", type=float, default=2.0, help="wall-clock cap")
        s.add_argument("--steps", type=int, default=TrainConfig.steps, help="steps per model")
        s.add_argument("--bias-update", type=float, default=MoEConfig.bias_update, help="γ")
    t = sub.choices["train"]
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--no-balance", action="store_true", help="switch the bias balancing off")
    t.add_argument("--dense", action="store_true", help="the dense model, same active params")
    sub.choices["compare"].add_argument("--seeds", default="0,1,2")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.steps < 1 or args.minutes <= 0:
            raise DataError("--steps must be at least 1 and --minutes positive")
        block = MoEConfig.block_size
        data = CharData.from_text(read_text_file(args.data), block)
        seeds = tuple(int(s) for s in args.seeds.split(",")) if args.cmd == "compare" else ()
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = MoEConfig(vocab_size=data.vocab_size, bias_update=args.bias_update)
    tcfg = TrainConfig(steps=args.steps)
    reporter = CliReporter(budget_s=args.minutes * 60)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.cmd == "train":
        cfg.balance, cfg.dense = not args.no_balance, args.dense
        label = "dense" if args.dense else VARIANTS[1] if args.no_balance else VARIANTS[0]
        run = train(cfg, TrainConfig(steps=args.steps, seed=args.seed), data, reporter, label)
        save(run.model, data.chars, out / "model.pt")
        print_json({"run": label, "steps": run.steps, "seconds": round(run.seconds, 1),
                    "train_loss": round(run.train_loss, 4), "val_loss": round(run.val_loss, 4),
                    "active_parameters": run.model.active_parameters(),
                    "load_max_over_mean": [round(v, 3) for v in run.max_over_mean]})  # fmt: skip
        return 0
    result = compare(data, cfg, tcfg, seeds, reporter)
    for label, model in result.pop("models").items():
        save(model, data.chars, out / f"{label.replace(', ', '-').replace(' ', '-')}.pt")
    (out / "compare.json").write_text(json.dumps(result, indent=1))
    last = {"seeds": len(seeds), "steps": args.steps}
    for label, entry in result["summary"].items():
        for metric, s in entry.items():
            last[f"{label}: {metric}"] = f"{s['mean']:.3f} ± {s['std']:.3f}"
    print_json(last)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
