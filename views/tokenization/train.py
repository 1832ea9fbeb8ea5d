"""Tab 2: train BPE, WordPiece and Unigram on the same words, then compare their compression of
the text with the pretrained tokenizers of tab 1."""

from __future__ import annotations

import hashlib

import streamlit as st
from tokenizers import Tokenizer

from figures import tokenization as fig
from lessons import tokenization, tokenizer_training
from ui.page import lesson
from ui.widgets import empty_hint, guarded_text, show_code
from views.tokenization import side
from views.tokenization.spans import spans_html

CORPUS_MAX_CHARS = 50_000  # a pasted training corpus (the Rust trainers are fast)
SOURCES = ("Built-in corpus", "Paste my own")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@st.cache_data(show_spinner="Training tokenizers…", max_entries=32)
def _train(corpus_sha: str, _corpus: str, algorithm: str, vocab_size: int) -> str:
    return tokenizer_training.train_json(_corpus, algorithm, vocab_size)


def _corpus(k) -> tuple[str, int]:
    """The training corpus and the vocabulary size, from the tab's widgets."""
    c1, c2 = st.columns([2, 3])
    source = c1.radio("Training corpus", SOURCES, horizontal=True, key=k("src"))
    vocab_size = c1.slider("Vocabulary size", 50, 3_000, fig.DEFAULT_VOCAB, step=10, key=k("vocab"),
              help="Includes every character of the corpus and [UNK].")  # fmt: skip
    with c2:
        if source == SOURCES[0]:
            corpus = tokenizer_training.builtin_corpus()
            st.caption(
                f"{len(corpus):,} characters of original English prose about tokenizers and "
                "language models (assets/corpus/)."
            )
            with st.expander("Read the corpus"):
                st.text(corpus)
            return corpus, int(vocab_size)
        limit = f"Up to {CORPUS_MAX_CHARS:,} characters."
        corpus = guarded_text("Training corpus", "", key=k("corpus"),
                              max_chars=CORPUS_MAX_CHARS, height=150, help=limit).text  # fmt: skip
        return corpus, int(vocab_size)


def trained_tokenizers(corpus: str, vocab_size: int) -> dict[str, Tokenizer]:
    """Each algorithm trained on `corpus` (rebuilt from the cached JSON: never shared), or {}
    after saying why not."""
    if not corpus.strip():
        empty_hint("or paste a training corpus")
        return {}
    out: dict[str, Tokenizer] = {}
    try:
        digest = sha(corpus)
        for algo in tokenizer_training.ALGORITHMS:
            tokenizer_training.check(corpus, tokenizer_training.TrainConfig(algo, vocab_size))
            out[algo] = Tokenizer.from_str(_train(digest, corpus, algo, vocab_size))
    except tokenizer_training.CorpusError as exc:
        st.warning(str(exc), icon=":material/warning:")
        return {}
    except Exception as exc:  # the Rust trainers reject some corpora with their own message
        st.warning(f"Training failed: {type(exc).__name__}: {exc}", icon=":material/warning:")
        return {}
    return out


def render(text: str, empty: bool, keys: list[str], o: side.Options, k) -> None:
    lesson(
        "Train all three algorithms on the same words with the same vocabulary size, then see "
        "how well each compresses the text above. Small corpora run out of pieces early."
    )
    corpus, vocab_size = _corpus(k)
    trained = trained_tokenizers(corpus, vocab_size)
    if trained and empty:
        empty_hint("a sentence")
    elif trained:
        results = [tokenizer_training.compression(a, t, text) for a, t in trained.items()]
        reference = side.reference(text, keys, o.split_special)
        st.plotly_chart(fig.compression(results, reference), key=k("compression"))
        st.caption(
            "Blue: trained here on the corpus; gray: the pretrained tokenizers picked above. "
            "Their vocabularies are far larger and were trained on far more text."
        )
        for col, r in zip(st.columns(len(results)), results, strict=True):
            tok = trained[r.name]
            tokens = tokenization.from_encoding(tok, tok.encode(text))
            with col:
                st.markdown(f"**{r.name}**")
                short = r.vocab_size < vocab_size
                note = f" (asked {vocab_size:,}: the corpus ran out of pieces)" if short else ""
                st.caption(
                    f"{r.tokens:,} tokens · {r.chars_per_token:.2f} chars/token · "
                    f"{r.unknown:,} [UNK] · vocabulary {r.vocab_size:,}{note}"
                )
                st.html(spans_html(text, tokens, o.show_ws))
    show_code(tokenizer_training.train_tokenizer, tokenizer_training.compression,
              tokenization.from_encoding)  # fmt: skip
