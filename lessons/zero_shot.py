"""Zero-shot classification with a sentence encoder: no training, only wording.

Each label becomes a sentence (a *hypothesis*: "The story is {label}."); the text and the
hypotheses are embedded (`lessons.sentence_search.embed`) and the label whose hypothesis is most
similar to the text wins. Nothing was trained for the task, so the answer depends on the words:
the **margin** (winner's cosine minus the runner-up's) says how sure the encoder is, and a few
hundredths means "a coin flip with extra steps". `rank_candidates` measures candidate wordings on
labelled rows, which is how the page's default wording was chosen (by `python -m models.use_cases`).
No Streamlit here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from lessons.sentence_search import embed, margin


@dataclass
class ZeroShotConfig:
    template: str = "This text is about {label}."
    temperature: float = 0.05  # cosines differ by a few hundredths; /T makes softmax decisive


@dataclass
class ZeroShotResult:
    labels: list[str]
    hypotheses: list[str]  # the sentences each label was turned into
    cosines: list[float]
    probs: list[float]  # softmax(cosine / T) over the labels: sums to 1

    @property
    def best(self) -> str:
        return self.labels[max(range(len(self.probs)), key=self.probs.__getitem__)]

    @property
    def margin(self) -> float:
        """Winner's cosine minus the runner-up's (0 with one label)."""
        return margin(self.cosines)


def parse_labels(raw: str, max_labels: int = 12) -> list[str]:
    """'spam, ham,, Spam ' -> ['spam', 'ham']: split on commas/newlines, trim, drop duplicates."""
    seen: dict[str, str] = {}
    for part in re.split(r"[,\n;]", raw):
        label = " ".join(part.split())[:60]
        if label and label.casefold() not in seen:
            seen[label.casefold()] = label
    return list(seen.values())[:max_labels]


def hypothesis(template: str, label: str) -> str:
    """Fill the template; str.replace, so a user's stray '{' cannot raise like str.format."""
    return template.replace("{label}", label) if "{label}" in template else f"{template} {label}"


def softmax_t(scores: list[float], temperature: float) -> list[float]:
    """softmax(score / T): small T sharpens, large T flattens towards uniform."""
    return torch.softmax(torch.tensor(scores) / max(temperature, 1e-4), dim=0).tolist()


def zero_shot(
    handle: Any, text: str, labels: list[str], cfg: ZeroShotConfig | None = None
) -> ZeroShotResult:
    cfg = cfg or ZeroShotConfig()
    if not labels:
        raise ValueError("Give at least one label, e.g. 'positive, negative'.")
    hyps = [hypothesis(cfg.template, lab) for lab in labels]
    e = embed(handle, [text, *hyps])  # (1 + L, C)
    cos = (e[1:] @ e[0]).tolist()  # (L,) unit vectors: dot = cosine
    return ZeroShotResult(labels, hyps, cos, softmax_t(cos, cfg.temperature))


@dataclass(frozen=True)
class Wording:
    """One way to ask: the label words (in the order of the classes) and the template."""

    labels: tuple[str, ...]
    template: str


@dataclass
class WordingScore:
    wording: Wording
    accuracy: float  # share of rows whose best hypothesis is their class's
    mean_margin: float  # mean |winner - runner-up| cosine over the rows
    n: int


def score_wordings(
    handle: Any, texts: list[str], classes: list[int], wordings: list[Wording]
) -> list[WordingScore]:
    """Accuracy and mean margin of each wording on labelled rows (class i = wording.labels[i]),
    best accuracy first. The texts are embedded once."""
    e = embed(handle, texts)  # (N, C)
    y = torch.tensor(classes)  # (N,)
    out = []
    for w in wordings:
        h = embed(handle, [hypothesis(w.template, lab) for lab in w.labels])  # (L, C)
        cos = e @ h.T  # (N, L)
        top2 = cos.topk(min(2, cos.shape[1]), dim=1).values  # (N, 2)
        gap = (top2[:, 0] - top2[:, -1]).mean().item()
        acc = (cos.argmax(1) == y).float().mean().item()
        out.append(WordingScore(w, acc, gap, len(texts)))
    return sorted(out, key=lambda s: (-s.accuracy, -s.mean_margin))


# Candidate wordings for sentiment (class 0 = negative, 1 = positive). The eval command measures
# them on the built-in reviews and the page opens on the best; the table is shown, not typed.
SENTIMENT_WORDINGS = (
    Wording(("negative", "positive"), "The sentiment of this text is {label}."),
    Wording(("negative", "positive"), "This is a {label} review."),
    Wording(("bad", "good"), "This movie is {label}."),
    Wording(("terrible", "great"), "This movie is {label}."),
    Wording(("awful", "wonderful"), "The film was {label}."),
    Wording(("awful", "wonderful"), "The story is {label}."),
    Wording(("boring", "brilliant"), "What a {label} film."),
)
