"""Contextual embeddings: the same word gets a different vector in every sentence.

An encoder's *input* embedding of "bank" is one row of its vocabulary table: identical in
"the river bank" and "my bank account". After 6 (MiniLM) or 12 (BERT) layers of self-attention
the *output* vector of that token has mixed in its neighbours, so the two differ. A word split
into several WordPiece pieces ("em", "##bed", "##ding") gets the mean of its pieces' vectors.

Sentence embeddings are the mean of all token vectors (`lessons.sentence_search.embed`, how
all-MiniLM-L6-v2 was trained): cosine similarity between them ranks paraphrases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from lessons.sentence_search import EmbedConfig, embed


@dataclass(frozen=True)
class WordConfig:
    max_length: int = 128  # tokens per sentence; a word cut off by truncation counts as missing


@dataclass
class WordVectors:
    sentences: list[str]  # the sentences where the word was found, in order
    pieces: list[list[str]]  # the word's tokenizer pieces in each of them
    contextual: torch.Tensor  # (N, C) last hidden layer, mean over the word's pieces
    static: torch.Tensor  # (N, C) input embedding table rows, mean over the same pieces
    missing: list[str] = field(default_factory=list)  # sentences without the word


def find_word(text: str, word: str) -> tuple[int, int] | None:
    """Character span of the first whole-word, case-insensitive occurrence of `word`."""
    word = word.strip()
    if not word:
        return None
    # Look-arounds instead of \b: a "word" may start or end with a symbol or an emoji.
    m = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def cosine_matrix(x: torch.Tensor) -> torch.Tensor:
    """(N, C) -> (N, N) cosine similarities."""
    x = F.normalize(x.float(), dim=-1)
    return x @ x.T


def off_diagonal_range(sim: torch.Tensor) -> tuple[float, float] | None:
    """(lowest, highest) cosine between two *different* rows of an (N, N) matrix; None if N < 2."""
    n = sim.shape[0]
    if n < 2:
        return None
    off = sim[~torch.eye(n, dtype=torch.bool)]  # (N² − N,)
    return off.min().item(), off.max().item()


def word_vectors(
    handle: Any, sentences: list[str], word: str, cfg: WordConfig | None = None
) -> WordVectors:
    """The vectors of `word` in each sentence, before (input table) and after the encoder."""
    cfg = cfg or WordConfig()
    spans = [find_word(s, word) for s in sentences]
    kept = [i for i, span in enumerate(spans) if span is not None]
    out_sentences, pieces, ctx, stat = [], [], [], []
    missing = [s for s, span in zip(sentences, spans, strict=True) if span is None]
    if kept:
        with handle.lock, torch.inference_mode():
            tok, model = handle.tokenizer, handle.model
            enc = tok(
                [sentences[i] for i in kept],
                padding=True,
                truncation=True,
                max_length=cfg.max_length,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = enc.pop("offset_mapping")  # (N, T, 2)
            enc = enc.to(model.device)
            hidden = model(**enc).last_hidden_state.float().cpu()  # (N, T, C)
            # Only the vocabulary table: no position or segment embedding, so no context at all.
            table = model.get_input_embeddings()(enc["input_ids"]).float().cpu()  # (N, T, C)
            for row, i in enumerate(kept):
                start, end = spans[i]
                s, e = offsets[row, :, 0], offsets[row, :, 1]  # (T,)
                # Tokens that overlap the word; special and padding tokens cover (0, 0).
                hit = ((e > s) & (s < end) & (e > start)).nonzero().squeeze(1)  # (k,)
                if len(hit) == 0:  # the word lies past the truncation point
                    missing.append(sentences[i])
                    continue
                out_sentences.append(sentences[i])
                pieces.append(tok.convert_ids_to_tokens(enc["input_ids"][row, hit].tolist()))
                ctx.append(hidden[row, hit].mean(0))  # (C,)
                stat.append(table[row, hit].mean(0))  # (C,)
    width = handle.model.config.hidden_size
    empty = torch.zeros(0, width)
    return WordVectors(
        out_sentences,
        pieces,
        torch.stack(ctx) if ctx else empty,
        torch.stack(stat) if stat else empty,
        missing,
    )


def sentence_similarity(handle: Any, sentences: list[str], max_length: int = 256) -> torch.Tensor:
    """(N, N) cosine similarities of mean-pooled sentence embeddings."""
    e = embed(handle, sentences, EmbedConfig(max_length=max_length))  # (N, C), unit length
    return e @ e.T
