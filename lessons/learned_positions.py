"""Learned absolute positions (BERT, GPT-2): one trained vector per position index.

BERT adds row p of a (max_positions, d) matrix to the token embedding at position p. Nothing forces
any structure on these rows; training discovers that neighbouring positions should look alike.
The table also fixes a hard limit: there is no row for position max_positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class PositionTable:
    weight: np.ndarray  # (P, d) float32, row 0 = the first real position
    first_row: int  # rows skipped in the model's matrix (RoBERTa starts at padding_idx + 1)

    @property
    def n_positions(self) -> int:
        return self.weight.shape[0]


@torch.no_grad()
def position_table(model: torch.nn.Module) -> PositionTable:
    """Copy a BERT-like encoder's position matrix to numpy (call it under the model's lock)."""
    emb = getattr(model, "embeddings", None)
    table = getattr(emb, "position_embeddings", None)
    if not isinstance(table, torch.nn.Embedding):
        raise ValueError(
            f"{type(model).__name__} has no learned absolute position table "
            "(embeddings.position_embeddings); it may use relative or rotary positions."
        )
    # RoBERTa numbers positions from padding_idx + 1; its first rows are never used for text.
    first = 0
    if "roberta" in type(model).__name__.lower() and getattr(emb, "padding_idx", None) is not None:
        first = int(emb.padding_idx) + 1
    with torch.no_grad():
        weight = table.weight[first:].detach().float().cpu().numpy().copy()  # (P, d)
    return PositionTable(weight=weight, first_row=first)


def cosine_matrix(weight: np.ndarray) -> np.ndarray:
    """cos(p, q) between every pair of position vectors."""
    unit = weight / np.linalg.norm(weight, axis=1, keepdims=True).clip(min=1e-12)  # (P, d)
    return unit @ unit.T  # (P, P)


def neighbour_similarity(
    cos: np.ndarray, p: int, max_distance: int
) -> tuple[np.ndarray, np.ndarray]:
    """cos(p, p + k) for k in [-max_distance, max_distance], clipped to the table."""
    lo, hi = max(0, p - max_distance), min(cos.shape[0] - 1, p + max_distance)
    ks = np.arange(lo, hi + 1) - p  # (K,)
    return ks, cos[p, lo : hi + 1]  # (K,), (K,)


def mean_similarity_by_distance(cos: np.ndarray, max_distance: int) -> np.ndarray:
    """Average of cos(p, p + k) over all p, for k = 0..max_distance (the mean diagonal)."""
    n = cos.shape[0]
    return np.array(
        [np.diagonal(cos, offset=k).mean() for k in range(min(max_distance, n - 1) + 1)]
    )


def sentence_positions(tokenizer, text: str, n_positions: int) -> tuple[list[str], int]:
    """The tokens of `text` that get a position row (at most n_positions), and how many tokens
    the whole text has. Special-token strings in the text stay text (split_special_tokens)."""
    full = tokenizer(text, split_special_tokens=True)["input_ids"]
    ids = tokenizer(text, split_special_tokens=True, truncation=True, max_length=n_positions)[
        "input_ids"
    ]
    return tokenizer.convert_ids_to_tokens(ids), len(full)


def mirrored_mean(mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean similarity by distance (k = 0..K) drawn on both sides: k = -K..K."""
    ks = np.r_[-np.arange(len(mean))[::-1], np.arange(1, len(mean))]  # (2K+1,)
    return ks, np.r_[mean[::-1], mean[1:]]
