"""Sentence embeddings and search: mean pooling, unit vectors, cosine ranking.

An encoder (MiniLM-L6, trained for this) turns a sentence into one vector: the mean of its token
vectors over the real tokens (padding excluded), scaled to unit length. The dot product of two
unit vectors is their cosine, so ranking passage sentences against a question is one matrix
product: that is extractive question answering without a QA head. Zero-shot classification
(`lessons.zero_shot`) and extractive summaries (`lessons.extractive`) stand on the same `embed`.
No Streamlit here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass
class EmbedConfig:
    max_length: int = 256  # MiniLM was trained on 256-token inputs; longer is cut
    batch_size: int = 32


def mean_pool(last_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average the real tokens' vectors; padding does not count."""
    m = mask.unsqueeze(-1).to(last_hidden.dtype)  # (B, T, 1)
    return (last_hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, C)


def embed(handle: Any, texts: list[str], cfg: EmbedConfig | None = None) -> torch.Tensor:
    """Unit-length sentence embeddings (N, C) from any BERT-like encoder handle."""
    cfg = cfg or EmbedConfig()
    chunks = []
    with handle.lock, torch.inference_mode():
        for i in range(0, len(texts), cfg.batch_size):
            enc = handle.tokenizer(
                texts[i : i + cfg.batch_size],
                padding=True,
                truncation=True,
                max_length=cfg.max_length,
                return_tensors="pt",
            ).to(handle.model.device)
            hidden = handle.model(**enc).last_hidden_state  # (B, T, C)
            chunks.append(mean_pool(hidden, enc["attention_mask"]).float().cpu())  # (B, C)
    return F.normalize(torch.cat(chunks), dim=-1)  # (N, C)


@dataclass(frozen=True)
class Span:
    start: int  # character offsets into the original text: text[start:end]
    end: int
    text: str


_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+[\"')\]]*|\n|$)")


def split_sentences(passage: str) -> list[Span]:
    """Sentences with their offsets; a rule (end punctuation or newline), not a parser."""
    spans = []
    for m in _SENTENCE.finditer(passage):
        raw = m.group()
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if any(ch.isalnum() for ch in body):
            start = m.start() + lead
            spans.append(Span(start, start + len(body), body))
    return spans


@dataclass
class RankedSentence:
    span: Span
    score: float  # cosine(question, sentence)


def rank_sentences(handle: Any, question: str, passage: str) -> list[RankedSentence]:
    """Passage sentences, most similar to the question first."""
    spans = split_sentences(passage)
    if not spans:
        return []
    e = embed(handle, [question, *(s.text for s in spans)])  # (1 + S, C)
    scores = (e[1:] @ e[0]).tolist()  # (S,)
    ranked = [RankedSentence(s, sc) for s, sc in zip(spans, scores, strict=True)]
    return sorted(ranked, key=lambda r: -r.score)


def margin(scores: list[float]) -> float:
    """How far the winner is ahead of the runner-up (0 when there is only one)."""
    top = sorted(scores, reverse=True)
    return top[0] - top[1] if len(top) > 1 else 0.0
