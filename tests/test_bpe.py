"""From-scratch BPE (lessons/bpe.py) against hand-computed merges and tokenizers' BpeTrainer."""

from __future__ import annotations

import random

import pytest
from tokenizers import pre_tokenizers

from lessons import bpe
from lessons.bpe import library_merges
from lessons.bpe import library_tokenizer as library_bpe
from lessons.tokenizer_training import builtin_corpus


def test_merge_pair_is_left_to_right_and_never_overlaps():
    assert bpe.merge_pair(("a", "a", "a"), ("a", "a"), "aa") == ("aa", "a")
    assert bpe.merge_pair(("a", "a", "a", "a"), ("a", "a"), "aa") == ("aa", "aa")
    assert bpe.merge_pair(("a", "b", "c"), ("b", "d"), "bd") == ("a", "b", "c")


def test_pair_counts_are_weighted_by_word_frequency():
    counts = bpe.pair_counts({("a", "b", "a", "b"): 3, ("b", "a"): 2})
    assert counts == {("a", "b"): 6, ("b", "a"): 5}


def test_hand_computed_merges():
    # hug x10, pug x5, pun x12, bun x4, hugs x5. Pairs: u+g 20, p+u 17, u+n 16, h+u 15 ...
    # after "ug": u+n 16 beats h+ug 15; after "un": h+ug 15 beats p+un 12.
    text = " ".join(["hug"] * 10 + ["pug"] * 5 + ["pun"] * 12 + ["bun"] * 4 + ["hugs"] * 5)
    model = bpe.train(text, bpe.BPEConfig(num_merges=3))
    assert model.alphabet == ["b", "g", "h", "n", "p", "s", "u"]
    assert model.merges == [("u", "g"), ("u", "n"), ("h", "ug")]
    assert [s.count for s in model.steps] == [20, 16, 15]
    assert model.steps[0].top_pairs[:3] == ((("u", "g"), 20), (("p", "u"), 17), (("u", "n"), 16))
    assert model.vocab["hug"] == len(model.alphabet) + 2


def test_ties_go_to_the_pair_of_older_symbols():
    # "ab" and "ba" both occur once; ids a=0 < b=1, so (a, b) wins as in BpeTrainer's heap.
    model = bpe.train("ab ba", bpe.BPEConfig(num_merges=1))
    assert model.merges == [("a", "b")]
    assert library_merges("ab ba", 3) == [("a", "b")]


def test_min_frequency_and_nothing_to_merge_stop_training():
    model = bpe.train("ab ab cd", bpe.BPEConfig(num_merges=10, min_frequency=2))
    assert model.merges == [("a", "b")]
    assert bpe.train("", bpe.BPEConfig()).merges == []
    assert bpe.train("a b c ! ?", bpe.BPEConfig()).merges == []


def test_pretokenize_matches_the_whitespace_pre_tokenizer():
    text = builtin_corpus()
    ref = pre_tokenizers.Whitespace().pre_tokenize_str(text)
    assert bpe.pretokenize(text) == [(w, s, e) for w, (s, e) in ref]


def test_parity_with_bpe_trainer_on_the_builtin_corpus():
    """Every merge, in order, until the corpus runs out of pairs. Most steps are ties, so this
    also checks the tie-break (smallest (left id, right id) first)."""
    text = builtin_corpus()
    mine = bpe.train(text, bpe.BPEConfig(num_merges=5_000))
    assert 500 < len(mine.merges) < 5_000  # it ran out of pairs: the whole run is compared
    ties = sum(len(s.top_pairs) > 1 and s.top_pairs[1][1] == s.count for s in mine.steps)
    assert ties > len(mine.steps) // 2
    assert library_merges(text, len(mine.vocab)) == mine.merges


@pytest.mark.parametrize("seed", range(12))
def test_parity_with_bpe_trainer_on_tie_heavy_random_corpora(seed):
    rng = random.Random(seed)
    alphabet = "ab" if seed % 2 else "abc"
    words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(40)]
    text = " ".join(words)
    mine = bpe.train(text, bpe.BPEConfig(num_merges=60))
    assert mine.merges, "the corpus must give something to merge"
    assert library_merges(text, len(mine.vocab)) == mine.merges


def test_segment_matches_the_library_tokenizer_and_offsets_slice_the_text():
    corpus = builtin_corpus()
    mine = bpe.train(corpus, bpe.BPEConfig(num_merges=300))
    tok = library_bpe(corpus, len(mine.vocab))
    text = "Transformers tokenize unbelievably well, and the merges are replayed in order."
    pieces = bpe.segment(text, mine.merges)
    assert [p for p, _, _ in pieces] == tok.encode(text).tokens
    assert [(s, e) for _, s, e in pieces] == tok.encode(text).offsets
    assert all(text[s:e] == p for p, s, e in pieces)
    # Fewer merges, more tokens: each merge can only join pieces.
    assert len(bpe.segment(text, mine.merges[:50])) > len(pieces)


def test_agreement_and_vocabulary_after_k_merges():
    assert bpe.agreement([("a", "b"), ("c", "d")], [("a", "b"), ("x", "y")]) == 1
    assert bpe.agreement([("a", "b")], [("a", "b"), ("c", "d")]) == 1
    assert bpe.agreement([], []) == 0
    model = bpe.train("aaaa aaaa", bpe.BPEConfig(num_merges=3))  # aa, then aaaa: 2 merges
    assert model.merges == [("a", "a"), ("aa", "aa")]
    assert [bpe.vocab_after(model, k) for k in (0, 1, 2)] == [1, 2, 3] == [1, 2, len(model.vocab)]
