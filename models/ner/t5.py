"""The T5 tagger's pieces: word pieces and targets, the codec, copy-constrained decoding, and a
trainer whose loss is computed only where a label is set."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lessons import ner_format as nf
from lessons.ner_format import Sentence
from models import hf_training as hft
from models.ner.config import NerConfig

# ---------------------------------------------------------------- T5: pieces and targets


def word_pieces(tokenizer, words: list[str] | tuple[str, ...]) -> list[list[int]]:
    """The token ids of each (neutralised) word, as the model reads them."""
    if not words:
        return []
    enc = tokenizer([nf.neutral(w) for w in words], is_split_into_words=True,
                    add_special_tokens=False)  # fmt: skip
    out: list[list[int]] = [[] for _ in words]
    for tid, wid in zip(enc["input_ids"], enc.word_ids(), strict=True):
        if wid is not None:
            out[wid].append(tid)
    return [p or [tokenizer.unk_token_id] for p in out]


def fit_words(pieces: list[list[int]], budget: int) -> int:
    """How many words fit in `budget` tokens."""
    total = 0
    for n, p in enumerate(pieces):
        total += len(p)
        if total > budget:
            return n
    return len(pieces)


class T5Codec:
    """Sentences <-> token ids for a T5 tagger (its tokenizer, prefix and tag tokens)."""

    def __init__(self, tokenizer, cfg: NerConfig):
        self.tok, self.cfg = tokenizer, cfg
        self.tag_ids = [tokenizer.convert_tokens_to_ids(t) for t in nf.TAG_TOKENS]
        self.o_id = tokenizer.convert_tokens_to_ids(nf.O_TOKEN)
        self.every = cfg.notation == "every-word"
        self.prefix_ids = (
            tokenizer(cfg.prefix.strip(), add_special_tokens=False)["input_ids"]
            if cfg.prefix
            else []
        )
        # T5 tokenizers end with </s>; a BERT-style vocabulary in a T5 (tests) with [SEP].
        self.eos = (
            tokenizer.eos_token_id
            if tokenizer.eos_token_id is not None
            else (tokenizer.sep_token_id)
        )
        self.pad = tokenizer.pad_token_id
        self.room = cfg.max_len - len(self.prefix_ids) - 1

    def source(self, words) -> tuple[list[int], list[list[int]]]:
        pieces = word_pieces(self.tok, words)
        pieces = pieces[: fit_words(pieces, self.room)]
        return self.prefix_ids + [i for p in pieces for i in p] + [self.eos], pieces

    def text(self, ids: list[int]) -> str:
        """Generated ids as text: pieces joined into words, each tag a word of its own."""
        words, run = [], []
        for i in [*ids, self.eos]:
            if i in self.tag_ids or i in (self.eos, self.o_id):
                if run:
                    words.append(self.tok.decode(run).strip())
                    run = []
                if i in self.tag_ids:
                    words.append(nf.TAG_TOKENS[self.tag_ids.index(i)])
                elif i == self.o_id:
                    words.append(nf.O_TOKEN)
            elif i != self.pad:
                run.append(i)
        return " ".join(" ".join(words).split())

    def example(self, s: Sentence) -> dict:
        src, pieces = self.source(s.words)
        tgt, is_tag = [], []
        for p, tag in zip(pieces, s.tags, strict=False):
            tgt += p
            is_tag += [False] * len(p)
            if tag != "O" or self.every:
                tgt.append(self.tag_ids[nf.TYPES.index(tag[2:])] if tag != "O" else self.o_id)
                is_tag.append(True)
        tgt.append(self.eos)
        is_tag.append(False)
        labels = (
            tgt
            if self.cfg.copy_loss
            else [t if k else -100 for t, k in zip(tgt, is_tag, strict=True)]
        )
        # The decoder reads the full target shifted right, whatever the loss is computed on.
        return {"input_ids": src, "decoder_input_ids": [self.pad, *tgt[:-1]], "labels": labels}

    def collate(self, rows: list[dict]) -> dict:
        """Pad a batch: ids with <pad>, labels with -100 (ignored by the loss)."""
        out = {}
        for key, fill in (("input_ids", self.pad), ("decoder_input_ids", self.pad),
                          ("labels", -100)):  # fmt: skip
            width = max(len(r[key]) for r in rows)
            out[key] = torch.tensor([r[key] + [fill] * (width - len(r[key])) for r in rows])
        out["attention_mask"] = (out["input_ids"] != self.pad).long()
        return out


@dataclass
class Decoded:
    types: list[str | None]  # one per word of the input
    text: str  # the generated text, tags included
    tag_probs: list[dict[str, float]]  # per word: P(no tag) and P(each type) at its decision


@torch.no_grad()
def constrained_decode(model, codec: T5Codec, batch: list[list[str]]) -> list[Decoded]:
    """Greedy decoding that can only copy the source: each word's pieces are forced, and after a
    word the model picks among the 4 tags and "go on" (the next word's first piece, or </s>).
    Words past max_len are not read and get no tag."""
    model.eval()
    dev = model.device
    srcs, plans = zip(*(codec.source(w) for w in batch), strict=True)
    width = max(len(s) for s in srcs)
    ids = torch.full((len(batch), width), codec.pad, dtype=torch.long)
    for b, s in enumerate(srcs):
        ids[b, : len(s)] = torch.tensor(s)
    mask = (ids != codec.pad).long()
    ids, mask = ids.to(dev), mask.to(dev)
    enc = model.get_encoder()(input_ids=ids, attention_mask=mask)
    start = model.config.decoder_start_token_id
    start = codec.pad if start is None else start
    cur = torch.full((len(batch), 1), start, dtype=torch.long, device=dev)
    state = [[0, 0, False] for _ in batch]  # word, piece within it, tagged after it
    types: list[list[str | None]] = [[None] * len(p) for p in plans]
    probs: list[list[dict]] = [[{} for _ in p] for p in plans]
    out: list[list[int]] = [[] for _ in batch]
    done = [False] * len(batch)
    past = None
    while not all(done):
        res = model(encoder_outputs=enc, attention_mask=mask, decoder_input_ids=cur, cache=past,
                    use_cache=True)  # fmt: skip
        past = res.cache
        logits = res.logits[:, -1, :].float().cpu()  # (B, V)
        nxt = []
        for b, plan in enumerate(plans):
            w, j, tagged = state[b]
            if done[b]:
                nxt.append(codec.pad)
                continue
            if w < len(plan) and j < len(plan[w]):  # inside a word: copy
                tok, state[b][1] = plan[w][j], j + 1
            else:
                go_on = plan[w + 1][0] if w + 1 < len(plan) else codec.eos
                if w < len(plan) and not tagged:  # the one free choice, after word w
                    cand = [codec.o_id if codec.every else go_on, *codec.tag_ids]
                    p = logits[b, cand].softmax(-1)  # (5,)
                    probs[b][w] = {
                        "none": float(p[0]),
                        **dict(zip(nf.TYPES, p[1:].tolist(), strict=True)),
                    }
                    k = int(p.argmax())
                    if k or codec.every:
                        types[b][w] = nf.TYPES[k - 1] if k else None
                        out[b].append(cand[k])
                        state[b][2] = True
                        nxt.append(cand[k])
                        continue
                tok = go_on
                state[b] = [w + 1, 1, False]
            out[b].append(tok)
            nxt.append(tok)
            if tok == codec.eos:
                done[b] = True
        cur = torch.tensor(nxt, dtype=torch.long, device=dev)[:, None]
    decoded = []
    for b, words in enumerate(batch):
        t = types[b] + [None] * (len(words) - len(types[b]))
        p = probs[b] + [{} for _ in range(len(words) - len(probs[b]))]
        decoded.append(Decoded(t, codec.text(out[b]), p))
    return decoded


class TagLossTrainer(hft.MeteredSeq2SeqTrainer):
    """Seq2SeqTrainer whose loss is T5's own cross-entropy, computed only where a label is set.
    With `copy_loss` off only the tags carry labels, and projecting every copied position onto
    the vocabulary (over half the run's arithmetic) would be thrown away."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]  # (B, T)
        enc = model.get_encoder()(input_ids=inputs["input_ids"],
                                  attention_mask=inputs["attention_mask"])  # fmt: skip
        dec = model.get_decoder()(
            input_ids=inputs["decoder_input_ids"],
            encoder_hidden_states=enc.last_hidden_state,  # (B, S, d)
            encoder_attention_mask=inputs["attention_mask"],
        )
        keep = labels != -100  # (B, T)
        h = dec.last_hidden_state[keep]  # (N, d) only the labelled positions
        if model.config.scale_decoder_outputs:
            h = h * model.model_dim**-0.5
        loss = F.cross_entropy(model.lm_head(h), labels[keep])  # (N, V) -> scalar
        return (loss, None) if return_outputs else loss
