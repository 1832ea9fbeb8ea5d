"""Byte pair encoding from scratch, at the character level, in plain Python.

Training: split the corpus into words, write every word as a tuple of characters, then repeat:
count every adjacent pair of symbols (weighted by how often the word occurs), merge the most
frequent pair into one new symbol everywhere. The ordered list of merges *is* the tokenizer.
Encoding new text replays the merges, lowest rank (earliest learned) first.

It learns the same merges, in the same order, as `tokenizers`' BpeTrainer with the Whitespace
pre-tokenizer, because it breaks ties the same way: among equally frequent pairs BpeTrainer's
heap pops the pair with the smallest (left id, right id), and ids are handed out as the alphabet
in code-point order, then each new merged symbol (a string reached twice keeps its first id).
BpeTrainer updates pair counts incrementally; this code simply recounts them after every merge,
which is slower (O(words x merges)) but easier to read. Checked merge for merge in
tests/test_bpe.py. Python's and Rust's regex word classes differ on a few combining marks, so
for some scripts the words, and then the merges, can differ.
"""

from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

# Same split as tokenizers.pre_tokenizers.Whitespace: runs of word chars, or of punctuation.
WORD_RE = re.compile(r"\w+|[^\w\s]+")

Pair = tuple[str, str]


@dataclass(frozen=True)
class BPEConfig:
    num_merges: int = 100
    min_frequency: int = 1  # stop once the best pair is rarer than this (BpeTrainer's option)
    top_k: int = 10  # how many pair counts to record per step, for the step-through


@dataclass(frozen=True)
class MergeStep:
    rank: int  # 0 = learned first
    pair: Pair
    token: str
    count: int  # how often the pair occurred just before this merge
    top_pairs: tuple[tuple[Pair, int], ...]  # the best pairs at this step, the chosen one first


@dataclass
class BPE:
    alphabet: list[str]
    merges: list[Pair] = field(default_factory=list)
    steps: list[MergeStep] = field(default_factory=list)
    vocab: dict[str, int] = field(default_factory=dict)  # symbol -> id, in creation order


def pretokenize(text: str) -> list[tuple[str, int, int]]:
    """Words with their character offsets; merges never cross a word boundary."""
    return [(m.group(), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def pair_counts(words: dict[tuple[str, ...], int]) -> Counter[Pair]:
    """How often each adjacent pair occurs, each word weighted by its frequency."""
    counts: Counter[Pair] = Counter()
    for symbols, n in words.items():
        for pair in pairwise(symbols):
            counts[pair] += n
    return counts


def merge_pair(symbols: tuple[str, ...], pair: Pair, token: str) -> tuple[str, ...]:
    """Replace every occurrence of `pair` by `token`, left to right, never overlapping."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
            out.append(token)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return tuple(out)


def train(text: str, config: BPEConfig = BPEConfig()) -> BPE:
    word_counts = Counter(w for w, _, _ in pretokenize(text))
    words = {tuple(w): n for w, n in word_counts.items()}  # "the" -> ("t", "h", "e")
    alphabet = sorted({ch for w in word_counts for ch in w})  # code-point order, like BpeTrainer
    bpe = BPE(alphabet=alphabet, vocab={ch: i for i, ch in enumerate(alphabet)})

    for rank in range(config.num_merges):
        counts = pair_counts(words)
        if not counts:
            break  # every word is a single symbol: nothing left to merge
        # Most frequent first; ties go to the pair of older symbols (smaller ids).
        top = heapq.nsmallest(
            config.top_k, counts, key=lambda p: (-counts[p], bpe.vocab[p[0]], bpe.vocab[p[1]])
        )
        best = top[0]
        if counts[best] < config.min_frequency:
            break
        token = best[0] + best[1]
        bpe.vocab.setdefault(token, len(bpe.vocab))  # a string can be reached by two merges
        bpe.merges.append(best)
        bpe.steps.append(
            MergeStep(rank, best, token, counts[best], tuple((p, counts[p]) for p in top))
        )
        words = {merge_pair(s, best, token): n for s, n in words.items()}
    return bpe


def encode_word(word: str, ranks: dict[Pair, int]) -> list[str]:
    """Apply the learned merges to one word, earliest-learned pair first (as GPT-2 does)."""
    symbols = tuple(word)
    while len(symbols) > 1:
        pairs = set(pairwise(symbols))
        pair = min(pairs, key=lambda p: ranks.get(p, len(ranks)))
        if pair not in ranks:
            break  # no learned merge applies any more
        symbols = merge_pair(symbols, pair, pair[0] + pair[1])
    return list(symbols)


def segment(text: str, merges: list[Pair]) -> list[tuple[str, int, int]]:
    """Tokens of `text` after the given merges, with character offsets into `text`."""
    ranks = {pair: r for r, pair in enumerate(merges)}
    out = []
    for word, start, _ in pretokenize(text):
        pos = start
        for piece in encode_word(word, ranks):
            out.append((piece, pos, pos + len(piece)))
            pos += len(piece)
    return out


def vocab_after(model: BPE, k: int) -> int:
    """Symbols in the vocabulary after the first k merges (a string reached twice counts once)."""
    return len(model.alphabet) + len({s.token for s in model.steps[:k]})


# --- the library, for the parity check ------------------------------------------------------


def library_tokenizer(text: str, vocab_size: int):
    """tokenizers' own BpeTrainer on the same words (Whitespace pre-tokenizer)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False)
    tok.train_from_iterator(text.splitlines(), trainer)
    return tok


def library_merges(text: str, vocab_size: int) -> list[Pair]:
    """The merges BpeTrainer learns for the same vocabulary size, in order."""
    merges = json.loads(library_tokenizer(text, vocab_size).to_str())["model"]["merges"]
    return [tuple(m) for m in merges]


def agreement(ours: list[Pair], theirs: list[Pair]) -> int:
    """How many merges, from the first, two merge lists share."""
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return i
    return min(len(ours), len(theirs))
