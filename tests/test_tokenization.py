"""Offsets alignment, trained tokenizers and the Tokenization page, on the embedded tokenizers."""

from __future__ import annotations

import pytest

from lessons import tokenization, tokenizer_training
from lessons.tokenizer_training import CorpusError, TrainConfig
from tests.apptest import open_page
from ui.widgets import token_spans_html

SENTENCE = "Transformers tokenize unbelievably well"
HOSTILE = [
    "<script>alert(1)</script>",
    "👩‍👩‍👧",
    "שלום עולם",
    "[CLS] <|im_start|>",
    "  spaces\tand\nnewlines  ",
    "12345678901234567890 3.14159 -0.0e+10",
    "x" * 3_000,
]


def covered_text(spans: list[tokenization.Span]) -> str:
    return "".join(s.text for s in spans if not (s.kind == "special" and s.start == s.end))


# --- real tokenizers ---------------------------------------------------------------------------


def test_minilm_wordpiece_pieces_ids_and_offsets(minilm):
    tok = minilm.tokenizer
    tokens = tokenization.tokenize(tok, SENTENCE)
    pieces = [t.piece for t in tokens]
    for piece in ("token", "##ize", "un", "##bel"):
        assert piece in pieces
    assert pieces[0] == tok.cls_token and pieces[-1] == tok.sep_token
    assert tokens[0].inserted and tokens[0].special and tokens[-1].inserted
    assert [t.id for t in tokens] == tok.convert_tokens_to_ids(pieces)
    for t in tokens[1:-1]:  # uncased: the slice, lowercased, is the piece without "##"
        assert SENTENCE[t.start : t.end].lower() == t.piece.removeprefix("##")
        assert not t.special
    assert tok.decode([t.id for t in tokens], skip_special_tokens=True) == SENTENCE.lower()


def test_smollm2_byte_level_pieces_ids_and_offsets(smollm2):
    tok = smollm2.tokenizer
    tokens = tokenization.tokenize(tok, SENTENCE)
    vocab = tok.get_vocab()
    assert "Ġtoken" in [t.piece for t in tokens]  # the leading space belongs to the token
    assert all(vocab[t.piece] == t.id for t in tokens)
    assert not any(t.inserted for t in tokens)  # plain text gets no BOS/EOS here
    assert "".join(t.piece for t in tokens).replace("Ġ", " ") == SENTENCE
    for t in tokens:
        assert tok.decode([t.id]) == SENTENCE[t.start : t.end]
    assert tok.decode([t.id for t in tokens]) == SENTENCE
    s = tokenization.stats(SENTENCE, tokens, tok.unk_token_id)
    assert s.content_tokens == len(tokens) and s.chars_per_token == len(SENTENCE) / len(tokens)


@pytest.mark.parametrize("text", [SENTENCE, "", *HOSTILE])
def test_align_gives_back_the_text_exactly(minilm, smollm2, text):
    for handle in (minilm, smollm2):
        tokens = tokenization.tokenize(handle.tokenizer, text)
        spans = tokenization.align(text, tokens)
        assert covered_text(spans) == text
        positions = [(s.start, s.end) for s in spans if s.start != s.end]
        assert positions == sorted(positions)
        assert sorted(i for s in spans for i in s.tokens) == list(range(len(tokens)))
        for s in spans:
            if s.kind == "gap":
                assert s.text.strip() == "" or handle is smollm2


def test_byte_level_bytes_of_one_emoji_share_a_span(smollm2, minilm):
    text = "👩‍👩‍👧"
    tokens = tokenization.tokenize(smollm2.tokenizer, text)
    assert len(tokens) > len(text)  # 18 UTF-8 bytes need more tokens than 5 characters
    spans = tokenization.align(text, tokens)
    assert len(spans) < len(tokens) and any(len(s.tokens) > 1 for s in spans)
    assert smollm2.tokenizer.decode([t.id for t in tokens]) == text
    wp = tokenization.tokenize(minilm.tokenizer, text)
    s = tokenization.stats(text, wp, minilm.tokenizer.unk_token_id)
    assert s.unknown == 1 and [t.piece for t in wp][1] == "[UNK]"


def test_typed_special_tokens_and_split_special_tokens(smollm2, minilm):
    tok = smollm2.tokenizer
    im_start = tok.convert_tokens_to_ids("<|im_start|>")
    text = "hi <|im_start|>"
    tokens = tokenization.tokenize(tok, text)
    typed = [t for t in tokens if t.id == im_start]
    assert (
        len(typed) == 1
        and typed[0].special
        and text[typed[0].start : typed[0].end] == "<|im_start|>"
    )
    split = tokenization.tokenize(tok, text, split_special_tokens=True)
    assert im_start not in [t.id for t in split] and not any(t.special for t in split)
    assert covered_text(tokenization.align(text, split)) == text
    cls = tokenization.tokenize(minilm.tokenizer, "[CLS] x")
    assert cls[1].piece == "[CLS]" and cls[1].special and (cls[1].start, cls[1].end) == (0, 5)


def test_special_tokens_can_be_hidden(minilm):
    tokens = tokenization.tokenize(minilm.tokenizer, SENTENCE)
    shown = tokenization.align(SENTENCE, tokens, show_special=True)
    hidden = tokenization.align(SENTENCE, tokens, show_special=False)
    assert [s.text for s in shown if s.kind == "special"] == ["[CLS]", "[SEP]"]
    assert not [s for s in hidden if s.kind == "special"]
    assert covered_text(hidden) == SENTENCE


def test_html_escapes_typed_markup(smollm2):
    text = "<script>alert(1)</script>"
    tokens = tokenization.tokenize(smollm2.tokenizer, text)
    spans = tokenization.align(text, tokens)
    out = token_spans_html([s.text for s in spans], [repr(s.tokens) for s in spans])
    assert "<script" not in out and "&lt;" in out and "script" in out


# --- tokenizers trained on the spot ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", tokenizer_training.ALGORITHMS)
def test_train_each_algorithm_on_the_builtin_corpus(algorithm):
    corpus = tokenizer_training.builtin_corpus()
    small = tokenizer_training.train_tokenizer(corpus, TrainConfig(algorithm, 120))
    large = tokenizer_training.train_tokenizer(corpus, TrainConfig(algorithm, 600))
    assert len(tokenizer_training.alphabet(corpus)) < small.get_vocab_size() <= 120
    assert small.get_vocab_size() < large.get_vocab_size() <= 600
    text = corpus.split("\n\n")[0]  # text the tokenizers were trained on: no [UNK]
    a = tokenizer_training.compression(algorithm, small, text)
    b = tokenizer_training.compression(algorithm, large, text)
    assert a.unknown == 0 and b.unknown == 0
    assert b.tokens < a.tokens and b.chars_per_token > a.chars_per_token
    tokens = tokenization.from_encoding(large, large.encode(text))
    assert covered_text(tokenization.align(text, tokens)) == text
    if algorithm == "WordPiece":
        assert any(t.piece.startswith("##") for t in tokens)


def test_unknown_characters_count_as_unk_for_every_algorithm():
    corpus = tokenizer_training.builtin_corpus()
    for algorithm in tokenizer_training.ALGORITHMS:
        tok = tokenizer_training.train_tokenizer(corpus, TrainConfig(algorithm, 300))
        c = tokenizer_training.compression(algorithm, tok, "well 👩")
        assert c.unknown == 1, algorithm
        pieces = [t.piece for t in tokenization.from_encoding(tok, tok.encode("well 👩"))]
        assert pieces[-1] == "[UNK]", algorithm


def test_too_small_corpus_or_vocabulary_gives_a_message():
    with pytest.raises(CorpusError, match="3 words"):
        tokenizer_training.train_tokenizer("just three words", TrainConfig("BPE", 200))
    corpus = tokenizer_training.builtin_corpus()
    need = len(tokenizer_training.alphabet(corpus)) + 1
    with pytest.raises(CorpusError, match=f"at least {need}"):
        tokenizer_training.train_tokenizer(corpus, TrainConfig("Unigram", need - 1))
    with pytest.raises(ValueError, match="Unknown algorithm"):
        tokenizer_training.train_tokenizer(corpus, TrainConfig("SentencePiece", 300))  # type: ignore[arg-type]


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page():
    at = open_page("views/tokenization.py")
    assert not at.exception, [e.value for e in at.exception]
    return at


def side_by_side_html(at) -> list[str]:
    return [h.value for h in at.html if "line-height:2.0" in h.value]


def test_page_renders_both_embedded_tokenizers_and_the_parity_line(page):
    assert [t.value for t in page.title] == ["Tokenization"]
    assert set(page.multiselect(key="tok_keys").value) == {"minilm-embedded", "smollm2-embedded"}
    captions = " ".join(c.value for c in page.caption)
    assert "Unavailable offline" in captions and "GPT-2 (Hub)" in captions
    assert "chars/token" in captions
    # 2 side by side (text spans + vocabulary pieces with ids each) + 3 trained + 1 step-through
    assert len(side_by_side_html(page)) == 8
    assert any("same 120 merges" in s.value for s in page.success)
    assert len(page.dataframe) >= 2


def test_page_step_through_buttons_move_the_merge(page):
    assert page.slider(key="tok_step").value == 1
    page.button(key="tok_next").click().run()
    assert page.slider(key="tok_step").value == 2
    assert any("Merge 2 of 120" in h.value for h in page.html)
    page.slider(key="tok_step").set_value(120).run()
    page.button(key="tok_next").click().run()  # clamps at the last merge
    assert page.slider(key="tok_step").value == 120
    assert not page.exception


@pytest.mark.parametrize(
    "text",
    [
        "Hello world, this is a normal sentence.",
        *HOSTILE[:4],
        "x" * 200_000,
        ("Long text costs tokens. " * 9_000)[:200_000],
        "",
    ],
    ids=["sentence", "script", "emoji-zwj", "rtl", "specials", "200k-x", "200k-prose", "empty"],
)
def test_page_with_real_and_hostile_inputs(page, text):
    page.text_area(key="tok_text").input(text).run()
    assert not page.exception, [e.value for e in page.exception]
    if not text:
        assert any("Type a sentence" in i.value for i in page.info)
        return
    spans = side_by_side_html(page)
    assert len(spans) >= 5  # both tokenizers, the three trained ones (+ the step-through)
    if text.startswith("<script>"):
        # "<" and "script" are separate tokens: each span is escaped on its own.
        assert all("<script" not in h for h in spans)
        assert sum("&lt;" in h for h in spans) >= 5  # 2 pretrained + 3 trained tokenizers
    if len(text) == 200_000:
        assert any("only the first 5,000 are used" in c.value for c in page.caption)
    if text.startswith("Long"):  # ~1,000 WordPiece tokens: past MiniLM's 512
        assert any("at most 512 tokens" in c.value for c in page.caption)


def test_page_pasted_corpus_and_scratch_bpe_on_the_input():
    at = open_page("views/tokenization.py")
    at.radio(key="tok_src").set_value("Paste my own").run()
    assert any("paste a training corpus" in i.value for i in at.info)
    at.text_area(key="tok_corpus").input("just three words").run()
    assert any("3 words" in w.value for w in at.warning)
    corpus = "the cat sat on the mat and the dog sat on the log " * 10
    at.text_area(key="tok_corpus").input(corpus).run()
    assert not at.main.warning and not at.exception  # (the sidebar's "Offline" stays)
    assert any("corpus ran out of pieces" in c.value for c in at.caption)
    # From-scratch BPE on the (hostile) input text instead of the built-in corpus.
    at.radio(key="tok_bpe_src").set_value("The text above").run()
    for text in ("<script>alert(1)</script> " * 200, "a b c", "", "👩‍👩‍👧 שלום עולם שלום"):
        at.text_area(key="tok_text").input(text).run()
        assert not at.exception, [e.value for e in at.exception]
        if text.startswith("<script>"):
            assert any("first 2,000 of your" in c.value for c in at.caption)
            assert any("same" in s.value and "merges" in s.value for s in at.success)
        if text == "a b c":
            assert any("no pair to merge" in i.value for i in at.info)
