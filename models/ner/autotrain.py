"""An AutoTrain Advanced project for the same T5 recipe (autotrain-advanced pins transformers
4.48, so it runs in its own environment: the gallery writes the project, you run it there)."""

from __future__ import annotations

import json
from dataclasses import replace

from lessons import ner_format as nf
from lessons.ner_format import Sentence
from models.ner.config import NerConfig, split

# ---------------------------------------------------------------- AutoTrain


def autotrain_project(sents: list[Sentence], cfg: NerConfig, epochs: int = 3) -> dict[str, str]:
    """The files of an AutoTrain Advanced project for the same recipe: text/target pairs in
    data/, and config.yml (task seq2seq, local backend). Returns {relative path: content}."""
    train, val = split(sents, cfg)
    base = cfg.base or "google-t5/t5-small"
    prefix = cfg.prefix or "ner: "
    tcfg = replace(cfg, prefix=prefix)

    def rows(part: list[Sentence]) -> str:
        return "".join(
            json.dumps({"text": nf.source_text(s.words, tcfg.prefix), "target": nf.target_text(s)})
            + "\n"
            for s in part
        )

    config = f"""# AutoTrain Advanced project: Project 3's T5 NER recipe (written by the gallery)
# Run it in its own environment (autotrain-advanced pins its own transformers):
#   python -m venv .autotrain && .autotrain/bin/pip install autotrain-advanced
#   .autotrain/bin/autotrain --config config.yml
task: seq2seq
base_model: {base}
project_name: t5-ner
log: none
backend: local

data:
  path: data/
  train_split: train
  valid_split: valid
  column_mapping:
    text_column: text
    target_column: target

params:
  max_seq_length: {cfg.max_len}
  max_target_length: {2 * cfg.max_len}
  epochs: {epochs}
  batch_size: {cfg.batch_size}
  lr: {cfg.lr if cfg.base else 5e-4}
  warmup_ratio: 0.1
  weight_decay: {cfg.weight_decay}
  max_grad_norm: 1.0
  optimizer: adamw_torch
  scheduler: cosine
  gradient_accumulation: 1
  mixed_precision: none
  seed: {cfg.seed}

hub:
  push_to_hub: false
"""
    return {"config.yml": config, "data/train.jsonl": rows(train), "data/valid.jsonl": rows(val)}
