"""Tab 3: byte pair encoding written from scratch, learned on the built-in corpus or the text,
checked against tokenizers' BpeTrainer, and stepped through merge by merge."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from figures import tokenization as fig
from lessons import bpe, tokenizer_training
from lessons.tokenization import Token
from ui.page import lesson, presenter
from ui.stepper import stepper
from ui.widgets import empty_hint, show_code
from views.tokenization.spans import spans_html
from views.tokenization.train import sha

STEP_MAX_CHARS = 2_000  # from-scratch BPE on your text: it recounts all pairs after every merge
SOURCES = ("Built-in corpus", "The text above")
CHIP = "background:#fde68a;border-radius:3px;padding:1px 4px;font-family:monospace"


@st.cache_data(show_spinner="Learning merges…", max_entries=16)
def _train_bpe(corpus_sha: str, _corpus: str, num_merges: int) -> bpe.BPE:
    return bpe.train(_corpus, bpe.BPEConfig(num_merges=num_merges))


@st.cache_data(show_spinner=False, max_entries=16)
def _library_merges(corpus_sha: str, _corpus: str, vocab_size: int) -> list[tuple[str, str]]:
    return bpe.library_merges(_corpus, vocab_size)


@st.fragment
def step_through(model: bpe.BPE, sample: str, k) -> None:
    """Only this part reruns when the step changes: the merges are learned already."""
    last = len(model.steps)
    n = stepper("Merge step", last, k("step"), help="◀ / ▶, or the arrow keys on the slider.")
    step = model.steps[n - 1]
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.plotly_chart(fig.merge_pairs(step), key=k("pairs"))
        st.caption("Red: the pair merged. Ties go to the pair of older symbols, as in tokenizers.")
    with right:
        a, b = step.pair
        st.html(
            f"<div>Merge {n:,} of {last:,}: <span style='{CHIP}'>{html.escape(a)}</span> + "
            f"<span style='{CHIP}'>{html.escape(b)}</span> → "
            f"<span style='{CHIP}'>{html.escape(step.token)}</span> "
            f"(seen {step.count:,} times) · vocabulary {bpe.vocab_after(model, n):,} symbols</div>"
        )
        before = bpe.segment(sample, model.merges[: n - 1])
        after = bpe.segment(sample, model.merges[:n])
        st.caption(
            f"The corpus after merge {n:,} (first {len(sample):,} characters): "
            f"{len(before):,} → {len(after):,} tokens. Gray: still single characters."
        )
        tokens = [Token(i, p, s, e, False) for i, (p, s, e) in enumerate(after)]
        st.html(spans_html(sample, tokens, False, mute_chars=True))
        with st.expander("All merges so far"):
            rows = [
                {"rank": s.rank, "left": s.pair[0], "right": s.pair[1], "new symbol": s.token,
                 "count": s.count}
                for s in model.steps[:n]
            ]  # fmt: skip
            st.dataframe(pd.DataFrame(rows), hide_index=True, height=240)


def _parity(model: bpe.BPE, corpus: str) -> None:
    theirs = _library_merges(sha(corpus), corpus, len(model.vocab))
    same = bpe.agreement(model.merges, theirs)
    if same == len(model.merges) == len(theirs):
        st.success(
            f"tokenizers' BpeTrainer learned the same {len(model.merges):,} merges in the same "
            "order.",
            icon=":material/check_circle:",
        )
    else:
        st.warning(
            f"tokenizers' BpeTrainer agrees on the first {same:,} merges, then differs "
            "(Python's and Rust's regex word classes split some scripts differently).",
            icon=":material/difference:",
        )


def render(text: str, k) -> None:
    lesson(
        "Byte pair encoding in 40 lines of Python: split into words, start from characters, "
        "count every adjacent pair, merge the most frequent one everywhere, repeat. The list of "
        "merges is the tokenizer. Step through it below."
    )
    c1, c2 = st.columns(2)
    src = c1.radio("Learn merges from", SOURCES, horizontal=True, key=k("bpe_src"))
    num_merges = c2.slider("Merges to learn", 10, 400, fig.DEFAULT_MERGES, step=10,
                           key=k("merges"))  # fmt: skip
    corpus = tokenizer_training.builtin_corpus() if src == SOURCES[0] else text[:STEP_MAX_CHARS]
    if src == SOURCES[1] and len(text) > STEP_MAX_CHARS:
        st.caption(
            f":material/info: From-scratch BPE recounts every pair after each merge, so it "
            f"learns from the first {STEP_MAX_CHARS:,} of your {len(text):,} characters."
        )
    if not bpe.pretokenize(corpus):
        empty_hint("a sentence")
    else:
        model = _train_bpe(sha(corpus), corpus, int(num_merges))
        if not model.steps:
            st.info(
                "Every word is a single character: there is no pair to merge. Type longer words.",
                icon=":material/info:",
            )
        else:
            if len(model.steps) < num_merges:
                st.caption(
                    f"Only {len(model.steps):,} merges were possible: after them every word of "
                    "the corpus is a single symbol."
                )
            _parity(model, corpus)
            # On a projector the type is larger: a shorter sample keeps the tab on two screens.
            sample = corpus[: fig.BPE_SAMPLE_CHARS // (4 if presenter() else 1)]
            step_through(model, sample, k)
    show_code(bpe.train, bpe.pair_counts, bpe.merge_pair, bpe.encode_word, bpe.segment)
