"""A tiny random Llama with SmolLM2's tokenizer and chat template: TRL runs on it in seconds."""

from __future__ import annotations

import threading

import torch

from models.handle import Handle
from models.registry import SMOLLM2
from models.training import Recorder


def tiny_handle(tokenizer, seed: int = 0) -> Handle:
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return Handle(SMOLLM2, tokenizer, model, threading.RLock(), "cpu")


def checksum(model) -> float:
    return float(sum(p.detach().double().abs().sum() for p in model.parameters()))


class StopAfter(Recorder):
    """A reporter that asks the trainer to stop after `n` logged metric rows."""

    def __init__(self, n: int, key: str) -> None:
        super().__init__()
        self.n, self.key = n, key

    def should_stop(self) -> bool:
        return sum(self.key in r for r in self.rows) >= self.n


def build_reduced(name: str, steps: int) -> None:
    """`make prepare`'s own step `name` (the project's command on assets/ data, record and log
    included), cut to `steps` optimizer steps: a tiny real adapter on SmolLM2 for page tests."""
    from dataclasses import replace

    from models import prepared

    step = prepared.step(name)
    argv = list(step.argv)
    argv[argv.index("--minutes") + 1] = "3"
    prepared.run_step(replace(step, argv=(*argv, "--max-steps", str(steps))), log=lambda _: None)
