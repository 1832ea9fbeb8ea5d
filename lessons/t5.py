"""T5: text-to-text with task prefixes, relative position buckets, and what its three kinds of
attention look at.

- Every task is text in, text out: the task is named by a prefix ("translate English to German:",
  "summarize:", "cola sentence:"), so one model, one loss and one decoding loop serve them all.
- T5 has no position embeddings. Each attention layer's first block adds a learned scalar per
  head to the score of query i and key j, looked up by the *bucket* of j - i: exact buckets for
  small distances, logarithmically wider ones up to `max_distance`, one bucket beyond. The
  encoder's buckets are bidirectional (left and right get separate halves); the decoder's are
  causal. Cross-attention has no position bias at all.
- A SentencePiece (Unigram) vocabulary writes a word boundary as "▁", so the text comes back
  exactly from the pieces; `unigram_tokenizer` trains one offline with `tokenizers`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------- the tokenizer


def unigram_tokenizer(lines: Iterable[str], vocab_size: int, specials: list[str]):
    """A SentencePiece-style Unigram tokenizer (Metaspace "▁" word boundaries, case kept,
    `</s>` appended) trained on `lines`, as a transformers fast tokenizer. `specials` come
    first in the vocabulary, in order: ["<pad>", "</s>", "<unk>", ...] as in T5."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    pad, eos, unk = specials[:3]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=list(specials), unk_token=unk, show_progress=False
    )
    tok.train_from_iterator(lines, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"$A {eos}", special_tokens=[(eos, tok.token_to_id(eos))]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=pad, eos_token=eos, unk_token=unk,
        additional_special_tokens=list(specials[3:]),
    )  # fmt: skip


# ---------------------------------------------------------------- relative position buckets


def relative_bucket(
    relative_position: np.ndarray | int,
    bidirectional: bool = True,
    num_buckets: int = 32,
    max_distance: int = 128,
) -> np.ndarray:
    """T5's bucket of `relative_position` = key position - query position (Mesh TensorFlow's
    rule, re-derived): half the buckets (per direction) count distances exactly, the other
    half cover distances up to `max_distance` on a log scale, and farther is the last bucket."""
    rel = np.asarray(relative_position, dtype=np.int64)
    bucket = np.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        bucket = bucket + (rel > 0) * num_buckets  # keys to the right get the upper half
        dist = np.abs(rel)
    else:
        dist = -np.minimum(rel, 0)  # a decoder only looks back; the future is distance 0
    max_exact = num_buckets // 2
    with np.errstate(divide="ignore"):
        log_ratio = np.log(np.maximum(dist, 1) / max_exact) / math.log(max_distance / max_exact)
    large = max_exact + (log_ratio * (num_buckets - max_exact)).astype(np.int64)
    large = np.minimum(large, num_buckets - 1)
    return bucket + np.where(dist < max_exact, dist, large)


@dataclass(frozen=True)
class BucketRange:
    bucket: int
    lo: int  # smallest relative position in the bucket
    hi: int  # largest


def bucket_parity(num_buckets: int, max_distance: int, span: int) -> bool:
    """`relative_bucket` equals transformers' `T5Attention._relative_position_bucket` on every
    distance in ±span, both directions (encoder) and one (decoder)."""
    import torch
    from transformers.models.t5.modeling_t5 import T5Attention

    rel = distances(span)
    return all(
        np.array_equal(relative_bucket(rel, bi, num_buckets, max_distance),
                       T5Attention._relative_position_bucket(torch.tensor(rel), bi, num_buckets,
                                                             max_distance).numpy())
        for bi in (True, False)
    )  # fmt: skip


def distances(span: int) -> np.ndarray:
    """Key minus query positions from -span to +span."""
    return np.arange(-span, span + 1)


def learned_bias(model, tokens: int = 8) -> tuple[np.ndarray, int]:
    """Encoder layer 0's learned bias per head for `tokens` positions, and the table's size."""
    table = model.encoder.block[0].layer[0].SelfAttention.relative_attention_bias.weight
    bias = bias_matrix(table.detach().float().cpu().numpy(), tokens, tokens, True,
                       max_distance=model.config.relative_attention_max_distance)  # fmt: skip
    return bias, table.numel()


def bucket_ranges(
    bidirectional: bool = True, num_buckets: int = 32, max_distance: int = 128, span: int = 300
) -> list[BucketRange]:
    """Which relative positions (within ±span) share each bucket: the table a page draws."""
    rel = np.arange(-span, span + 1)
    b = relative_bucket(rel, bidirectional, num_buckets, max_distance)
    out = []
    for k in sorted(set(b.tolist())):
        where = rel[b == k]
        out.append(BucketRange(int(k), int(where.min()), int(where.max())))
    return out


def bias_matrix(bias_table: np.ndarray, q_len: int, k_len: int, bidirectional: bool, **kw):
    """(H, q_len, k_len) position bias a layer adds to its scores, from its learned
    (num_buckets, H) table: what `T5Attention.compute_bias` returns, for one layer."""
    rel = np.arange(k_len)[None, :] - np.arange(q_len)[:, None]  # (q, k): key - query
    buckets = relative_bucket(rel, bidirectional, bias_table.shape[0], **kw)  # (q, k)
    return np.transpose(bias_table[buckets], (2, 0, 1))  # (H, q, k)


# ---------------------------------------------------------------- the three attentions


@dataclass
class Seq2SeqAttention:
    encoder_tokens: list[str]
    decoder_tokens: list[str]
    encoder: np.ndarray  # (L_enc, H, S, S)
    decoder: np.ndarray  # (L_dec, H, T, T), causal: upper triangle 0
    cross: np.ndarray  # (L_dec, H, T, S): decoder rows reading the encoder


def seq2seq_attention(model, tokenizer, source: str, target: str, max_tokens: int = 40):
    """One teacher-forced pass of an encoder-decoder on (source, target) with every attention
    weight: encoder self-attention, the decoder's causal self-attention and cross-attention."""
    import torch

    src = tokenizer(source, truncation=True, max_length=max_tokens)["input_ids"]
    tgt = tokenizer(target, truncation=True, max_length=max_tokens - 1)["input_ids"]
    start = model.config.decoder_start_token_id
    dec = [tokenizer.pad_token_id if start is None else start, *tgt[:-1]]
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor([src], device=model.device),
            decoder_input_ids=torch.tensor([dec], device=model.device),
            output_attentions=True,
        )
    stack = lambda xs: np.stack([x[0].float().cpu().numpy() for x in xs])  # noqa: E731
    return Seq2SeqAttention(
        tokenizer.convert_ids_to_tokens(src),
        tokenizer.convert_ids_to_tokens(dec),
        stack(out.encoder_attentions),  # (L, H, S, S)
        stack(out.decoder_attentions),  # (L, H, T, T)
        stack(out.cross_attentions),  # (L, H, T, S)
    )


def model_view_html(att: Seq2SeqAttention, decimals: int = 3) -> str:
    """bertviz's model view of all three attentions, offline and with escaped tokens."""
    import torch
    from bertviz import model_view

    from lessons.bertviz_offline import make_offline

    def layers(a: np.ndarray) -> list:
        return [torch.from_numpy(np.ascontiguousarray(x))[None] for x in a]  # L × (1, H, ., .)

    out = model_view(
        encoder_attention=layers(att.encoder),
        decoder_attention=layers(att.decoder),
        cross_attention=layers(att.cross),
        encoder_tokens=list(att.encoder_tokens),
        decoder_tokens=list(att.decoder_tokens),
        display_mode="light",
        html_action="return",
    )
    return make_offline(out.data, decimals)


def model_view_height(att: Seq2SeqAttention) -> int:
    from lessons.bertviz_offline import iframe_height

    n = max(len(att.encoder_tokens), len(att.decoder_tokens))
    layers = max(att.encoder.shape[0], att.decoder.shape[0])
    return iframe_height("model", n, layers, att.encoder.shape[1])


# ---------------------------------------------------------------- text-to-text, on the Hub T5

# Prefixes from the T5 paper's appendix (the tasks t5-small was multi-task trained on) and
# FLAN-style instructions; (prefix, example input).
PREFIXED_TASKS = (
    ("translate English to German: ", "The house is wonderful."),
    ("translate English to French: ", "The weather is nice today."),
    ("summarize: ", "The city council met on Tuesday and voted to build a new bridge over the "
     "river, which will open in two years and cost about 40 million euros."),
    ("cola sentence: ", "The books is on the table."),
    ("sst2 sentence: ", "a gorgeous, witty, seductive movie."),
    ("question: What is the capital of France? context: ", "Paris is the capital of France."),
)  # fmt: skip


def generate(handle, text: str, max_new_tokens: int = 48) -> str:
    """Greedy text-to-text answer of a seq2seq handle (under its lock)."""
    import torch

    tok, model = handle.tokenizer, handle.model
    with handle.lock, torch.no_grad():
        enc = tok(text, truncation=True, max_length=256, return_tensors="pt").to(model.device)
        ids = model.generate(
            input_ids=enc["input_ids"],
            attention_mask=enc["attention_mask"],
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
        )
        return tok.decode(ids[0], skip_special_tokens=True).strip()  # fmt: skip
