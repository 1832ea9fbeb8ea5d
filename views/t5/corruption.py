"""Tab 2: span corruption with sentinels, on the user's text."""

from __future__ import annotations

import html

import streamlit as st

from lessons import span_corruption as sc
from lessons import t5 as T5
from lessons.tokenizer_training import builtin_corpus
from models import registry
from ui.models import get_tokenizer
from ui.widgets import empty_hint, guarded_text
from views.t5.common import k

OFFLINE = "Unigram trained here on the built-in corpus (offline)"
REAL = "T5's own SentencePiece tokenizer (Hub)"


@st.cache_resource(show_spinner="Training a Unigram tokenizer on the built-in corpus…")
def offline_tokenizer():
    return T5.unigram_tokenizer(builtin_corpus().splitlines(), 2_000, ["<pad>", "</s>", "<unk>"])


def _spans(tokens, noise=None) -> str:
    out = []
    for i, t in enumerate(tokens):
        if sc.is_sentinel(t):
            style = "background:#7c3aed;color:white"
        elif noise is not None and noise[i]:
            style = "background:#fecaca;text-decoration:line-through"
        else:
            style = "background:#e5e7eb"
        out.append(f'<span style="{style};border-radius:3px;padding:1px 3px;margin:1px;'
                   f'font-family:monospace">{html.escape(t)}</span>')  # fmt: skip
    return '<div style="line-height:2.1">' + "".join(out) + "</div>"


def render() -> None:
    st.markdown(
        "T5 is pre-trained by **span corruption**: hide random spans of the text, put one "
        "**sentinel** (`<extra_id_0>`, `<extra_id_1>`, …) in the place of each, and train the "
        "model to write the hidden spans after their sentinels. The paper settled on a "
        "corruption rate of 15% and a mean span length of 3."
    )
    text = guarded_text("Your text", "Thank you for inviting me to your party last week, it "
                        "was a wonderful evening with old friends.", key=k("sc_text"),
                        max_chars=2_000)  # fmt: skip
    real = registry.get_choice("t5-tok").available()
    which = st.radio("Tokenizer", [REAL, OFFLINE] if real else [OFFLINE], horizontal=True,
                     key=k("sc_tok"))  # fmt: skip
    c1, c2, c3 = st.columns(3)
    rate = c1.slider("Corruption rate", 0.05, 0.5, 0.15, step=0.01, key=k("rate"))
    span = c2.slider("Mean span length", 1.0, 10.0, 3.0, step=0.5, key=k("span"))
    seed = c3.number_input("Seed", 0, 10_000, 0, key=k("seed"))
    if text.empty:
        empty_hint()
        return
    tok = get_tokenizer("t5-tok").tokenizer if which == REAL else offline_tokenizer()
    pieces = tok.tokenize(text.text)[:400]
    if len(pieces) < 2:
        st.info("Type at least two tokens to corrupt.", icon=":material/edit:")
        return
    c = sc.corrupt(pieces, rate, span, int(seed))
    st.markdown("**Original** (struck out: the corrupted tokens)")
    st.html(_spans(c.tokens, c.noise))
    st.markdown("**Input** (the encoder reads this)")
    st.html(_spans(c.inputs))
    st.markdown("**Target** (the decoder writes this)")
    st.html(_spans(c.targets))
    m = st.columns(4)
    m[0].metric("Tokens", f"{len(c.tokens):,}")
    m[1].metric("Corrupted", f"{sum(c.noise):,}", f"{c.density:.1%} of the text", "off")
    m[2].metric("Spans", f"{c.n_spans:,}", f"mean {sum(c.noise) / c.n_spans:.1f} tokens", "off")
    m[3].metric("Input + target", f"{len(c.inputs):,} + {len(c.targets):,}")
    ok = sc.reconstruct(c.inputs, c.targets) == list(c.tokens)
    mean, sd, mspan = sc.density_spread(len(c.tokens), rate, span)
    st.caption(
        f"{'✓' if ok else '✗'} input + target rebuild the original exactly. Over 200 seeds on "
        f"these {len(c.tokens):,} tokens: corrupted share {mean:.1%} ± {sd:.1%} (the rate fixes "
        f"the count; only where the spans fall changes), mean span {mspan:.2f} tokens. The "
        f"target is {len(c.targets) / len(c.tokens):.0%} as long as the text: the decoder "
        "writes only what was hidden, which is why this objective trains fast."
    )
