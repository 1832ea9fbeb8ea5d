"""Figures of the Tokenization page, its default inputs, and `warm()` (those inputs computed).

compression(trained, reference)   tokens and characters per token, trained vs pretrained
merge_pairs(step)                 the most frequent pairs before one BPE merge
warm()                            the default text through the embedded tokenizers, the
                                  three trained tokenizers and the BPE step-through
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures import COLORS, layout, number, text_label

# The page's default inputs (the page and warm() both read these).
DEFAULT_TEXT = "Transformers tokenize unbelievably well, even naïve cafés and 👩‍👩‍👧 emoji."
DEFAULT_VOCAB = 400
DEFAULT_MERGES = 120
BPE_SAMPLE_CHARS = 1_200  # how much of the corpus the step-through draws
TRAINED, PRETRAINED = COLORS[0], "#9ca3af"


def _two_lines(name: str) -> str:
    return text_label(name, 40).replace(" (", "<br>(") or "␣"


def compression(trained: Sequence[Any], reference: Sequence[Any]) -> go.Figure:
    """Two panels of bars: tokens for the text, characters per token. `trained` and `reference`
    are `lessons.tokenizer_training.Compression`s (trained here: blue; pretrained: gray)."""
    bars = [
        (f"{text_label(r.name)}<br>trained, {number(r.vocab_size)}", r, TRAINED) for r in trained
    ]
    bars += [(_two_lines(r.name), r, PRETRAINED) for r in reference]
    fig = make_subplots(
        1, 2, subplot_titles=("Tokens for your text", "Characters per token (higher = better)")
    )
    names, colors = [b[0] for b in bars], [b[2] for b in bars]
    for col, values, labels in (
        (1, [b[1].tokens for b in bars], [number(b[1].tokens) for b in bars]),
        (2, [b[1].chars_per_token for b in bars], [f"{b[1].chars_per_token:.2f}" for b in bars]),
    ):
        fig.add_bar(
            x=names, y=values, marker_color=colors, text=labels, textposition="auto", row=1, col=col
        )
    fig.update_yaxes(title_text="tokens (count)", tickformat=",", row=1, col=1)
    fig.update_yaxes(title_text="characters / token", row=1, col=2)
    fig.update_xaxes(title_text="tokenizer (vocabulary size)")
    return layout(fig, height=400, showlegend=False)


def merge_pairs(step: Any) -> go.Figure:
    """The most frequent adjacent pairs before one merge (a `lessons.bpe.MergeStep`), the merged
    one in red on top."""
    pairs = list(step.top_pairs)
    labels = [text_label(f"{a!r} + {b!r}") for (a, b), _ in pairs]
    fig = go.Figure(
        go.Bar(
            x=[c for _, c in pairs],
            y=labels,
            orientation="h",
            marker_color=[COLORS[1]] + [PRETRAINED] * (len(pairs) - 1),
            text=[number(c) for _, c in pairs],
            textposition="auto",
        )
    )
    return layout(
        fig,
        title=f"Most frequent pairs before merge {number(step.rank + 1)}",
        xaxis_title="count in the corpus",
        yaxis={"title": "adjacent pair", "autorange": "reversed"},
    )


def warm(handles: Sequence[Any] | None = None) -> dict[str, Any]:
    """Compute what the page's first views show at their defaults (for `make preflight`): the
    default text through the embedded tokenizers (or the given handles), the three tokenizers
    trained on the built-in corpus, and the from-scratch BPE with its parity to tokenizers.
    Returns what it found, with the seconds it took."""
    from tokenizers import Tokenizer

    from lessons import bpe, tokenization, tokenizer_training
    from models import loader

    t0 = time.perf_counter()
    if handles is None:
        handles = [
            loader.load(k, tokenizer_only=True) for k in ("minilm-embedded", "smollm2-embedded")
        ]
    reference = []
    for h in handles:
        with h.lock:
            tokens = tokenization.tokenize(h.tokenizer, DEFAULT_TEXT)
        reference.append(
            tokenizer_training.pretrained_compression(
                h.choice.label, len(h.tokenizer), DEFAULT_TEXT, tokens, h.tokenizer.unk_token_id
            )
        )
    corpus = tokenizer_training.builtin_corpus()
    trained = []
    for algo in tokenizer_training.ALGORITHMS:
        tok = Tokenizer.from_str(tokenizer_training.train_json(corpus, algo, DEFAULT_VOCAB))
        trained.append(tokenizer_training.compression(algo, tok, DEFAULT_TEXT))
    model = bpe.train(corpus, bpe.BPEConfig(num_merges=DEFAULT_MERGES))
    same = bpe.agreement(model.merges, bpe.library_merges(corpus, len(model.vocab)))
    compression(trained, reference)
    merge_pairs(model.steps[0])
    return {
        "tokens": {r.name: r.tokens for r in reference},
        "trained_vocab": {r.name: r.vocab_size for r in trained},
        "bpe_merges_equal_to_library": same == len(model.merges),
        "seconds": round(time.perf_counter() - t0, 2),
    }
