"""`python -m models.medqa`: Project 6, a LoRA fine-tune of SmolLM2 (a Llama) on medical
question–answer pairs, with LitGPT.

    python -m models.medqa train --out DIR --minutes M [--data FILE]
    python -m models.medqa evaluate --model DIR|base --data FILE
    python -m models.medqa predict --model DIR|base --question "..."

The embedded SmolLM2 (the loader's fp32 safetensors, dequantized from its GGUF file) is converted
once into a LitGPT checkpoint (`litgpt convert_to_litgpt DIR --model_name SmolLM2-135M-Instruct`,
the same function) in the gallery cache. Training uses LitGPT's own pieces: `litgpt.lora.GPT`
with LoRA on the query and value projections (`finetune_lora`'s defaults), its `SFTDataset` with
the SmolLM2 chat prompt and the prompt masked out, `chunked_cross_entropy`, `generate`; the loop
is ours, so a page can stop it between steps. The saved adapter is LitGPT's `lit_model.pth.lora`.
Data: LitGPT's JSON format, a list of {"instruction", "input", "output"}.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lessons import medqa as L
from models import cli
from models.handle import Handle
from models.medqa.data import (
    ADAPTER,
    HELDOUT,
    MAX_FIELD,
    TRAIN,
    DataError,
    Settings,
    merge_input,
    read_pairs,
)
from models.medqa.model import answer, load
from models.medqa.trainer import evaluate, save, train
from models.training import CliReporter, print_json

# --- command line -------------------------------------------------------------------------------


def _model(arg: str) -> tuple[Handle, bool]:
    """`base` -> (a fresh adapter switched off, True); a trained folder -> (its adapter, False)."""
    if arg == "base":
        return load(), True
    if not (Path(arg) / ADAPTER).exists():
        raise DataError(f"{arg} holds no trained adapter ({ADAPTER}); train one first")
    return load(arg), False


def cmd_train(args: argparse.Namespace) -> None:
    pairs, held = read_pairs(args.data), read_pairs(args.heldout)
    settings = Settings(max_new_tokens=args.max_new_tokens, max_steps=args.steps)
    trained = train(pairs, held, settings, args.minutes * 60, CliReporter())
    out = Path(args.out)
    save(trained, out)
    scored = held[: args.eval_n] if args.eval_n > 0 else held
    kw = {"max_new_tokens": args.max_new_tokens, "rouge_n": max(args.rouge_n, args.show)}
    base = evaluate(trained.handle, scored, True, **kw)
    after = evaluate(trained.handle, scored, **kw)
    shown = zip(scored[: args.show], base["answers"], after["answers"], strict=False)
    answers = [{"question": merge_input(p)["instruction"], "reference": p["output"],
                "before": b, "after": a} for p, b, a in shown]  # fmt: skip
    (out / "answers.json").write_text(json.dumps(answers, indent=2))
    print_json(
        {
            "steps": trained.steps,
            "seconds": round(trained.seconds, 1),
            "s_per_step": round(trained.seconds_per_step, 3),
            "trainable": trained.trainable,
            "kept_step": trained.best_step,
            "val_pairs": trained.val_pairs,
            "stopped": trained.stopped,
            "base_answer_nll": base["answer_nll"],
            "answer_nll": after["answer_nll"],
            "base_rouge_l": base["rouge_l"],
            "rouge_l": after["rouge_l"],
            "nll_drop": round(L.relative_drop(base["answer_nll"], after["answer_nll"]), 4),
            "heldout": len(scored),
            "rouge_heldout": after["rouge_pairs"],
        }
    )


def cmd_evaluate(args: argparse.Namespace) -> None:
    handle, base = _model(args.model)
    res = evaluate(handle, read_pairs(args.data), base=base)
    res.pop("answers")
    print_json({"model": args.model, **res})


def cmd_predict(args: argparse.Namespace) -> None:
    if not args.question.strip():
        raise DataError("--question is empty")
    handle, base = _model(args.model)
    print_json(
        {"model": args.model, "answer": answer(handle, args.question[:MAX_FIELD], base=base)}
    )


def main(argv: list[str] | None = None) -> None:
    parser, sub = cli.commands("python -m models.medqa", __doc__)
    t = cli.subcommand(sub, "train", "LoRA-train SmolLM2 with LitGPT", out="the adapter's folder")
    t.add_argument("--minutes", type=float, default=3.0, help="training budget")
    t.add_argument("--data", default=str(TRAIN), help="LitGPT JSON training pairs")
    t.add_argument("--heldout", default=str(HELDOUT), help="LitGPT JSON held-out pairs")
    t.add_argument("--show", type=int, default=6, help="held-out answers saved before/after")
    t.add_argument("--eval-n", type=int, default=0, help="score the first N held-out (0: all)")
    t.add_argument("--steps", type=int, default=Settings.max_steps, help="at most N steps")
    t.add_argument("--rouge-n", type=int, default=0, help="ROUGE-L on the first N (0: all)")
    t.add_argument("--max-new-tokens", type=int, default=Settings.max_new_tokens)
    cli.subcommand(
        sub,
        "evaluate",
        "answer_nll and ROUGE-L on a LitGPT JSON file",
        model="a trained folder, or base",
        data="LitGPT JSON pairs",
    )
    cli.subcommand(
        sub,
        "predict",
        "answer one question (greedy)",
        model="a trained folder, or base",
        question="the question",
    )
    errors = (DataError,)
    cli.run(
        parser, argv, {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict}, errors
    )


if __name__ == "__main__":
    main()
