"""Command line of Project 4 (the CLI imports the model, never the reverse).

    python -m models.gpt train --data input.txt --out out/gpt --preset baby
    python -m models.gpt train --data input.txt --preset small --devices 2 --strategy ddp
    python -m models.gpt sample --model out/gpt --prompt "ROMEO:" --tokens 200
    python -m models.gpt overhead --data input.txt --preset baby --iters 100

Every rank of a distributed run executes this file; only rank zero prints.
"""

from __future__ import annotations

import argparse
import sys
import time

from models.gpt.data import CharData, DataError, read_text_file
from models.gpt.lightning_module import train_lightning
from models.gpt.model import MODEL_PRESETS, CheckpointError, GPTConfig, load_checkpoint
from models.gpt.overhead import overhead
from models.gpt.trainer import TrainConfig, preset, sample_text
from models.training import print_json


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m models.gpt", description="Project 4: a character-level GPT"
    )
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
            evals: list[dict] = []

            def on_eval(row: dict) -> None:
                evals.append(row)
                print_json(row)

            train_lightning(
                data, model_cfg, cfg, out=args.out, device=args.device, devices=args.devices,
                strategy=args.strategy, precision=args.precision, num_nodes=args.num_nodes,
                compile=args.compile, peak_flops=args.peak_flops, seed=args.seed, on_eval=on_eval,
            )  # fmt: skip
            last = {f"final_{k}": evals[-1][k] for k in ("train_loss", "val_loss")} if evals else {}
            row = {"done": True, "iters": cfg.max_iters, **last}
            print_json({**row, "wall_s": round(time.perf_counter() - t0, 1)})
        elif args.cmd == "sample":
            model, chars = load_checkpoint(args.model, args.device)
            print(
                sample_text(
                    model, chars, args.prompt, args.tokens, args.temperature, args.top_k, args.seed
                )
            )
        elif args.cmd == "overhead":
            data, model_cfg, cfg = _configs(args)
            print_json(overhead(data, model_cfg, cfg, args.iters, args.rounds))
    except (DataError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
