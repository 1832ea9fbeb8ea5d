"""Offsets alignment, trained tokenizers and the Tokenization page, on the embedded tokenizers."""

from __future__ import annotations

import pytest

import figures.tokenization as fig
from lessons import tokenization, tokenizer_training
from lessons.tokenizer_training import Compression, CorpusError, TrainConfig
from models import registry
from models import tokenizer_standins as standins
from tests.apptest import assert_ok, html_of, open_page, texts
from tests.tabs import open_tab
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


# --- offline stand-ins, figures, warm ---------------------------------------------------------


def test_offline_hub_tokenizers_get_an_embedded_stand_in_that_says_so():
    keys = ["minilm-embedded", "gpt2-tok", "bert-cased-tok", "t5-tok", "llama3-tok"]
    shown = standins.resolve(keys)
    assert [s.key for s in shown] == [
        "minilm-embedded", "smollm2-embedded", "minilm-embedded", "unigram-corpus",
        "smollm2-embedded",
    ]  # fmt: skip
    assert shown[0].note is None and not shown[0].standin
    assert "GPT-2 (Hub) needs the Hugging Face Hub" in shown[1].note
    assert "SmolLM2-135M-Instruct (embedded)" in shown[1].note
    assert "stands in" in standins.option_label("t5-tok")
    assert standins.option_label("minilm-embedded") == "MiniLM-L6 (embedded) · WordPiece (uncased)"


def test_the_unigram_stand_in_is_a_real_unigram_with_offsets():
    from models import loader

    handle = loader.load(standins.UNIGRAM_KEY)
    assert handle.choice.tokenizer_algo.startswith("Unigram")
    tokens = tokenization.tokenize(handle.tokenizer, SENTENCE)
    assert covered_text(tokenization.align(SENTENCE, tokens)) == SENTENCE
    model = __import__("json").loads(handle.tokenizer.backend_tokenizer.to_str())["model"]
    assert model["type"] == "Unigram" and 100 < len(handle.tokenizer) <= standins.UNIGRAM_VOCAB


def test_online_code_path_loads_a_hub_tokenizer_from_the_cache(monkeypatch, tmp_path):
    from transformers import BertConfig

    from tests.fakehub import COMMIT, fake_hub

    repo = "openai-community/gpt2"
    cache = fake_hub(monkeypatch, tmp_path, {repo: "tokenizer"})
    # transformers 5's AutoTokenizer reads config.json first; fakehub's "tokenizer" kind saves
    # only the tokenizer, so the snapshot gets the config a real repo has.
    BertConfig().save_pretrained(cache / f"models--{repo.replace('/', '--')}/snapshots/{COMMIT}")
    assert registry.get_choice("gpt2-tok").available()
    assert standins.resolve(["gpt2-tok"]) == [standins.Shown("gpt2-tok", "gpt2-tok")]
    at = open_page("views/tokenization.py")
    at.multiselect(key="tok::keys").set_value(["gpt2-tok"]).run()
    assert_ok(at)
    shown = texts(at)
    assert "**GPT-2 (Hub)** · byte-level BPE" in shown and "stands in" not in shown
    # The cached "GPT-2" is a WordPiece tokenizer (fakehub saves MiniLM's): its pieces show.
    assert "##ize" in html_of(at) and "Ġtoken" not in html_of(at)


def test_compression_figure_labels_are_escaped_and_colored_by_origin():
    trained = [Compression("BPE", 400, 30, 2.5, 0)]
    reference = [Compression("<b>x</b> (30,522)", 30522, 20, 3.75, 1)]
    f = fig.compression(trained, reference)
    assert list(f.data[0].x) == ["BPE<br>trained, 400", "&lt;b&gt;x&lt;/b&gt;<br>(30,522)"]
    assert list(f.data[0].y) == [30, 20] and list(f.data[1].y) == [2.5, 3.75]
    assert list(f.data[0].marker.color) == [fig.TRAINED, fig.PRETRAINED]


def test_warm_computes_the_default_views(minilm, smollm2):
    out = fig.warm([minilm, smollm2])
    assert out["bpe_merges_equal_to_library"] is True
    assert set(out["trained_vocab"]) == set(tokenizer_training.ALGORITHMS)
    counts = list(out["tokens"].values())
    assert len(counts) == 2 and counts[0] != counts[1]  # WordPiece and byte-level BPE differ


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page():
    return open_page("views/tokenization.py")


def side_by_side_html(at) -> list[str]:
    return [h.value for h in at.html if "line-height:2.0" in h.value]


def tab(at, label: str):
    return open_tab(at, "tok::tabs", label)


def test_page_renders_only_the_open_tab_with_real_tokens(page):
    assert [t.value for t in page.title] == ["Tokenization"]
    assert set(page.multiselect(key="tok::keys").value) == {"minilm-embedded", "smollm2-embedded"}
    captions = " ".join(c.value for c in page.caption)
    assert "chars/token" in captions and "Training tokenizers" not in captions
    spans = side_by_side_html(page)
    assert len(spans) == 4  # text spans + vocabulary pieces with ids, per tokenizer
    body = " ".join(spans)
    for piece in ("##ize", "Ġtoken", "9624"):  # WordPiece, byte-level BPE, SmolLM2's id
        assert piece in body
    assert not page.success  # the BPE parity line belongs to a closed tab: not computed
    tab(page, "Train your own")
    assert len(side_by_side_html(page)) == 3
    bars = page.get("plotly_chart")[0].proto.spec
    assert "trained, 400" in bars and "MiniLM-L6\\u003cbr\\u003e(30,522)" in bars
    tab(page, "BPE from scratch, merge by merge")
    assert any("same 120 merges" in s.value for s in page.success)
    tab(page, "Side by side")


def test_offline_stand_in_is_labelled_on_the_page(page):
    page.multiselect(key="tok::keys").set_value(["gpt2-tok"]).run()
    assert_ok(page)
    assert any("GPT-2 (Hub) needs the Hugging Face Hub" in c.value for c in page.caption)
    assert "· for GPT-2 (Hub)" in texts(page) and "Ġtoken" in html_of(page)
    page.multiselect(key="tok::keys").set_value(["minilm-embedded", "smollm2-embedded"]).run()


def test_page_step_through_buttons_move_the_merge(page):
    tab(page, "BPE from scratch, merge by merge")
    assert page.slider(key="tok::step").value == 1
    page.button(key="tok::step::next").click().run()
    assert page.slider(key="tok::step").value == 2
    assert any("Merge 2 of 120" in h.value for h in page.html)
    page.button(key="tok::step::prev").click().run()
    assert page.slider(key="tok::step").value == 1
    assert page.button(key="tok::step::prev").disabled
    page.slider(key="tok::step").set_value(120).run()
    assert page.button(key="tok::step::next").disabled  # the last merge: no further
    assert any("Merge 120 of 120" in h.value for h in page.html)
    assert_ok(page)
    tab(page, "Side by side")


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
    page.text_area(key="tok::text").input(text).run()
    assert_ok(page)
    if not text:
        assert any("Type a sentence" in i.value for i in page.info)
        return
    spans = side_by_side_html(page)
    assert len(spans) == 4
    if text.startswith("<script>"):
        # "<" and "script" are separate tokens: each span is escaped on its own.
        assert all("<script" not in h for h in spans)
        assert sum("&lt;" in h for h in spans) >= 2
    if len(text) == 200_000:
        assert any("only the first 5,000 are used" in c.value for c in page.caption)
    if text.startswith("Long"):  # ~1,000 WordPiece tokens: past MiniLM's 512
        assert any("at most 512 tokens" in c.value for c in page.caption)


def test_page_pasted_corpus_and_scratch_bpe_on_hostile_input():
    at = open_page("views/tokenization.py")
    tab(at, "Train your own")
    at.radio(key="tok::src").set_value("Paste my own").run()
    assert any("paste a training corpus" in i.value for i in at.info)
    for corpus in ("just three words", "<script>alert(1)</script> " * 50, "👩‍👩‍👧 שלום " * 40):
        at.text_area(key="tok::corpus").input(corpus).run()
        assert_ok(at)
    assert "<script" not in html_of(at)
    at.text_area(key="tok::corpus").input("just three words").run()
    assert any("3 words" in w.value for w in at.warning)
    corpus = "the cat sat on the mat and the dog sat on the log " * 10
    at.text_area(key="tok::corpus").input(corpus).run()
    assert not at.main.warning
    assert any("corpus ran out of pieces" in c.value for c in at.caption)
    # From-scratch BPE on the (hostile) input text instead of the built-in corpus.
    tab(at, "BPE from scratch, merge by merge")
    at.radio(key="tok::bpe_src").set_value("The text above").run()
    for text in ("<script>alert(1)</script> " * 200, "a b c", "", "👩‍👩‍👧 שלום עולם שלום"):
        at.text_area(key="tok::text").input(text).run()
        assert_ok(at)
        if text.startswith("<script>"):
            assert any("first 2,000 of your" in c.value for c in at.caption)
            assert any("same" in s.value and "merges" in s.value for s in at.success)
            assert "<script" not in html_of(at)
        if text == "a b c":
            assert any("no pair to merge" in i.value for i in at.info)
