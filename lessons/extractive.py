"""Extractive summarization with sentence embeddings: pick the sentences that carry the article.

A BERT-style encoder (MiniLM, mean pooling, unit length) turns each sentence into a vector; the
cosine matrix between sentences is the only thing the methods below look at:

- **Centrality, PageRank** (TextRank / LexRank): sentences are nodes, cosines are edge weights;
  a random walk that follows similar sentences spends most time on the ones most of the article
  agrees with.
- **Centrality, centroid**: cosine of each sentence with the article's mean vector.
- **Clustering**: k-means on the sentence vectors (one cluster per summary sentence); the sentence
  nearest each centroid represents its cluster, so the summary covers k different topics.

Picked sentences are returned in article order. ROUGE (n-gram overlap with a reference) scores
the result against a human summary and against a lead-k baseline (the first k sentences), which
is hard to beat on news-style text. Abstractive summaries (new sentences) are in
lessons/abstractive.py. No Streamlit here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lessons.use_cases import Span, embed

METHODS = ("pagerank", "centroid", "clustering")
METHOD_LABELS = {
    "pagerank": "Centrality: PageRank on the cosine graph (TextRank / LexRank)",
    "centroid": "Centrality: similarity to the article's centroid",
    "clustering": "Clustering: k-means, the sentence nearest each centroid",
}

# ---------------------------------------------------------------- sentence splitting

# A period after these is not the end of a sentence ("Dr. Ames", "e.g. this").
_ABBR = "mr mrs ms dr prof st sr jr vs etc e.g i.e cf al fig approx dept inc ltd corp "
_ABBR += "jan feb mar apr jun jul aug sep sept oct nov dec mt ft u.s u.k a.m p.m"
ABBREVIATIONS = frozenset(_ABBR.split(" "))
# A candidate end: terminal punctuation (plus closing quotes/brackets) followed by space, or a
# newline. Decimals ("3.5") and URLs have no space after the dot, so they never match.
_END = re.compile(r"[.!?。！？]+[\"'”’)\]]*(?=\s|$)|\n")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True if the '.' at `dot` ends an abbreviation or an initial, not a sentence."""
    m = re.search(r"([A-Za-z][A-Za-z.]*)$", text[:dot])
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if word in ABBREVIATIONS:
        return True
    return len(word) == 1 and m.group(1).isupper()  # an initial: "J. R. Tolkien"


def split_sentences(text: str) -> list[Span]:
    """Sentences with character offsets (text[start:end] == span.text).

    A rule, not a parser: ends at . ! ? (and CJK stops) followed by whitespace, or at a newline;
    not after a known abbreviation or a single capital initial, nor when the next word starts in
    lower case ("approx. five"). Fragments without a letter or digit are dropped.
    """
    spans: list[Span] = []
    start = 0
    for m in _END.finditer(text):
        end = m.end()
        if m.group() != "\n" and m.group()[0] == ".":
            nxt = text[end:].lstrip()
            if _is_abbreviation(text, m.start()) or (nxt[:1].islower()):
                continue
        _add_span(text, start, end, spans)
        start = end
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[Span]) -> None:
    raw = text[start:end]
    body = raw.strip()
    if any(ch.isalnum() for ch in body):
        s = start + len(raw) - len(raw.lstrip())
        spans.append(Span(s, s + len(body), body))


# ---------------------------------------------------------------- guard and length control


@dataclass
class ArticleLimits:
    max_chars: int = 8_000  # the page's text box cuts here too, with a notice
    max_sentences: int = 60  # the S x S matrix and PageRank stay instant


def prepare_article(text: str, limits: ArticleLimits | None = None) -> tuple[list[Span], list[str]]:
    """Sentences of the (capped) article and the notices a page should show."""
    limits = limits or ArticleLimits()
    notices = []
    if len(text) > limits.max_chars:
        text = text[: limits.max_chars]
        notices.append(f"The article is cut to its first {limits.max_chars:,} characters.")
    spans = split_sentences(text)
    if len(spans) > limits.max_sentences:
        notices.append(
            f"The article has {len(spans)} sentences; only the first {limits.max_sentences} "
            "are summarized."
        )
        spans = spans[: limits.max_sentences]
    return spans, notices


@dataclass
class LengthConfig:
    mode: str = "sentences"  # "sentences" | "percent"
    sentences: int = 3
    percent: float = 20.0  # of the article's sentences


def summary_length(n_sentences: int, cfg: LengthConfig) -> int:
    """How many sentences to pick: at least 1, at most the article."""
    if n_sentences <= 0:
        return 0
    k = cfg.sentences if cfg.mode == "sentences" else round(n_sentences * cfg.percent / 100)
    return max(1, min(n_sentences, int(k)))


# ---------------------------------------------------------------- scores


def cosine_matrix(emb: torch.Tensor) -> torch.Tensor:
    """(S, S) cosines; rows of `emb` are unit vectors, so a matrix product is enough."""
    return emb @ emb.T  # (S, C) @ (C, S) -> (S, S)


@dataclass
class PageRankConfig:
    damping: float = 0.85  # probability of following an edge rather than jumping anywhere
    threshold: float = 0.0  # LexRank drops edges with cosine below this; 0 keeps all positive
    iters: int = 100
    tol: float = 1e-8


def pagerank(sim: torch.Tensor, cfg: PageRankConfig | None = None) -> torch.Tensor:
    """Stationary distribution (S,) of a random walk on the weighted sentence graph."""
    cfg = cfg or PageRankConfig()
    s = sim.shape[0]
    w = sim.clamp(min=0.0).clone()  # negative cosine is "unrelated", not a negative edge
    w[w < cfg.threshold] = 0.0
    w.fill_diagonal_(0.0)  # a sentence does not vote for itself
    out = w.sum(1, keepdim=True)  # (S, 1) total weight leaving each sentence
    # Row-stochastic transitions; a sentence with no edges jumps uniformly (dangling node).
    p = torch.where(out > 0, w / out.clamp(min=1e-12), torch.full_like(w, 1.0 / s))  # (S, S)
    r = torch.full((s,), 1.0 / s, dtype=w.dtype)  # (S,)
    for _ in range(cfg.iters):
        nxt = (1 - cfg.damping) / s + cfg.damping * (r @ p)  # (S,)
        if (nxt - r).abs().sum() < cfg.tol:
            return nxt
        r = nxt
    return r


def centroid_scores(emb: torch.Tensor) -> torch.Tensor:
    """(S,) cosine of each sentence with the unit mean of all sentences."""
    centre = F.normalize(emb.mean(0), dim=0)  # (C,)
    return emb @ centre  # (S,)


@dataclass
class KMeansConfig:
    iters: int = 50
    seed: int = 0  # k-means++ start is random; a fixed seed gives the same summary every time


def kmeans(emb: torch.Tensor, k: int, cfg: KMeansConfig | None = None) -> tuple[torch.Tensor, ...]:
    """Lloyd's k-means with k-means++ seeding. Returns (labels (S,), centroids (k, C))."""
    cfg = cfg or KMeansConfig()
    x = emb.float()
    s = x.shape[0]
    k = max(1, min(k, s))
    g = torch.Generator().manual_seed(cfg.seed)
    # k-means++: each new centre is drawn with probability ~ squared distance to the nearest one.
    idx = [int(torch.randint(s, (1,), generator=g))]
    for _ in range(1, k):
        d2 = torch.cdist(x, x[idx]).pow(2).min(1).values  # (S,)
        if d2.sum() <= 0:  # all remaining points coincide with a centre
            rest = [i for i in range(s) if i not in idx]
            idx.append(rest[0])
            continue
        idx.append(int(torch.multinomial(d2 / d2.sum(), 1, generator=g)))
    centres = x[idx].clone()  # (k, C)
    labels = torch.zeros(s, dtype=torch.long)
    for _ in range(cfg.iters):
        labels_new = torch.cdist(x, centres).argmin(1)  # (S,)
        for j in range(k):
            members = x[labels_new == j]
            if len(members):
                centres[j] = members.mean(0)
            else:  # an empty cluster takes the point farthest from its centre
                far = torch.cdist(x, centres).min(1).values.argmax()
                centres[j] = x[far]
                labels_new[far] = j
        if torch.equal(labels_new, labels):
            break
        labels = labels_new
    return labels, centres


def cluster_pick(emb: torch.Tensor, k: int, cfg: KMeansConfig | None = None) -> tuple[Any, ...]:
    """k-means, then the sentence nearest each centroid (by cosine).

    Returns (picked indices in article order, labels (S,), per-sentence score (S,) = cosine to
    its own cluster's centroid).
    """
    labels, centres = kmeans(emb, k, cfg)
    cos = emb @ F.normalize(centres, dim=-1).T  # (S, k)
    own = cos.gather(1, labels[:, None]).squeeze(1)  # (S,)
    picked = []
    for j in range(centres.shape[0]):
        members = (labels == j).nonzero().squeeze(1)  # (m,)
        if len(members):
            picked.append(int(members[own[members].argmax()]))
    return sorted(set(picked)), labels, own


def pca_2d(emb: torch.Tensor) -> torch.Tensor:
    """(S, 2) coordinates on the two directions of largest variance (SVD of centred data)."""
    x = emb.float() - emb.float().mean(0)  # (S, C)
    if x.shape[0] < 2:
        return torch.zeros(x.shape[0], 2)
    u, sv, _ = torch.linalg.svd(x, full_matrices=False)  # (S, r), (r,)
    coords = u[:, :2] * sv[:2]  # (S, <=2)
    if coords.shape[1] < 2:
        coords = torch.cat([coords, torch.zeros(x.shape[0], 2 - coords.shape[1])], 1)
    # SVD signs are arbitrary; fix them so the plot does not flip between runs.
    signs = torch.sign(coords[coords.abs().argmax(0), torch.arange(2)])
    return coords * torch.where(signs == 0, torch.ones_like(signs), signs)


# ---------------------------------------------------------------- summarize


@dataclass
class SummaryConfig:
    method: str = "pagerank"  # one of METHODS
    length: LengthConfig = field(default_factory=LengthConfig)
    pagerank: PageRankConfig = field(default_factory=PageRankConfig)
    kmeans: KMeansConfig = field(default_factory=KMeansConfig)


@dataclass
class ExtractiveResult:
    spans: list[Span]
    sim: torch.Tensor  # (S, S) cosines
    scores: torch.Tensor  # (S,) why a sentence was picked: its centrality or cluster fit
    picked: list[int]  # indices into spans, article order
    method: str
    labels: torch.Tensor | None = None  # (S,) cluster of each sentence (clustering only)

    @property
    def summary(self) -> str:
        return " ".join(self.spans[i].text for i in self.picked)


def summarize_embeddings(spans: list[Span], emb: torch.Tensor, cfg: SummaryConfig):
    """The selection step alone, on precomputed (S, C) unit embeddings."""
    if cfg.method not in METHODS:
        raise ValueError(f"Unknown method {cfg.method!r}; use one of {METHODS}.")
    k = summary_length(len(spans), cfg.length)
    sim = cosine_matrix(emb)  # (S, S)
    labels = None
    if cfg.method == "clustering":
        picked, labels, scores = cluster_pick(emb, k, cfg.kmeans)
    else:
        scores = pagerank(sim, cfg.pagerank) if cfg.method == "pagerank" else centroid_scores(emb)
        top = torch.topk(scores, k).indices.tolist()  # ties: the lower index (earlier) first
        picked = sorted(top)  # article order reads better than score order
    return ExtractiveResult(spans, sim, scores, picked, cfg.method, labels)


def summarize(handle: Any, text: str, cfg: SummaryConfig | None = None) -> ExtractiveResult:
    """Split, embed with the encoder handle, select. Needs at least 2 sentences."""
    cfg = cfg or SummaryConfig()
    spans, _ = prepare_article(text)
    if len(spans) < 2:
        raise ValueError("A summary needs at least 2 sentences.")
    emb = embed(handle, [s.text for s in spans])  # (S, C) unit vectors
    return summarize_embeddings(spans, emb, cfg)


def lead_k(spans: list[Span], k: int) -> str:
    """The baseline: the first k sentences (news puts the gist first)."""
    return " ".join(s.text for s in spans[:k])


# ---------------------------------------------------------------- ROUGE

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@dataclass(frozen=True)
class Rouge:
    precision: float  # share of the candidate's n-grams found in the reference
    recall: float  # share of the reference's n-grams found in the candidate
    f1: float


def rouge(reference: str, candidate: str) -> dict[str, Rouge]:
    """ROUGE-1/2/L with Porter stemming ('panels' = 'panel'), from the reference package."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    raw = scorer.score(reference, candidate)
    return {t: Rouge(raw[t].precision, raw[t].recall, raw[t].fmeasure) for t in ROUGE_TYPES}


def rouge_rows(reference: str, summaries: dict[str, str]) -> list[dict[str, Any]]:
    """One table row per named summary: its length in words and ROUGE-1/2/L F1 (3 decimals)."""
    rows = []
    for name, text in summaries.items():
        scores = rouge(reference, text)
        row: dict[str, Any] = {"summary": name, "words": len(text.split())}
        row.update({t.replace("rouge", "ROUGE-"): round(s.f1, 3) for t, s in scores.items()})
        rows.append(row)
    return rows


# ---------------------------------------------------------------- built-in examples


@dataclass(frozen=True)
class Example:
    title: str
    article: str
    reference: str


EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "summarization"


def load_examples(folder: Path = EXAMPLES_DIR) -> list[Example]:
    """'# Title', the article, then '## Reference summary' and the reference, per .txt file."""
    out = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        head, _, reference = text.partition("## Reference summary")
        title, _, article = head.strip().partition("\n")
        out.append(Example(title.lstrip("# ").strip(), article.strip(), reference.strip()))
    return out


def warm(handle: Any = None) -> dict[str, Any]:
    """The page's default result (first built-in article, PageRank, 3 sentences) and its ROUGE
    beside lead-3, as the page computes it (its test asserts what the default shows)."""
    if handle is None:
        from models import loader

        handle = loader.load("minilm-embedded")
    example = load_examples()[0]
    spans, _ = prepare_article(example.article)
    res = summarize_embeddings(spans, embed(handle, [s.text for s in spans]), SummaryConfig())
    k = len(res.picked)
    rows = rouge_rows(example.reference, {"extractive": res.summary, f"lead-{k}": lead_k(spans, k)})
    return {"article": example.title, "sentences": len(spans), "picked": res.picked, "rouge": rows}
