"""Fine-tuning techniques on one encoder: what each one trains, what it costs, what it forgets.

Every technique starts from the same pre-trained encoder (a private copy) with the same
mean-pooling classifier on top, and differs only in *which* parameters get gradients:

    full     every weight                          (22.7 M on MiniLM)
    head     the linear head only: a probe on frozen features
    last_k   the last k transformer layers + head
    bitfit   every bias + head (Ben Zaken et al. 2021)
    lora     low-rank updates B·A beside the query/value projections (peft, Hu et al. 2021)
    ia3      learned scaling vectors on keys, values and the FFN (peft, Liu et al. 2022)
    prompt   a few trainable input embeddings in front of the text (peft, Lester et al. 2021)

Trainable counts are peft's own (`PeftModel.get_nb_trainable_parameters`, applied to the plain
models too: it only walks `named_parameters`). Memory is weights + gradients + AdamW's two states
+ the activations autograd saves for the backward pass (counted with saved-tensor hooks on one
real batch; on CUDA the allocator's peak is used instead). Forgetting is the encoder's sentence-
similarity score (Spearman of cosine vs human scores) before and after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lessons.architecture import mean_pool
from lessons.distilbert import sentence_embeddings

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "assets" / "finetuning" / "similarity_pairs.jsonl"


@dataclass(frozen=True)
class Technique:
    key: str
    label: str
    trains: str  # what gets gradients, in words
    lr: float  # its usual step size: few parameters need larger steps
    peft: bool  # wrapped by peft (else: requires_grad flags on the plain model)


TECHNIQUES: dict[str, Technique] = {
    t.key: t
    for t in (
        Technique("full", "Full fine-tune", "every weight", 5e-5, False),
        Technique("head", "Frozen encoder + head", "the linear head", 3e-3, False),
        Technique("last_k", "Last-k layers", "the last k layers and the head", 1e-4, False),
        Technique("bitfit", "BitFit", "every bias and the head", 2e-3, False),
        Technique("lora", "LoRA", "B·A beside query and value, and the head", 1e-3, True),
        Technique(
            "ia3", "(IA)³", "scaling vectors on key, value and FFN, and the head", 5e-3, True
        ),
        Technique("prompt", "Prompt tuning", "virtual input tokens and the head", 2e-2, True),
    )
}


@dataclass(frozen=True)
class TechniqueConfig:
    last_k: int = 2  # "last-k layers": how many top encoder layers train
    lora_r: int = 8  # LoRA's rank r and scale α (ΔW = α/r · B·A) on query and value
    lora_alpha: int = 16
    prompt_tokens: int = 10  # prompt tuning: trainable virtual tokens before every input
    prompt_init: str = "classify the sentiment of this movie review"
    n_classes: int = 2


class MeanPoolClassifier(nn.Module):
    """encoder -> mean of the real tokens -> linear head. The head is called `classifier`, the
    name peft keeps trainable (`modules_to_save`) for sequence classification."""

    def __init__(self, encoder: nn.Module, n_classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config  # peft reads the model type and sizes from it
        self.classifier = nn.Linear(encoder.config.hidden_size, n_classes)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    @property
    def device(self) -> torch.device:  # peft's prompt encoder asks the model for its device
        return self.classifier.weight.device

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, labels=None, **_):
        out = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, inputs_embeds=inputs_embeds
        )
        pooled = mean_pool(out.last_hidden_state, attention_mask)  # (B, C)
        logits = self.classifier(pooled)  # (B, n_classes)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return {"loss": loss, "logits": logits}


_ATTN = r".*\.layer\.\d+\.attention\.self"
_FFN_OUT = r".*\.layer\.\d+\.output\.dense"  # the FFN's second linear: (IA)³ scales its input


def peft_config(key: str, cfg: TechniqueConfig, tokenizer_path: str | None = None):
    """The peft configuration of a peft technique (BERT-family module names)."""
    import peft

    if key == "lora":
        return peft.LoraConfig(
            task_type="SEQ_CLS",
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=0.0,
            target_modules=["query", "value"],
        )
    if key == "ia3":
        return peft.IA3Config(
            task_type="SEQ_CLS",
            # Regexes (peft full-matches a string): "output.dense" alone would also catch the
            # attention block's output projection; the FFN's is layer.N.output.dense.
            target_modules=rf"{_ATTN}\.(key|value)|{_FFN_OUT}",
            feedforward_modules=_FFN_OUT,
        )
    if key == "prompt":
        init = {"prompt_tuning_init": "RANDOM"}
        if tokenizer_path:  # start from the embeddings of a real instruction
            init = {
                "prompt_tuning_init": "TEXT",
                "prompt_tuning_init_text": cfg.prompt_init,
                "tokenizer_name_or_path": tokenizer_path,
            }
        return peft.PromptTuningConfig(
            task_type="SEQ_CLS", num_virtual_tokens=cfg.prompt_tokens, **init
        )
    raise ValueError(f"{key!r} is not a peft technique")


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    if "layer" in parts:
        i = parts.index("layer") + 1
        if i < len(parts) and parts[i].isdigit():
            return int(parts[i])
    return None


def apply(
    key: str,
    encoder: nn.Module,
    cfg: TechniqueConfig = TechniqueConfig(),
    tokenizer_path: str | None = None,
) -> nn.Module:
    """Put a head on `encoder` (a private copy: this changes it) and make only the technique's
    parameters trainable. peft techniques return peft's wrapper."""
    if key not in TECHNIQUES:
        raise ValueError(f"unknown technique {key!r}; choose from {', '.join(TECHNIQUES)}")
    model = MeanPoolClassifier(encoder, cfg.n_classes)
    if TECHNIQUES[key].peft:
        import peft

        return peft.get_peft_model(model, peft_config(key, cfg, tokenizer_path))
    n_layers = encoder.config.num_hidden_layers
    first = n_layers - max(1, min(cfg.last_k, n_layers))
    for name, p in model.named_parameters():
        layer = _layer_index(name)
        p.requires_grad_(
            key == "full"
            or name.startswith("classifier.")
            or (key == "bitfit" and name.endswith(".bias"))
            or (key == "last_k" and layer is not None and layer >= first)
        )
    return model


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, all) as peft counts them. peft's method only walks `named_parameters`, so it
    counts the plain models (full, head, last-k, BitFit) exactly as it counts its own."""
    from peft import PeftModel

    return PeftModel.get_nb_trainable_parameters(model)


def classifier_of(model: nn.Module) -> MeanPoolClassifier:
    """The MeanPoolClassifier inside a (possibly peft-wrapped) model."""
    for m in model.modules():
        if isinstance(m, MeanPoolClassifier):
            return m
    raise TypeError("not a MeanPoolClassifier")


def encoder_of(model: nn.Module) -> nn.Module:
    """The encoder as the technique left it (LoRA/(IA)³ layers sit inside it and are active)."""
    return classifier_of(model).encoder


def logits(model: nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    out = model(input_ids=input_ids, attention_mask=mask.long())
    return out["logits"] if isinstance(out, dict) else out.logits  # (B, n_classes)


# --- memory ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    weights: int  # bytes of every parameter (frozen ones too: they sit in memory)
    gradients: int  # one gradient per trainable parameter
    optimizer: int  # AdamW keeps two moments per trainable parameter
    activations: int  # what autograd saved for the backward of one batch

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations


def saved_activation_bytes(model: nn.Module, input_ids, mask, labels) -> int:
    """Bytes of the tensors autograd keeps for the backward pass of one batch (parameters
    excluded; shared storages counted once). A frozen bottom needs no saved activations."""
    param_ptrs = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in param_ptrs:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(input_ids=input_ids, attention_mask=mask.long(), labels=labels)
    loss = out["loss"] if isinstance(out, dict) else out.loss
    del loss, out
    return sum(seen.values())


def memory(model: nn.Module, input_ids, mask, labels) -> Memory:
    params = list(model.parameters())
    weights = sum(p.numel() * p.element_size() for p in params)
    trainable = sum(p.numel() * p.element_size() for p in params if p.requires_grad)
    return Memory(
        weights, trainable, 2 * trainable, saved_activation_bytes(model, input_ids, mask, labels)
    )


# --- forgetting: the encoder's sentence similarity ---------------------------------------------


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float  # 0 (unrelated) .. 5 (same meaning), written by hand for the gallery


def read_pairs(path: str | Path = PAIRS) -> list[Pair]:
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            pairs.append(Pair(obj["a"], obj["b"], float(obj["score"])))
    return pairs


def spearman(x: list[float], y: list[float]) -> float:
    """Rank correlation (ties get their average rank), as in STS benchmarks."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def cosines(encoder: nn.Module, tokenizer: Any, pairs: list[Pair]) -> list[float]:
    was = encoder.training
    encoder.eval()
    try:
        a = sentence_embeddings(encoder, tokenizer, [p.a for p in pairs])  # (N, C) unit length
        b = sentence_embeddings(encoder, tokenizer, [p.b for p in pairs])  # (N, C)
    finally:
        encoder.train(was)
    return (a * b).sum(-1).tolist()  # (N,) cosine of each pair


def similarity_score(encoder: nn.Module, tokenizer: Any, pairs: list[Pair]) -> float:
    """Spearman × 100 between the encoder's cosines and the human scores of the pairs."""
    return 100 * spearman(cosines(encoder, tokenizer, pairs), [p.score for p in pairs])
