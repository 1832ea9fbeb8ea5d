"""`python -m models.ner`: train, evaluate, predict, the lookup baseline, the AutoTrain project.
(The command line imports the model code, never the reverse.)"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lessons import ner_format as nf
from lessons.ner_format import DataError, Sentence
from models import cli
from models import hf_training as hft
from models.ner import (
    ARCHS,
    autotrain_project,
    default_config,
    entities,
    evaluate,
    load,
    run_training,
    save,
)
from models.training import CliReporter, print_json

# ---------------------------------------------------------------- command line


def _sents(path: str) -> list[Sentence]:
    return nf.read_conll(path)


def cmd_train(args: argparse.Namespace) -> None:
    sents = _sents(args.data)
    cfg = default_config(args.arch, seed=args.seed, lr=args.lr, base=args.base, optim=args.optim,
                         batch_size=args.batch_size, val_frac=args.val_frac)  # fmt: skip
    start = time.monotonic()
    # Saving takes a moment (MiniLM: 90 MB); the rest of the budget is the run's.
    reserve = 5.0 if cfg.arch == "minilm" or cfg.base else 1.0
    res = run_training(sents, cfg, args.minutes * 60 - reserve, CliReporter())
    extra = {
        "best": res.fit.best,
        "steps": res.fit.steps,
        "examples_per_s": round(res.fit.examples_per_s, 1),
        "val": res.scores,
        "data": {"file": str(args.data), "train": len(res.train), "val": len(res.val)},
    }
    save(res.tagger, args.out, extra)
    print_json({"saved": str(args.out)})
    print_json({
        "arch": cfg.arch, "parameters": res.tagger.params,
        "steps": res.fit.steps, "examples": res.fit.examples,
        "examples_per_s": round(res.fit.examples_per_s, 1),
        "wall_s": round(time.monotonic() - start, 1),
        "val_precision": res.scores["precision"], "val_recall": res.scores["recall"],
        "val_f1": res.scores["f1"],
    })  # fmt: skip


def cmd_evaluate(args: argparse.Namespace) -> None:
    tagger = load(args.model)
    res = evaluate(tagger, _sents(args.data))
    print_json({"n": len(_sents(args.data)), "sentences_per_s": res["sentences_per_s"],
                "per_type": res["per_type"], "entities": res["entities"],
                "precision": res["precision"], "recall": res["recall"],
                "f1": res["f1"]})  # fmt: skip


def cmd_predict(args: argparse.Namespace) -> None:
    out = entities(load(args.model), args.text)
    print_json(
        {
            "text": out["text"],
            "entities": [
                {"start": a, "end": b, "type": t, "text": args.text[a:b]}
                for a, b, t in out["spans"]
            ],
        }
    )


def cmd_baseline(args: argparse.Namespace) -> None:
    tag = nf.lookup_tagger(_sents(args.train))
    sents = _sents(args.data)
    res = nf.score([list(s.tags) for s in sents], [tag(s.words) for s in sents])
    print_json(res)


def cmd_autotrain(args: argparse.Namespace) -> None:
    cfg = default_config("t5", base=args.base, seed=args.seed)
    files = autotrain_project(_sents(args.data), cfg, args.epochs)
    out = Path(args.out)
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text, encoding="utf-8")
    print_json({"out": str(out), "files": sorted(files), "run": "autotrain --config config.yml"})


def parser() -> argparse.ArgumentParser:
    p, sub = cli.commands("python -m models.ner", __doc__)
    t = cli.subcommand(sub, "train", "train a tagger against a time budget", data="CoNLL-2003 file",
                       out="folder for the model, tokenizer and ner.json")  # fmt: skip
    t.add_argument("--arch", choices=ARCHS, default="t5")
    t.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--optim", choices=hft.OPTIMIZERS, default=None,
                   help="default: adafactor for t5 from scratch, adamw otherwise")  # fmt: skip
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--val-frac", type=float, default=None, help="share held out (default 0.05)")
    t.add_argument("--base", default=None, help="t5 only: fine-tune this checkpoint instead")
    cli.subcommand(sub, "evaluate", "entity-level scores of a saved tagger on a CoNLL file",
                   model="", data="")  # fmt: skip
    cli.subcommand(sub, "predict", "tag one text", model="", text="")
    cli.subcommand(sub, "baseline", "CoNLL-2003's lookup baseline (entities seen in training)",
                   train="", data="")  # fmt: skip
    a = cli.subcommand(sub, "autotrain", "write an AutoTrain Advanced project for the T5 recipe",
                       data="", out="")  # fmt: skip
    a.add_argument("--base", default="google-t5/t5-small")
    a.add_argument("--epochs", type=int, default=3)
    a.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> None:
    commands = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict,
                "baseline": cmd_baseline, "autotrain": cmd_autotrain}  # fmt: skip
    cli.run(parser(), argv, commands, (DataError,))


if __name__ == "__main__":
    main(sys.argv[1:])
