"""A small T5 (`T5Config`) trained live on three prefixed tasks: one model, the task in the text.

Offline there is no pre-trained T5 checkpoint, so the T5 page trains this one in a minute:
word lists from a 24-word vocabulary, and three prefixes that ask for three different outputs
from the same words:

    copy: fox owl red      ->  fox owl red
    reverse: fox owl red   ->  red owl fox
    sort: fox owl red      ->  fox owl red   (alphabetical)

It is trained with transformers' `Seq2SeqTrainer` (`models.hf_training`) on T5's usual
cross-entropy, and scored by exact match of greedy `generate` on held-out lists, per prefix.
Its cross-attention then shows the task: a diagonal for copy, an anti-diagonal for reverse.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from models import hf_training as hft
from models.training import Reporter

WORDS = ("ant", "bee", "cat", "cow", "dog", "elk", "emu", "fox", "gnu", "hen", "jay", "owl",
         "pig", "ram", "yak", "red", "tan", "blue", "gold", "gray", "jade", "lime", "pink",
         "teal")  # fmt: skip
TASKS = ("copy", "reverse", "sort")
SPECIALS = ("<pad>", "</s>", "<unk>")


@dataclass(frozen=True)
class TaskConfig:
    min_words: int = 3  # words per input sentence, drawn from WORDS
    max_words: int = 6
    d_model: int = 64  # the small T5 (T5Config), trained from scratch
    d_ff: int = 256
    num_layers: int = 2  # encoder layers, and as many decoder layers
    num_heads: int = 4
    lr: float = 3e-3
    batch_size: int = 64
    n_train: int = 6000
    n_val: int = 90  # 30 per task
    seed: int = 0


def answer(task: str, words: list[str]) -> list[str]:
    if task == "copy":
        return list(words)
    if task == "reverse":
        return list(reversed(words))
    if task == "sort":
        return sorted(words)
    raise ValueError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")


def examples(n: int, cfg: TaskConfig, seed: int) -> list[tuple[str, str]]:
    """(source, target) pairs, the tasks in turn."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        task = TASKS[i % len(TASKS)]
        words = rng.choices(WORDS, k=rng.randint(cfg.min_words, cfg.max_words))
        out.append((f"{task}: " + " ".join(words), " ".join(answer(task, words))))
    return out


def tokenizer():
    """One token per word: the prefixes, the 24 words, and T5's three specials."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate([*SPECIALS, *(f"{t}:" for t in TASKS), *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", vocab["</s>"])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def build(cfg: TaskConfig, tok):
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(cfg.seed)
    config = T5Config(
        vocab_size=len(tok), d_model=cfg.d_model, d_kv=cfg.d_model // cfg.num_heads,
        d_ff=cfg.d_ff, num_layers=cfg.num_layers, num_heads=cfg.num_heads,
        relative_attention_num_buckets=16, relative_attention_max_distance=32,
        dropout_rate=0.0, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id, attn_implementation="eager",
    )  # fmt: skip
    return T5ForConditionalGeneration(config)


@torch.no_grad()
def generate(model, tok, sources: list[str], max_new: int = 12) -> list[str]:
    enc = tok(sources, padding=True, return_tensors="pt").to(model.device)
    ids = model.generate(**enc, max_new_tokens=max_new, do_sample=False, num_beams=1)
    return [" ".join(tok.decode(i, skip_special_tokens=True).split()) for i in ids]


def accuracy(model, tok, pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Exact-match accuracy of greedy generation, per task prefix."""
    model.eval()
    got = generate(model, tok, [s for s, _ in pairs])
    out = {}
    for task in TASKS:
        hits = [g == t for (s, t), g in zip(pairs, got, strict=True) if s.startswith(task)]
        out[task] = sum(hits) / max(len(hits), 1)
    return out


@dataclass
class Trained:
    model: object
    tokenizer: object
    cfg: TaskConfig
    fit: hft.Fit
    val: list[tuple[str, str]]


def train(cfg: TaskConfig, budget_s: float, reporter: Reporter | None = None) -> Trained:
    """Train the small T5 on the three tasks for `budget_s` seconds, best mean accuracy kept."""
    tok = tokenizer()
    model = build(cfg, tok)
    val = examples(cfg.n_val, cfg, seed=cfg.seed + 1)

    def encode(src: str, tgt: str) -> dict:
        return {"input_ids": tok(src)["input_ids"], "labels": tok(tgt)["input_ids"]}

    data = [encode(s, t) for s, t in examples(cfg.n_train, cfg, cfg.seed)]
    from transformers import DataCollatorForSeq2Seq

    def score(m) -> dict:
        acc = accuracy(m, tok, val)
        row = {f"acc_{t}": round(a, 3) for t, a in acc.items()}
        row["val_acc"] = round(sum(acc.values()) / len(acc), 3)
        return row

    fit = hft.train_budgeted(
        hft.MeteredSeq2SeqTrainer, model, data, DataCollatorForSeq2Seq(tok, model=model), score,
        budget_s=budget_s, lr=cfg.lr, batch_size=cfg.batch_size, warmup_steps=50,
        seed=cfg.seed, key="val_acc", reporter=reporter,
    )  # fmt: skip
    return Trained(model, tok, cfg, fit, val)
