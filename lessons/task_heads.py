"""Task heads: models trained for one job, read the way their heads were trained.

- an extractive QA head (SQuAD) scores every token as the answer's start and end: the answer is
  the passage span with the best start + end score;
- a sequence classification head gives one probability per class (Project 1's classifier, SST-2);
- an encoder-decoder (Marian, T5, BART) writes its output from scratch, token by token.
Any handle with .tokenizer / .model / .lock works. Token classification (NER) is in
`lessons.ner_parsing`. No Streamlit here.
"""

from __future__ import annotations

from typing import Any

import torch

from lessons.sentence_search import Span


def squad_span(handle: Any, question: str, passage: str, max_answer_tokens: int = 30) -> Span:
    """The passage span maximising start_logit + end_logit, start <= end, inside the passage."""
    tok, model = handle.tokenizer, handle.model
    with handle.lock, torch.inference_mode():
        enc = tok(
            question,
            passage,
            truncation="only_second",
            max_length=384,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping")[0].tolist()  # (T, 2) char offsets
        in_passage = torch.tensor([sid == 1 for sid in enc.sequence_ids(0)])  # (T,)
        out = model(**enc.to(model.device))
    start, end = out.start_logits[0].float().cpu(), out.end_logits[0].float().cpu()  # (T,)
    pair = start[:, None] + end[None, :]  # (T, T): score of answer tokens i..j
    t = torch.arange(len(start))
    length = t[None, :] - t[:, None]  # (T, T): j - i
    ok = (length >= 0) & (length < max_answer_tokens) & in_passage[:, None] & in_passage[None, :]
    if not ok.any():
        raise ValueError("The passage has no tokens left after truncation.")
    best = int(pair.masked_fill(~ok, float("-inf")).argmax())
    i, j = divmod(best, len(start))
    a, b = offsets[i][0], offsets[j][1]
    return Span(a, b, passage[a:b])


def sequence_labels(handle: Any, text: str, max_length: int = 512) -> list[tuple[str, float]]:
    """(label, probability) for a sequence classifier, most likely first.

    A transformers head returns `.logits` and names its classes in `config.id2label`. Project 1's
    classifier (`models.sentiment_model`) is a plain module: `model(input_ids, mask)` returns
    (logits, attention) and its classes are negative, positive; it reads 64 tokens.
    """
    tok, model = handle.tokenizer, handle.model
    names = getattr(getattr(model, "config", None), "id2label", None)
    with handle.lock, torch.inference_mode():
        if names:
            enc = tok(text, truncation=True, max_length=max_length, return_tensors="pt")
            logits = model(**enc.to(model.device)).logits[0]  # (num_labels,)
        else:
            from models.sentiment_model import LABELS

            names = dict(enumerate(LABELS))
            enc = tok(text, truncation=True, max_length=64, return_tensors="pt")
            dev = next(model.parameters()).device
            mask = enc["attention_mask"].bool().to(dev)  # (1, T)
            logits = model(enc["input_ids"].to(dev), mask)[0][0]  # (2,)
        probs = torch.softmax(logits.float(), dim=-1).cpu()  # (num_labels,)
    labels = [str(names[i]) for i in range(len(probs))]
    return sorted(zip(labels, probs.tolist(), strict=True), key=lambda p: -p[1])


def seq2seq_generate(handle: Any, text: str, max_new_tokens: int = 128) -> str:
    """Encoder-decoder generation (Marian, T5): the decoder writes the output from scratch."""
    tok, model = handle.tokenizer, handle.model
    with handle.lock, torch.inference_mode():
        enc = tok(text, truncation=True, max_length=512, return_tensors="pt").to(model.device)
        out = model.generate(
            input_ids=enc["input_ids"],  # (1, T) only ids and mask: not every model takes more
            attention_mask=enc["attention_mask"],
            max_new_tokens=max_new_tokens,
            num_beams=1,
            do_sample=False,
        )  # (1, T_out)
        return tok.decode(out[0], skip_special_tokens=True).strip()
