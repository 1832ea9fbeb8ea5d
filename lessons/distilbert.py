"""DistilBERT (Sanh et al. 2019): half of BERT's layers, initialised by taking one layer in two.

Sizes come from transformers' own configurations (their defaults are bert-base-uncased and
distilbert-base-uncased), instantiated on the meta device: no weights, no download. The layer
selection is shown on a private copy of MiniLM (6 layers -> 3), never on the shared model.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

# Sanh, Debut, Chaumond, Wolf (2019), "DistilBERT, a distilled version of BERT", arXiv:1910.01108.
PAPER = "https://arxiv.org/abs/1910.01108"
CLAIMS = (
    ("Size", "40% smaller than BERT-base (66M vs 110M parameters)", "abstract, Table 3"),
    ("Speed", "60% faster at inference (410 s vs 668 s, STS-B dev on CPU)", "abstract, Table 3"),
    ("Quality", "97% of BERT's language understanding (GLUE 77.0 vs 79.5)", "abstract, Table 1"),
    ("Init", "student initialised by taking one layer out of two from BERT", "Section 3"),
    ("Removed", "token-type embeddings and the pooler; the layer count is halved", "Section 3"),
)


@dataclass(frozen=True)
class ArchRow:
    name: str
    layers: int
    width: int
    heads: int
    ffn: int
    vocab: int
    params: int


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def base_configs() -> list[ArchRow]:
    """BERT-base vs DistilBERT from their real configurations, parameters counted on meta."""
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel

    bc, dc = BertConfig(), DistilBertConfig()
    with torch.device("meta"):  # shapes only: 0 bytes allocated
        bert, distil = BertModel(bc), DistilBertModel(dc)
    return [
        ArchRow(
            "BERT-base", bc.num_hidden_layers, bc.hidden_size, bc.num_attention_heads,
            bc.intermediate_size, bc.vocab_size, _count(bert),
        ),
        ArchRow(
            "DistilBERT", dc.n_layers, dc.dim, dc.n_heads, dc.hidden_dim, dc.vocab_size,
            _count(distil),
        ),
    ]  # fmt: skip


def every_other(n_layers: int) -> list[int]:
    """DistilBERT's choice: layers 0, 2, 4, ... of the teacher."""
    return list(range(0, n_layers, 2))


def select_layers(model: nn.Module, keep: list[int]) -> nn.Module:
    """A *copy* of a BERT-like encoder keeping only the listed layers (in order)."""
    layers = model.encoder.layer
    if not keep or any(not 0 <= i < len(layers) for i in keep):
        raise ValueError(f"Layers must be chosen from 0..{len(layers) - 1}.")
    student = copy.deepcopy(model)
    student.encoder.layer = nn.ModuleList(student.encoder.layer[i] for i in keep)
    student.config.num_hidden_layers = len(keep)
    return student.eval()


@torch.inference_mode()
def sentence_embeddings(model: nn.Module, tokenizer: Any, texts: list[str]) -> torch.Tensor:
    """Mean-pooled, unit-length sentence vectors (N, C)."""
    enc = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    hidden = model(**enc).last_hidden_state  # (N, T, C)
    m = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (N, T, 1)
    pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (N, C)
    return torch.nn.functional.normalize(pooled, dim=-1)


def latency_ms(model: nn.Module, tokenizer: Any, texts: list[str], repeats: int = 3) -> float:
    """Best-of-`repeats` milliseconds per sentence for one batch of `texts`."""
    sentence_embeddings(model, tokenizer, texts[:2])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        sentence_embeddings(model, tokenizer, texts)
        best = min(best, time.perf_counter() - t0)
    return 1000 * best / len(texts)


def probe_accuracy(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Held-out accuracy of a logistic-regression probe on frozen embeddings (k-fold): how much
    sentiment the vectors carry, without fine-tuning either model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(cross_val_score(LogisticRegression(max_iter=2000), x, y, cv=cv).mean())


def agreement(teacher: torch.Tensor, student: torch.Tensor) -> float:
    """Mean cosine between teacher and student vectors of the same sentences."""
    return float((teacher * student).sum(-1).mean())


def hub_config_params(repo: str) -> int:
    """Parameters of a Hub model counted from its config.json alone (meta device, no weights)."""
    from transformers import AutoConfig, AutoModel

    config = AutoConfig.from_pretrained(repo)
    with torch.device("meta"):
        return _count(AutoModel.from_config(config))


def measure_selection(handle: Any, keep: list[int], texts: list[str], labels) -> dict:
    """Teacher (the handle's encoder) vs a student keeping only the `keep` layers: parameters,
    ms per sentence, probe accuracy on frozen sentence vectors, cosine between the two."""
    with handle.lock:
        teacher, tok = handle.model, handle.tokenizer
        student = select_layers(teacher, keep)  # a private copy
        t_vec = sentence_embeddings(teacher, tok, texts)  # (N, C)
        s_vec = sentence_embeddings(student, tok, texts)  # (N, C)
        t_ms, s_ms = latency_ms(teacher, tok, texts[:64]), latency_ms(student, tok, texts[:64])
    rows = {}
    for name, model, vec, ms in (
        ("teacher", teacher, t_vec, t_ms),
        ("student", student, s_vec, s_ms),
    ):
        rows[name] = {
            "layers": model.config.num_hidden_layers,
            "params": _count(model),
            "ms": ms,
            "probe": probe_accuracy(vec.numpy(), np.asarray(labels)),
        }
    kept = rows["student"]["probe"] / max(rows["teacher"]["probe"], 1e-9)
    return {**rows, "agreement": agreement(t_vec, s_vec), "n": len(texts),
            "speedup": t_ms / max(s_ms, 1e-9), "probe_kept": kept}  # fmt: skip


def real_models(handles: list[Any], texts: list[str]) -> list[dict]:
    """The real checkpoints side by side (BERT-base, DistilBERT when the Hub gives them):
    layers, parameters and measured ms per sentence on this machine."""
    out = []
    for h in handles:
        with h.lock:
            out.append({
                "model": h.choice.label,
                "layers": h.model.config.num_hidden_layers,
                "parameters": _count(h.model),
                "ms / sentence": round(latency_ms(h.model, h.tokenizer, texts), 2),
            })  # fmt: skip
    return out
