"""Fill-mask: what a masked-LM head predicts at a [MASK] position.

The pre-training head is a small network over the last hidden layer (dense + GELU + LayerNorm,
then a projection onto the vocabulary, tied to the input embeddings). Softmax over the
vocabulary at each masked position gives the model's guesses.

The embedded MiniLM (all-MiniLM-L6-v2) was re-trained as a sentence-embedding model and shipped
without that head, so it cannot fill masks: a real fill-mask needs a Hub BERT or RoBERTa.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from models import network, registry

MLM_KEYS = ("bert-base-uncased", "roberta-base")  # registry keys of the Hub encoders
PLACEHOLDER = "[MASK]"  # what the user types; each model gets its own mask token
MAX_MASKS = 5

NO_HEAD_NOTE = (
    "The embedded MiniLM has no masked-LM head: sentence-transformers kept only the encoder "
    "(its pre-training head was dropped when it was re-trained for sentence embeddings), so it "
    "cannot fill a [MASK]. Fill-mask needs BERT or RoBERTa from the Hugging Face Hub."
)


class FillMaskError(ValueError):
    """Readable problem with the input or the model (shown as a message, never a trace)."""


@dataclass(frozen=True)
class Guess:
    token: str  # decoded text of the predicted token
    token_id: int
    prob: float


def unavailable_reason(key: str) -> str | None:
    """None when the Hub model can be loaded (online or cached), else why not."""
    choice = registry.get_choice(key)
    if choice.available():
        return None
    return f"{NO_HEAD_NOTE} The Hub is unreachable ({network.detect().reason})."


def load_mlm(key: str) -> tuple[Any, Any]:
    """(tokenizer, AutoModelForMaskedLM) for a Hub key; FillMaskError when it cannot be had."""
    reason = unavailable_reason(key)
    if reason:
        raise FillMaskError(reason)
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    repo = registry.get_choice(key).repo
    try:
        tok = AutoTokenizer.from_pretrained(repo)
        model = AutoModelForMaskedLM.from_pretrained(repo, attn_implementation="eager").eval()
    except Exception as exc:  # network drop mid-download, corrupt cache …
        raise FillMaskError(f"Could not load {repo}: {type(exc).__name__}: {exc}") from exc
    return tok, model


def with_mask_token(text: str, tokenizer: Any) -> str:
    """Replace the typed placeholder by this tokenizer's mask token ([MASK] or <mask>)."""
    if PLACEHOLDER not in text:
        raise FillMaskError(f"Put {PLACEHOLDER} where the model should guess a word.")
    if text.count(PLACEHOLDER) > MAX_MASKS:
        raise FillMaskError(f"At most {MAX_MASKS} {PLACEHOLDER} at once.")
    return text.replace(PLACEHOLDER, tokenizer.mask_token)


@torch.inference_mode()
def fill_mask(tokenizer: Any, model: Any, text: str, top_k: int = 5) -> list[list[Guess]]:
    """Top-k guesses for each [MASK] in `text`, left to right."""
    enc = tokenizer(
        with_mask_token(text, tokenizer), truncation=True, max_length=256, return_tensors="pt"
    ).to(model.device)
    where = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero().squeeze(1)  # (M,)
    if len(where) == 0:
        raise FillMaskError("The [MASK] was cut off: the text is longer than 256 tokens.")
    logits = model(**enc).logits[0, where]  # (M, V)
    probs = logits.float().softmax(-1)  # (M, V)
    top = probs.topk(top_k, dim=-1)  # values, indices: (M, k)
    return [
        [
            Guess(tokenizer.decode([i]).strip(), i, p)
            for p, i in zip(row_p.tolist(), row_i.tolist(), strict=True)
        ]
        for row_p, row_i in zip(top.values, top.indices, strict=True)
    ]
