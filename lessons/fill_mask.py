"""Fill-mask: what a masked-LM head predicts at a [MASK] position, and a decoder's stand-in.

The pre-training head is a small network over the last hidden layer (dense + GELU + LayerNorm,
then a projection onto the vocabulary, tied to the input embeddings). Softmax over the
vocabulary at each masked position gives the model's guesses; the model reads the words on both
sides of the gap.

The embedded MiniLM (all-MiniLM-L6-v2) is a sentence-embedding checkpoint: it was distilled and
fine-tuned for sentence vectors and shipped without that head, so it cannot fill masks. Offline,
the page shows what the embedded *decoder* (SmolLM2) does with the same sentence instead: it reads
only the text before the gap and ranks the next token (`next_token_view`). Labelled as such: a
causal LM never sees the right-hand context a masked LM uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

PLACEHOLDER = "[MASK]"  # what the user types; each model gets its own mask token
MAX_MASKS = 5
MAX_TOKENS = 256

NO_HEAD_NOTE = (
    "The embedded MiniLM is a sentence-embedding checkpoint with no masked-LM head "
    "(sentence-transformers kept only the encoder), so it cannot fill a [MASK]. BERT and RoBERTa "
    "need the Hugging Face Hub or a copy in its local cache."
)


class FillMaskError(ValueError):
    """Readable problem with the input or the model (shown as a message, never a trace)."""


@dataclass(frozen=True)
class Guess:
    token: str  # decoded text of the predicted token
    token_id: int
    prob: float


def with_mask_token(text: str, tokenizer: Any) -> str:
    """Replace the typed placeholder by this tokenizer's mask token ([MASK] or <mask>)."""
    if PLACEHOLDER not in text:
        raise FillMaskError(f"Put {PLACEHOLDER} where the model should guess a word.")
    if text.count(PLACEHOLDER) > MAX_MASKS:
        raise FillMaskError(f"At most {MAX_MASKS} {PLACEHOLDER} at once.")
    return text.replace(PLACEHOLDER, tokenizer.mask_token)


def _top(probs: torch.Tensor, tokenizer: Any, top_k: int) -> list[Guess]:
    top = probs.topk(min(top_k, probs.numel()))  # values, indices: (k,)
    return [
        Guess(tokenizer.decode([i]).strip() or repr(tokenizer.decode([i])), i, p)
        for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)
    ]


@torch.inference_mode()
def fill_mask(handle: Any, text: str, top_k: int = 5) -> list[list[Guess]]:
    """Top-k guesses of a masked LM (a handle of kind masked-lm) for each [MASK], left to right."""
    with handle.lock:
        tok, model = handle.tokenizer, handle.model
        enc = tok(
            with_mask_token(text, tok), truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        ).to(model.device)
        where = (enc["input_ids"][0] == tok.mask_token_id).nonzero().squeeze(1)  # (M,)
        if len(where) == 0:
            raise FillMaskError(f"The [MASK] was cut off: the text is over {MAX_TOKENS} tokens.")
        probs = model(**enc).logits[0, where].float().softmax(-1).cpu()  # (M, V)
        return [_top(row, tok, top_k) for row in probs]


@dataclass
class NextTokens:
    prefix: str  # the text up to the first [MASK]: all a left-to-right model reads
    guesses: list[Guess]
    cut: bool  # the prefix was longer than MAX_TOKENS tokens and was cut to its last ones


@torch.inference_mode()
def next_token_view(handle: Any, text: str, top_k: int = 8) -> NextTokens:
    """A causal LM's guesses for the token after the text before the first [MASK]."""
    if PLACEHOLDER not in text:
        raise FillMaskError(f"Put {PLACEHOLDER} where the model should guess a word.")
    prefix = text.split(PLACEHOLDER, 1)[0].rstrip()
    if not prefix:
        raise FillMaskError(
            "The [MASK] is at the very start: a left-to-right model has nothing to read before it."
        )
    with handle.lock:
        tok, model = handle.tokenizer, handle.model
        ids = tok(prefix, split_special_tokens=True, add_special_tokens=False)["input_ids"]
        cut = len(ids) > MAX_TOKENS
        ids = ids[-MAX_TOKENS:]  # (T,) the words nearest the gap matter most
        x = torch.tensor([ids], device=model.device)  # (1, T)
        probs = model(input_ids=x).logits[0, -1].float().softmax(-1).cpu()  # (V,)
        return NextTokens(prefix, _top(probs, tok, top_k), cut)
