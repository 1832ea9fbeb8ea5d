"""Train BPE, WordPiece and Unigram tokenizers with the `tokenizers` library, then compare them.

All three get the same words (the Whitespace pre-tokenizer splits on spaces and punctuation) and
the same vocabulary size, so only the algorithm differs:

- BPE starts from characters and merges the most frequent pair of symbols, again and again.
- WordPiece also merges pairs, but picks the one with the best count(ab) / (count(a) * count(b)),
  favouring parts that rarely occur apart; pieces inside a word carry a "##" prefix.
- Unigram starts from many candidate pieces and prunes the ones the corpus likelihood misses
  least, then tokenizes by the most probable segmentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from lessons.bpe import WORD_RE
from lessons.tokenization import from_encoding, stats

CORPUS_DIR = Path(__file__).resolve().parents[1] / "assets" / "corpus"
ALGORITHMS = ("BPE", "WordPiece", "Unigram")
UNK = "[UNK]"
MIN_WORDS = 30  # fewer words than this teach nothing about frequent pieces

Algorithm = Literal["BPE", "WordPiece", "Unigram"]


class CorpusError(ValueError):
    """The corpus or vocabulary size cannot train a tokenizer; the message is for the user."""


@dataclass(frozen=True)
class TrainConfig:
    algorithm: Algorithm = "BPE"
    vocab_size: int = 500  # includes the alphabet and [UNK]


@dataclass(frozen=True)
class Compression:
    name: str
    vocab_size: int  # what training actually reached (a small corpus runs out of pairs)
    tokens: int
    chars_per_token: float
    unknown: int  # [UNK] tokens: text the vocabulary cannot spell


def builtin_corpus() -> str:
    """The gallery's own training text (assets/corpus/*.txt), a few KB of English prose."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(CORPUS_DIR.glob("*.txt")))


def alphabet(corpus: str) -> set[str]:
    """Every character of every word: the vocabulary must hold at least these."""
    return {ch for word in WORD_RE.findall(corpus) for ch in word}


def check(corpus: str, config: TrainConfig) -> None:
    words = WORD_RE.findall(corpus)
    if len(words) < MIN_WORDS:
        raise CorpusError(
            f"The corpus has {len(words)} words; train on at least {MIN_WORDS} "
            "(a few sentences), or use the built-in corpus."
        )
    need = len(alphabet(corpus)) + 1  # every character, plus [UNK]
    if config.vocab_size < need:
        raise CorpusError(
            f"A vocabulary of {config.vocab_size} cannot hold this corpus' {need - 1} distinct "
            f"characters plus {UNK}: choose at least {need}."
        )


def train_tokenizer(corpus: str, config: TrainConfig) -> Tokenizer:
    check(corpus, config)
    if config.algorithm == "BPE":
        model = models.BPE(unk_token=UNK)
        trainer = trainers.BpeTrainer(
            vocab_size=config.vocab_size, special_tokens=[UNK], show_progress=False
        )
    elif config.algorithm == "WordPiece":
        model = models.WordPiece(unk_token=UNK)
        trainer = trainers.WordPieceTrainer(
            vocab_size=config.vocab_size,
            special_tokens=[UNK],
            continuing_subword_prefix="##",
            show_progress=False,
        )
    elif config.algorithm == "Unigram":
        model = models.Unigram()
        trainer = trainers.UnigramTrainer(
            vocab_size=config.vocab_size, special_tokens=[UNK], unk_token=UNK, show_progress=False
        )
    else:
        raise ValueError(f"Unknown algorithm {config.algorithm!r}; pick one of {ALGORITHMS}.")
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(corpus.splitlines(), trainer)
    return tokenizer


def train_json(corpus: str, algorithm: str, vocab_size: int) -> str:
    """The trained tokenizer as JSON: callers rebuild their own copy (`Tokenizer.from_str`), so
    no trained tokenizer is shared between sessions."""
    return train_tokenizer(corpus, TrainConfig(algorithm, vocab_size)).to_str()  # type: ignore[arg-type]


def pretrained_compression(name: str, vocab_size: int, text: str, tokens, unk_id) -> Compression:
    """The same figures for a pretrained tokenizer's tokens (lessons.tokenization.tokenize)."""
    s = stats(text, tokens, unk_id)
    return Compression(name, vocab_size, s.content_tokens, s.chars_per_token, s.unknown)


def compression(name: str, tokenizer: Tokenizer, text: str) -> Compression:
    """How well `tokenizer` compresses `text`: fewer tokens = more characters per token."""
    tokens = from_encoding(tokenizer, tokenizer.encode(text))
    s = stats(text, tokens, tokenizer.token_to_id(UNK))
    return Compression(name, tokenizer.get_vocab_size(), s.tokens, s.chars_per_token, s.unknown)
