"""T5's pre-training objective: span corruption with sentinels.

A fraction of the tokens (the *corruption rate*, 15% in T5) is chosen in spans whose mean length
is `mean_span` (3 in T5). Each span is replaced in the input by one sentinel (`<extra_id_0>`,
`<extra_id_1>`, …), and the target lists each sentinel followed by the tokens it hid, closed by
one last sentinel:

    original  Thank you for inviting me to your party last week .
    input     Thank you <extra_id_0> me to your party <extra_id_1> week .
    target    <extra_id_0> for inviting <extra_id_1> last <extra_id_2>

Input and target together hold every token exactly once (`reconstruct` puts them back), and the
target is short: about rate × n + spans tokens instead of the whole text. The span lengths come
from the same random segmentation as T5's `random_spans_noise_mask` (Raffel et al. 2020, §3.1.4;
t5.data.preprocessors), re-derived with numpy: the noise tokens and the kept tokens are each cut
into `n_spans` random non-empty pieces, which then alternate, kept first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def sentinel(i: int) -> str:
    return f"<extra_id_{i}>"


def is_sentinel(token: str) -> bool:
    return token.startswith("<extra_id_") and token.endswith(">")


def _segments(n_items: int, n_segments: int, rng: np.random.Generator) -> np.ndarray:
    """Cut n_items into n_segments random non-empty lengths (they sum to n_items)."""
    starts = np.zeros(n_items - 1, dtype=bool)
    starts[: n_segments - 1] = True
    rng.shuffle(starts)
    first = np.concatenate([[False], starts])  # (n_items,) True where a new segment starts
    return np.bincount(np.cumsum(first), minlength=n_segments)  # (n_segments,)


def counts(length: int, rate: float, mean_span: float) -> tuple[int, int]:
    """(noise tokens, noise spans) T5 uses for a sequence of `length` tokens."""
    n_noise = min(max(round(length * rate), 1), length - 1)
    n_spans = max(round(min(n_noise, length - n_noise) / mean_span), 1)
    return n_noise, n_spans


def noise_mask(length: int, rate: float, mean_span: float, rng: np.random.Generator) -> np.ndarray:
    """(length,) bool: which tokens are corrupted. The sequence starts with kept tokens."""
    if length < 2:
        return np.zeros(length, dtype=bool)
    n_noise, n_spans = counts(length, rate, mean_span)
    noise_lengths = _segments(n_noise, n_spans, rng)  # (n_spans,)
    kept_lengths = _segments(length - n_noise, n_spans, rng)  # (n_spans,)
    lengths = np.stack([kept_lengths, noise_lengths], axis=1).reshape(-1)  # kept, noise, ...
    return np.repeat(np.arange(2 * n_spans) % 2 == 1, lengths)  # (length,)


@dataclass(frozen=True)
class Corruption:
    tokens: tuple[str, ...]
    noise: tuple[bool, ...]
    inputs: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def n_spans(self) -> int:
        return sum(1 for t in self.inputs if is_sentinel(t))

    @property
    def density(self) -> float:
        return sum(self.noise) / max(len(self.tokens), 1)

    def span_lengths(self) -> list[int]:
        out, run = [], 0
        for flag in [*self.noise, False]:
            if flag:
                run += 1
            elif run:
                out.append(run)
                run = 0
        return out


def apply(tokens: list[str] | tuple[str, ...], mask: np.ndarray) -> Corruption:
    """Input: kept tokens, one sentinel per corrupted span. Target: each sentinel and what it
    hid, then a closing sentinel."""
    inputs: list[str] = []
    targets: list[str] = []
    k = 0
    for i, (tok, noisy) in enumerate(zip(tokens, mask, strict=True)):
        if noisy:
            if i == 0 or not mask[i - 1]:
                inputs.append(sentinel(k))
                targets.append(sentinel(k))
                k += 1
            targets.append(tok)
        else:
            inputs.append(tok)
    targets.append(sentinel(k))
    return Corruption(tuple(tokens), tuple(bool(m) for m in mask), tuple(inputs), tuple(targets))


def corrupt(
    tokens: list[str] | tuple[str, ...], rate: float = 0.15, mean_span: float = 3.0, seed: int = 0
) -> Corruption:
    """Span-corrupt `tokens` the way T5 pre-trains (rate in (0, 1), mean_span >= 1)."""
    if not 0.0 < rate < 1.0:
        raise ValueError("the corruption rate must be between 0 and 1")
    if mean_span < 1.0:
        raise ValueError("the mean span length must be at least 1")
    rng = np.random.default_rng(seed)
    return apply(tokens, noise_mask(len(tokens), rate, mean_span, rng))


def reconstruct(inputs: list[str] | tuple[str, ...], targets: list[str] | tuple[str, ...]):
    """The original tokens from a corrupted input and its target."""
    filled: dict[str, list[str]] = {}
    current = None
    for tok in targets:
        if is_sentinel(tok):
            current = tok
            filled[current] = []
        elif current is not None:
            filled[current].append(tok)
    out: list[str] = []
    for tok in inputs:
        out.extend(filled.get(tok, []) if is_sentinel(tok) else [tok])
    return out


def density_spread(length: int, rate: float, mean_span: float, seeds: int = 200):
    """Over `seeds` corruptions of a `length`-token text: (mean noise density, its standard
    deviation, mean span length). The noise count is fixed by the rate; the spans move."""
    dens, spans = [], []
    for s in range(seeds):
        m = noise_mask(length, rate, mean_span, np.random.default_rng(s))
        dens.append(m.mean())
        runs = np.diff(np.concatenate([[0], m.astype(int), [0]]))
        spans.append(m.sum() / max((runs == 1).sum(), 1))
    return float(np.mean(dens)), float(np.std(dens)), float(np.mean(spans))
