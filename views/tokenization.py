"""Tokenization: one text through several real tokenizers, tokenizers trained on the spot, and
byte pair encoding written from scratch, merge by merge."""

from __future__ import annotations

import hashlib
import html
import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from lessons import bpe, tokenization, tokenizer_training
from lessons.tokenization import Span, Token
from models import registry
from ui.models import get_tokenizer
from ui.widgets import empty_hint, guarded_text, show_code, token_spans_html

PIECE_ROW_CAP = 400  # pieces drawn inline; the table holds them all

MAX_CHARS = 5_000  # side by side and the trained-tokenizer comparison
STEP_MAX_CHARS = 2_000  # from-scratch BPE on your text: it recounts all pairs after every merge
CORPUS_MAX_CHARS = 50_000  # a pasted training corpus (the Rust trainers are fast)
SAMPLE_CHARS = 1_200  # how much of the corpus the step-through draws
IDS_SHOWN = 200
DEFAULT_TEXT = "Transformers tokenize unbelievably well, even naïve cafés and 👩‍👩‍👧 emoji."
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=340)

LESSON = """
A model never sees characters. A **tokenizer** cuts the text into pieces from a fixed vocabulary
and maps each piece to an **id**, a row of the embedding table.

- **WordPiece** (BERT, MiniLM) lowercases, splits on spaces and punctuation, then takes the
  longest vocabulary piece at each point; `##` marks a piece inside a word; a word it cannot
  spell becomes `[UNK]`. It adds `[CLS]` … `[SEP]` around every input.
- **Byte-level BPE** (GPT-2, Llama, SmolLM2) replays learned merges on the text's UTF-8 bytes; a
  leading space belongs to the next token (`Ġ` in the vocabulary), and any string can be encoded:
  no `[UNK]`, but an emoji may take several tokens.
- **Unigram** (T5, via SentencePiece) picks the most probable segmentation.

**Offsets** map every token back to the characters it covers; that is how the colors line up.
More characters per token means shorter sequences: cheaper attention and more text in context.
"""


# --- cached work -----------------------------------------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@st.cache_data(show_spinner=False, max_entries=64)
def _tokenize(key: str, text: str, split_special: bool, _handle) -> list[Token]:
    with _handle.lock:  # fast tokenizers are not thread-safe
        return tokenization.tokenize(_handle.tokenizer, text, True, split_special)


@st.cache_data(show_spinner="Training tokenizers…", max_entries=32)
def _train(corpus_sha: str, _corpus: str, algorithm: str, vocab_size: int) -> str:
    """The trained tokenizer as JSON: each run rebuilds its own copy, so none is shared."""
    config = tokenizer_training.TrainConfig(algorithm, vocab_size)
    return tokenizer_training.train_tokenizer(_corpus, config).to_str()


@st.cache_data(show_spinner="Learning merges…", max_entries=16)
def _train_bpe(corpus_sha: str, _corpus: str, num_merges: int) -> bpe.BPE:
    return bpe.train(_corpus, bpe.BPEConfig(num_merges=num_merges))


@st.cache_data(show_spinner=False, max_entries=16)
def _library_merges(corpus_sha: str, _corpus: str, vocab_size: int) -> list[tuple[str, str]]:
    """tokenizers' BpeTrainer on the same words, for the parity line under the step-through."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False)
    tok.train_from_iterator(_corpus.splitlines(), trainer)
    return [tuple(m) for m in json.loads(tok.to_str())["model"]["merges"]]


# --- drawing helpers -------------------------------------------------------------------------


def _title(span: Span, tokens: list[Token]) -> str:
    if not span.tokens:
        return "not part of any token (skipped by the pre-tokenizer)"
    return " | ".join(
        f"#{i} id {tokens[i].id} {tokens[i].piece!r} [{tokens[i].start}:{tokens[i].end}]"
        + (" special" if tokens[i].special else "")
        for i in span.tokens
    )


def _spans_html(
    spans: list[Span], tokens: list[Token], show_ws: bool, mute_chars: bool = False
) -> str:
    """Gray: gaps, inserted tokens and, with mute_chars, pieces that are still one character."""
    muted = [
        i
        for i, s in enumerate(spans)
        if s.kind == "gap" or s.start == s.end or (mute_chars and len(s.text) == 1)
    ]
    return token_spans_html(
        [s.text for s in spans], [_title(s, tokens) for s in spans], show_ws=show_ws, muted=muted
    )


def _table(text: str, tokens: list[Token], show_special: bool) -> pd.DataFrame:
    rows = [
        {
            "#": i,
            "piece": t.piece,
            "id": t.id,
            "start": t.start,
            "end": t.end,
            "text": text[t.start : t.end],
            "special": t.special,
        }
        for i, t in enumerate(tokens)
        if show_special or not t.inserted
    ]
    return pd.DataFrame(rows, columns=["#", "piece", "id", "start", "end", "text", "special"])


def _ids_line(tokens: list[Token]) -> str:
    ids = [t.id for t in tokens]
    more = f" … (+{len(ids) - IDS_SHOWN:,} more)" if len(ids) > IDS_SHOWN else ""
    return str(ids[:IDS_SHOWN]) + more


def _escape_label(text: str) -> str:
    return html.escape(text) or "␣"  # plotly renders a little HTML in labels


# --- page ------------------------------------------------------------------------------------

st.title("Tokenization")
lesson_col, input_col = st.columns([2, 3], gap="large")
with lesson_col:
    st.markdown(LESSON)
with input_col:
    guarded = guarded_text(
        "Text to tokenize",
        DEFAULT_TEXT,
        key="tok_text",
        max_chars=MAX_CHARS,
        height=120,
        help=f"Up to {MAX_CHARS:,} characters. Try emoji, other scripts, code or numbers.",
    )
    text = guarded.text
    all_choices = registry.choices("tokenizer")
    available = [c for c in all_choices if c.available()]
    missing = [c for c in all_choices if not c.available()]
    keys = st.multiselect(
        "Tokenizers",
        [c.key for c in available],
        default=[c.key for c in available if c.source == "embedded"],
        format_func=lambda k: (
            f"{registry.get_choice(k).label} · {registry.get_choice(k).tokenizer_algo}"
        ),
        key="tok_keys",
    )
    if missing:
        st.caption(
            ":material/wifi_off: Unavailable offline (need the Hugging Face Hub): "
            + ", ".join(c.label for c in missing)
        )
    t1, t2, t3 = st.columns(3)
    show_special = t1.toggle("Special tokens", value=True, key="tok_special")
    show_ws = t2.toggle(
        "Show spaces", value=False, key="tok_ws", help="Visible whitespace: · space, ↵ newline"
    )
    split_special = t3.toggle(
        "Split typed specials",
        value=False,
        key="tok_split",
        help="By default a typed '[CLS]' or '<|im_start|>' becomes the real control token: "
        "prompt injection. On: it is split into ordinary pieces.",
    )

side_tab, train_tab, scratch_tab = st.tabs(
    ["Side by side", "Train your own", "BPE from scratch, merge by merge"]
)

# 1. The same text through each tokenizer ---------------------------------------------------
reference: list[tokenizer_training.Compression] = []  # pretrained results, for the chart in tab 2
with side_tab:
    if guarded.empty:
        empty_hint("a sentence")
    elif not keys:
        st.info("Pick at least one tokenizer above.", icon=":material/token:")
    else:
        cols = st.columns(min(len(keys), 3))
        for n, key in enumerate(keys):
            with cols[n % len(cols)]:
                handle = get_tokenizer(key)
                choice = handle.choice
                try:
                    tokens = _tokenize(choice.key, text, split_special, _handle=handle)
                except ValueError as exc:
                    st.warning(f"{choice.label}: {exc}")
                    continue
                tok = handle.tokenizer
                s = tokenization.stats(text, tokens, tok.unk_token_id)
                reference.append(
                    tokenizer_training.Compression(
                        f"{choice.label.split(' (')[0]} ({len(tok):,})",
                        len(tok),
                        s.content_tokens,
                        s.chars_per_token,
                        s.unknown,
                    )
                )
                st.markdown(f"**{choice.label}** · {choice.tokenizer_algo}")
                st.caption(
                    f"**{s.content_tokens:,} tokens** + {s.tokens - s.content_tokens} added "
                    f"special · {s.chars_per_token:.2f} chars/token · {s.unknown} unknown "
                    f"· vocabulary {len(tok):,}"
                )
                st.html(
                    _spans_html(tokenization.align(text, tokens, show_special), tokens, show_ws)
                )
                shown = tokens if show_special else [t for t in tokens if not t.inserted]
                st.caption("Vocabulary pieces with their ids:")
                st.html(
                    token_spans_html(
                        [t.piece for t in shown[:PIECE_ROW_CAP]],
                        labels=[str(t.id) for t in shown[:PIECE_ROW_CAP]],
                        show_ws=show_ws,
                    )
                )
                if len(shown) > PIECE_ROW_CAP:
                    st.caption(f"First {PIECE_ROW_CAP} of {len(shown):,} pieces; all in the table.")
                limit = getattr(tok, "model_max_length", None)
                if limit and limit < 1_000_000 and s.tokens > limit:
                    st.caption(
                        f":material/content_cut: This model reads at most {limit:,} tokens; "
                        f"the other {s.tokens - limit:,} would be cut."
                    )
                with st.expander("Token table and ids"):
                    st.dataframe(_table(text, tokens, show_special), hide_index=True, height=260)
                    st.code(
                        _ids_line(
                            tokens if show_special else [t for t in tokens if not t.inserted]
                        ),
                        wrap_lines=True,
                    )
        st.caption(
            "Hover a token for its id, vocabulary piece and offsets. Gray: text no token covers "
            "(WordPiece drops spaces) and tokens the tokenizer added. Byte-level pieces that "
            "share one character (emoji bytes) are drawn as one span."
        )
    show_code(tokenization.tokenize, tokenization.align, tokenization.stats)

# 2. Train BPE, WordPiece and Unigram -------------------------------------------------------
with train_tab:
    st.markdown(
        "Train all three algorithms on the same words with the same vocabulary size, then see "
        "how well each compresses the text above. Small corpora run out of pieces early."
    )
    c1, c2 = st.columns([2, 3])
    source = c1.radio(
        "Training corpus", ["Built-in corpus", "Paste my own"], horizontal=True, key="tok_src"
    )
    vocab_size = c1.slider(
        "Vocabulary size",
        50,
        3_000,
        400,
        step=10,
        key="tok_vocab",
        help="Includes every character of the corpus and [UNK].",
    )
    with c2:
        if source == "Built-in corpus":
            corpus = tokenizer_training.builtin_corpus()
            st.caption(
                f"{len(corpus):,} characters of original English prose about tokenizers and "
                "language models (assets/corpus/)."
            )
            with st.expander("Read the corpus"):
                st.text(corpus)
        else:
            corpus = guarded_text(
                "Training corpus",
                "",
                key="tok_corpus",
                max_chars=CORPUS_MAX_CHARS,
                height=150,
                help=f"Up to {CORPUS_MAX_CHARS:,} characters.",
            ).text

    trained: dict[str, Tokenizer] = {}
    if not corpus.strip():
        empty_hint("or paste a training corpus")
    try:
        sha = _sha(corpus)
        for algo in tokenizer_training.ALGORITHMS if corpus.strip() else ():
            tokenizer_training.check(corpus, tokenizer_training.TrainConfig(algo, vocab_size))
            trained[algo] = Tokenizer.from_str(_train(sha, corpus, algo, vocab_size))
    except tokenizer_training.CorpusError as exc:
        st.warning(str(exc), icon=":material/warning:")
    except Exception as exc:  # the Rust trainers reject some corpora with their own message
        st.error(f"Training failed: {type(exc).__name__}: {exc}")

    if trained and guarded.empty:
        empty_hint("a sentence")
    elif trained:
        results = [tokenizer_training.compression(a, t, text) for a, t in trained.items()]
        # Our own labels, escaped all the same: plotly renders a little HTML in tick labels.
        bars = [(f"{r.name}<br>trained, {r.vocab_size:,}", r, "#2563eb") for r in results] + [
            (_escape_label(r.name).replace(" (", "<br>("), r, "#9ca3af") for r in reference
        ]
        fig = make_subplots(
            1, 2, subplot_titles=("Tokens for your text", "Characters per token (higher = better)")
        )
        names = [b[0] for b in bars]
        colors = [b[2] for b in bars]
        fig.add_bar(x=names, y=[b[1].tokens for b in bars], marker_color=colors, row=1, col=1)
        fig.add_bar(
            x=names, y=[b[1].chars_per_token for b in bars], marker_color=colors, row=1, col=2
        )
        fig.update_yaxes(title_text="tokens (count)", row=1, col=1)
        fig.update_yaxes(title_text="characters / token", row=1, col=2)
        fig.update_xaxes(title_text="tokenizer (vocabulary size)")
        fig.update_layout(showlegend=False, **{**LAYOUT, "height": 420})
        st.plotly_chart(fig, key="tok_compression")
        st.caption(
            "Blue: trained here on the corpus; gray: the pretrained tokenizers of the first tab. "
            "Their vocabularies are far larger and were trained on far more text."
        )
        cols = st.columns(len(results))
        for col, r in zip(cols, results, strict=True):
            tok = trained[r.name]
            tokens = tokenization.from_encoding(tok, tok.encode(text))
            with col:
                st.markdown(f"**{r.name}**")
                note = (
                    f" (asked {vocab_size:,}: the corpus ran out of pieces)"
                    if r.vocab_size < vocab_size
                    else ""
                )
                st.caption(
                    f"{r.tokens:,} tokens · {r.chars_per_token:.2f} chars/token · "
                    f"{r.unknown} [UNK] · vocabulary {r.vocab_size:,}{note}"
                )
                st.html(_spans_html(tokenization.align(text, tokens), tokens, show_ws))
    show_code(
        tokenizer_training.train_tokenizer,
        tokenizer_training.compression,
        tokenization.from_encoding,
    )

# 3. BPE from scratch, merge by merge -------------------------------------------------------


def _merge_step(delta: int, last: int) -> None:
    st.session_state["tok_step"] = min(max(1, st.session_state.get("tok_step", 1) + delta), last)


@st.fragment
def step_through(model: bpe.BPE, sample: str) -> None:
    """Only this part reruns when the step changes: the merges are learned already."""
    last = len(model.steps)
    if st.session_state.get("tok_step", 1) > last:
        st.session_state["tok_step"] = last
    b1, b2, b3 = st.columns([1, 1, 6], vertical_alignment="bottom")
    b1.button("◀ Prev", on_click=_merge_step, args=(-1, last), key="tok_prev")
    b2.button("Next ▶", on_click=_merge_step, args=(1, last), key="tok_next")
    k = b3.slider("Merge step", 1, last, key="tok_step")
    step = model.steps[k - 1]

    left, right = st.columns([2, 3], gap="large")
    with left:
        labels = [_escape_label(f"{a!r} + {b!r}") for (a, b), _ in step.top_pairs]
        fig = go.Figure(
            go.Bar(
                x=[c for _, c in step.top_pairs][::-1],
                y=labels[::-1],
                orientation="h",
                marker_color=["#9ca3af"] * (len(labels) - 1) + ["#dc2626"],
            )
        )
        fig.update_layout(
            title=f"Most frequent pairs before merge {k}",
            xaxis_title="count in the corpus",
            yaxis_title="adjacent pair",
            **LAYOUT,
        )
        st.plotly_chart(fig, key="tok_pairs")
        st.caption("Red: the pair merged. Ties go to the pair of older symbols, as in tokenizers.")
    with right:
        a, b = step.pair
        vocab = len(model.alphabet) + len({s.token for s in model.steps[:k]})
        chip = "background:#fde68a;border-radius:3px;padding:1px 4px;font-family:monospace"
        st.html(
            f"<div>Merge {k} of {last}: <span style='{chip}'>{html.escape(a)}</span> + "
            f"<span style='{chip}'>{html.escape(b)}</span> → "
            f"<span style='{chip}'>{html.escape(step.token)}</span> "
            f"(seen {step.count:,} times) · vocabulary {vocab:,} symbols</div>"
        )
        before = bpe.segment(sample, model.merges[: k - 1])
        after = bpe.segment(sample, model.merges[:k])
        st.caption(
            f"The corpus after merge {k} (first {len(sample):,} characters): "
            f"{len(before):,} → {len(after):,} tokens. Gray: still single characters."
        )
        tokens = [Token(i, p, s, e, False) for i, (p, s, e) in enumerate(after)]
        st.html(_spans_html(tokenization.align(sample, tokens), tokens, False, mute_chars=True))
        with st.expander("All merges so far"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "rank": s.rank,
                            "left": s.pair[0],
                            "right": s.pair[1],
                            "new symbol": s.token,
                            "count": s.count,
                        }
                        for s in model.steps[:k]
                    ]
                ),
                hide_index=True,
                height=240,
            )


with scratch_tab:
    st.markdown(
        "Byte pair encoding in 40 lines of Python: split into words, start from characters, "
        "count every adjacent pair, merge the most frequent one everywhere, repeat. The list of "
        "merges is the tokenizer. Step through it below."
    )
    c1, c2 = st.columns(2)
    src = c1.radio(
        "Learn merges from",
        ["Built-in corpus", "The text above"],
        horizontal=True,
        key="tok_bpe_src",
    )
    num_merges = c2.slider("Merges to learn", 10, 400, 120, step=10, key="tok_merges")
    if src == "Built-in corpus":
        bpe_corpus = tokenizer_training.builtin_corpus()
    else:
        bpe_corpus = text[:STEP_MAX_CHARS]
        if len(text) > STEP_MAX_CHARS:
            st.caption(
                f":material/info: From-scratch BPE recounts every pair after each merge, so it "
                f"learns from the first {STEP_MAX_CHARS:,} of your {len(text):,} characters."
            )
    if not bpe.pretokenize(bpe_corpus):
        empty_hint("a sentence")
    else:
        bpe_sha = _sha(bpe_corpus)
        model = _train_bpe(bpe_sha, bpe_corpus, num_merges)
        if not model.steps:
            st.info(
                "Every word is a single character: there is no pair to merge. Type longer words.",
                icon=":material/info:",
            )
        else:
            if len(model.steps) < num_merges:
                st.caption(
                    f"Only {len(model.steps)} merges were possible: after them every word of the "
                    "corpus is a single symbol."
                )
            reference_merges = _library_merges(bpe_sha, bpe_corpus, len(model.vocab))
            if reference_merges == model.merges:
                st.success(
                    f"tokenizers' BpeTrainer learned the same {len(model.merges)} merges in the "
                    "same order.",
                    icon=":material/check_circle:",
                )
            else:
                pairs = zip(model.merges, reference_merges, strict=False)
                diff = next(
                    (i for i, (x, y) in enumerate(pairs) if x != y),
                    min(len(model.merges), len(reference_merges)),
                )
                st.warning(
                    f"tokenizers' BpeTrainer agrees on the first {diff} merges, then differs "
                    "(Python's and Rust's regex word classes split some scripts differently).",
                    icon=":material/difference:",
                )
            step_through(model, bpe_corpus[:SAMPLE_CHARS])
    show_code(bpe.train, bpe.pair_counts, bpe.merge_pair, bpe.encode_word, bpe.segment)
