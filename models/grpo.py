"""GRPO on SmolLM2 with LoRA (`trl.GRPOTrainer`) and verifiable arithmetic rewards.

    python -m models.grpo train --out DIR --minutes M
    python -m models.grpo evaluate --adapter DIR|none --data FILE

FILE: JSON lines {"question": "What is 35 + 12?", "answer": 47}. Training questions are drawn by
`lessons.grpo.make_questions` with every held-out question excluded. Each step logs TRL's own
metrics and the step's groups (completions, each reward function's score, the advantage). The
last line of both commands is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from lessons import grpo as L
from lessons.chat import encode_chats
from models import alignment as A
from models import cli
from models.handle import ModelHandle
from models.training import CliReporter, Reporter, print_json

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "assets" / "alignment" / "arithmetic_heldout.jsonl"
FIELDS = {"question": str, "answer": int}
LOG_KEYS = (
    "loss",
    "reward",
    "reward_std",
    "frac_reward_zero_std",
    "rewards/correct/mean",
    "rewards/format/mean",
    "completions/mean_length",
    "kl",
    "entropy",
)


@dataclass(frozen=True)
class Settings:
    num_generations: int = 4  # G: completions per prompt (TRL's default is 8)
    prompts_per_step: int = 2
    max_completion_length: int = 16  # tokens; "17 + 4 = 21" is 9
    temperature: float = 0.8
    learning_rate: float = 3e-4
    beta: float = 0.0  # TRL's default: no KL term (then no `kl` is logged)
    lora_r: int = 16
    seed: int = 0
    train_questions: int = 400


def read_questions(path: str | Path) -> list[L.Question]:
    return [L.Question(r["question"], r["answer"]) for r in A.read_jsonl(path, FIELDS)]


class GroupLog:
    """The two reward functions TRL calls, which also keep what they scored, so that each step's
    groups can be shown: completions, each function's reward, the advantage."""

    def __init__(self, group_size: int, reporter: Reporter, keep: int = 200) -> None:
        self.g, self.reporter, self.keep = group_size, reporter, keep
        self.pending: dict[str, Any] = {}
        self.steps: list[dict[str, Any]] = []

    def correct(self, prompts, completions, answer, **kw) -> list[float]:
        texts = [L.completion_text(c) for c in completions]
        self.pending = {
            "prompts": [L.completion_text(p) for p in prompts],
            "texts": texts,
            "answers": [int(a) for a in answer],
        }
        self.pending["correct"] = [
            L.correct_reward(t, a) for t, a in zip(texts, answer, strict=True)
        ]
        return self.pending["correct"]

    def format(self, prompts, completions, **kw) -> list[float]:
        scores = [L.format_reward(L.completion_text(c)) for c in completions]
        self.pending["format"] = scores
        return scores

    def flush(self, state) -> None:
        p = self.pending
        if not p.get("format"):
            return
        w = L.REWARD_WEIGHTS
        total = [
            w["correct"] * c + w["format"] * f
            for c, f in zip(p["correct"], p["format"], strict=True)
        ]
        groups = L.group_advantages(total, self.g)
        rows = []
        for i in range(len(groups.mean)):
            sl = slice(i * self.g, (i + 1) * self.g)
            rows.append(
                {
                    "prompt": p["prompts"][sl][0],
                    "answer": p["answers"][sl][0],
                    "completions": p["texts"][sl],
                    "correct": p["correct"][sl],
                    "format": p["format"][sl],
                    "advantage": [round(a, 4) for a in groups.advantages[i].tolist()],
                    "zero_spread": bool(groups.zero_spread[i]),
                }
            )
        step = {"step": int(state.global_step), "groups": rows}
        self.steps = [*self.steps, step][-self.keep :]
        self.reporter.log(**step)
        self.pending = {}


@dataclass
class Trained:
    policy: Any  # a private Handle, model a PeftModel
    record: A.TrainingRecord
    steps: list[dict[str, Any]]  # each step's groups
    step_times: list[float]


def train(
    handle: ModelHandle,
    settings: Settings,
    reporter: Reporter,
    budget_s: float,
    exclude: list[L.Question] = (),
    init_adapter: str | Path | None = None,
    max_steps: int | None = None,
) -> Trained:
    """GRPO with LoRA on a private copy of `handle` for `budget_s` seconds."""
    from datasets import Dataset, disable_progress_bars
    from trl import GRPOConfig, GRPOTrainer

    disable_progress_bars()
    start = time.monotonic()
    reporter.progress(0.0, "copying the model")
    questions = L.make_questions(
        settings.train_questions, settings.seed, exclude=[q.question for q in exclude]
    )
    data = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": L.prompt_text(q.question)}], "answer": q.answer}
            for q in questions
        ]
    )
    pol = A.policy(handle, init_adapter, trainable=True)
    peft_config = A.lora_config(settings.lora_r) if init_adapter is None else None
    log = GroupLog(settings.num_generations, reporter)
    callback = A.make_callback(reporter, start + budget_s, LOG_KEYS, every=log.flush)
    with tempfile.TemporaryDirectory(prefix="grpo-") as tmp:
        args = GRPOConfig(
            output_dir=tmp,
            num_generations=settings.num_generations,
            per_device_train_batch_size=settings.num_generations * settings.prompts_per_step,
            max_completion_length=settings.max_completion_length,
            temperature=settings.temperature,
            learning_rate=settings.learning_rate,
            beta=settings.beta,
            reward_weights=[L.REWARD_WEIGHTS["correct"], L.REWARD_WEIGHTS["format"]],
            seed=settings.seed,
            **A.trl_args(**({"max_steps": max_steps} if max_steps else {})),
        )
        trainer = GRPOTrainer(
            model=pol.model,
            reward_funcs=[log.correct, log.format],
            args=args,
            train_dataset=data,
            processing_class=pol.tokenizer,
            peft_config=peft_config,
            callbacks=[callback],
        )
        A.quiet(trainer)
        reporter.progress(0.0, "training")
        trainer.train()
    record = A.TrainingRecord(
        method="grpo",
        steps=int(trainer.state.global_step),
        seconds=round(time.monotonic() - start, 1),
        seconds_per_step=A.mean_step(callback.step_times),
        data=f"arithmetic questions (a ± b, 1–20), {settings.prompts_per_step} per step",
        settings=asdict(settings),
        continued_from=str(init_adapter) if init_adapter else None,
    )
    return Trained(replace(pol, model=trainer.model.eval()), record, log.steps, callback.step_times)


@torch.no_grad()
def replies(
    policy: ModelHandle,
    questions: list[L.Question],
    adapter: bool = True,
    batch_size: int = 20,
    max_new_tokens: int = 16,
) -> list[str]:
    """Greedy replies to each question (the training prompt), with the adapter on or off."""
    tok = policy.tokenizer
    out: list[str] = []
    with policy.lock:
        model = policy.model
        side, tok.padding_side = tok.padding_side, "left"
        try:
            with A.adapter_off(model) if not adapter else contextlib.nullcontext():
                for i in range(0, len(questions), batch_size):
                    msgs = [
                        [{"role": "user", "content": L.prompt_text(q.question)}]
                        for q in questions[i : i + batch_size]
                    ]
                    enc = encode_chats(tok, msgs)  # left-padded (B, T)
                    ids = model.generate(
                        **enc.to(policy.device),
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        temperature=None,
                        top_p=None,
                        top_k=None,
                        pad_token_id=tok.pad_token_id,
                    )  # fmt: skip  (B, T+new)
                    new = ids[:, enc["input_ids"].shape[1] :]
                    out += [tok.decode(r, skip_special_tokens=True).strip() for r in new]
        finally:
            tok.padding_side = side
    return out


def evaluate(policy: ModelHandle, questions: list[L.Question], adapter: bool = True) -> dict:
    texts = replies(policy, questions, adapter=adapter)
    return {**L.score(texts, [q.answer for q in questions]), "replies": texts}


# ---------------------------------------------------------------- command line


def _base():
    from models import loader

    return loader.load("smollm2-embedded")


def cmd_train(args: argparse.Namespace) -> None:
    settings = Settings(learning_rate=args.lr, seed=args.seed, beta=args.beta)
    held = read_questions(args.data)
    rep = CliReporter(budget_s=args.minutes * 60)
    trained = train(
        _base(), settings, rep, args.minutes * 60, exclude=held, max_steps=args.max_steps
    )
    A.save_adapter(trained.policy.model, args.out, trained.record)
    after = evaluate(trained.policy, held)
    after.pop("replies")
    print_json(A.summary(args.out, trained.record, after))


def cmd_evaluate(args: argparse.Namespace) -> None:
    handle = _base()
    pol = handle if args.adapter == "none" else A.policy(handle, args.adapter)
    result = evaluate(pol, read_questions(args.data))
    for q, t in zip(read_questions(args.data)[:5], result.pop("replies"), strict=False):
        print_json({"question": q.question, "answer": q.answer, "reply": t})
    print_json({"adapter": args.adapter, **result})


def parser() -> argparse.ArgumentParser:
    helps = ("GRPO + LoRA on SmolLM2 against a time budget", "held-out accuracy, reward, format")
    p, t, e = A.make_parser("python -m models.grpo", __doc__, helps, Settings)
    t.add_argument("--data", default=str(HELDOUT), help="held-out questions (excluded, scored)")
    e.add_argument("--data", default=str(HELDOUT))
    return p


def main(argv: list[str] | None = None) -> None:
    cli.run(parser(), argv, {"train": cmd_train, "evaluate": cmd_evaluate}, A.CLI_ERRORS)


if __name__ == "__main__":
    main(sys.argv[1:])
