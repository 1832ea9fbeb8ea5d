"""How good is each use-case model? Scores on held-out sets written for the gallery.

A demo that only shows hand-picked inputs hides how often a model is wrong. Every model on the
Use cases page is scored here on inputs nobody tuned it on (`assets/use_cases/*_heldout.*`):

- extractive QA: is the answer inside the top-ranked sentence (top-1 sentence accuracy);
- generative QA: does the answer contain the gold answer (SQuAD normalisation: case, punctuation
  and articles ignored);
- classification: accuracy, and for zero-shot the mean margin between the two best labels;
- NER: exact-span, right-type precision / recall / F1 (CoNLL style);
- translation: chrF (character n-gram F-score, sacrebleu's reference implementation);
- summaries: ROUGE against a human reference (`lessons.extractive.rouge`).

The examples on the page (`assets/use_cases/examples.json`) are a different set: inputs the
embedded models get right, picked to show what each task looks like. No Streamlit here.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons import chat, task_prompts
from lessons.ner_parsing import EntityScore, EntitySpan, entity_f1
from lessons.sampling import GenConfig
from lessons.sentence_search import rank_sentences

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "use_cases"


@dataclass(frozen=True)
class Score:
    correct: int
    n: int

    @property
    def rate(self) -> float:
        return self.correct / self.n if self.n else 0.0


# ---------------------------------------------------------------- data


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass(frozen=True)
class QAItem:
    passage: str
    question: str
    answer: str


def load_qa(path: Path = ASSETS / "qa_heldout.json") -> list[QAItem]:
    items = json.loads(path.read_text(encoding="utf-8"))["items"]
    return [
        QAItem(it["passage"], q["question"], q["answer"]) for it in items for q in it["questions"]
    ]


@dataclass(frozen=True)
class NERItem:
    text: str
    gold: tuple[tuple[int, int, str], ...]  # (start, end, type): every occurrence


def gold_spans(text: str, entities: list[tuple[str, str]]) -> tuple[tuple[int, int, str], ...]:
    """Every whole-word occurrence of each (entity text, type) in `text`, as offsets."""
    spans = set()
    for ent, label in entities:
        for m in re.finditer(rf"(?<!\w){re.escape(ent)}(?!\w)", text):
            spans.add((m.start(), m.end(), label))
    return tuple(sorted(spans))


def load_ner(path: Path = ASSETS / "ner_heldout.json") -> list[NERItem]:
    items = json.loads(path.read_text(encoding="utf-8"))["items"]
    return [NERItem(it["text"], gold_spans(it["text"], it["entities"])) for it in items]


def load_examples(path: Path = ASSETS / "examples.json") -> dict[str, list[dict[str, Any]]]:
    """Per task, the page's example inputs (title, the widgets' values, what a right answer has)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {task: list(items) for task, items in data.items() if task != "about"}


# ---------------------------------------------------------------- metrics

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation})


def normalize_answer(s: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    s = s.lower().replace("\u2019", "'").translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def answer_found(answer: str, gold: str) -> bool:
    """Does the answer contain the gold answer (after normalisation, on word boundaries)?"""
    a, g = f" {normalize_answer(answer)} ", f" {normalize_answer(gold)} "
    return g.strip() != "" and g in a


def chrf(hypotheses: list[str], references: list[str]) -> float:
    """Corpus chrF (0-100): character 1-6-gram F-score with recall weighted twice (beta 2)."""
    import sacrebleu

    return float(sacrebleu.corpus_chrf(hypotheses, [references]).score)


# ---------------------------------------------------------------- scoring runs


def qa_extractive(encoder: Any, items: list[QAItem]) -> Score:
    """Top-1 sentence accuracy of MiniLM ranking: the gold answer is in the best sentence."""
    ok = 0
    for it in items:
        ranked = rank_sentences(encoder, it.question, it.passage)
        ok += bool(ranked) and answer_found(ranked[0].span.text, it.answer)
    return Score(ok, len(items))


def reader_context(encoder: Any, question: str, passage: str, mode: str) -> str:
    """What the generative reader sees: the whole passage, or only the top-ranked sentence."""
    if mode == "passage":
        return passage
    ranked = rank_sentences(encoder, question, passage)
    return ranked[0].span.text if ranked else passage


def qa_generative(
    lm: Any, encoder: Any, items: list[QAItem], cfg: GenConfig, mode: str = "top"
) -> Score:
    ok = 0
    for it in items:
        context = reader_context(encoder, it.question, it.passage, mode)
        r = chat.chat(lm, task_prompts.qa_messages(context, it.question), cfg)
        ok += answer_found(r.text, it.answer)
    return Score(ok, len(items))


def classify_rows(predict: Callable[[str], str], rows: list[dict[str, Any]]) -> Score:
    """Accuracy of `predict(text) -> label name` against rows' "label" names."""
    ok = sum(predict(r["text"]) == r["label"] for r in rows)
    return Score(ok, len(rows))


def ner_micro(find: Callable[[str], list[EntitySpan]], items: list[NERItem]) -> EntityScore:
    """Micro-averaged entity F1 over all sentences (every entity counts once)."""
    correct = predicted = gold = 0
    for it in items:
        s = entity_f1(list(it.gold), find(it.text))
        correct, predicted, gold = correct + s.correct, predicted + s.predicted, gold + s.gold
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    return EntityScore(p, r, 2 * p * r / (p + r) if p + r else 0.0, correct, predicted, gold)


def translation_chrf(lm: Any, pairs: list[dict[str, str]], cfg: GenConfig) -> tuple[float, list]:
    """chrF of the instruct LM's English->French translations, and (source, output) pairs."""
    outs = [
        chat.chat(lm, task_prompts.translation_messages(p["en"], "English", "French"), cfg).text
        for p in pairs
    ]
    return chrf(outs, [p["fr"] for p in pairs]), list(
        zip([p["en"] for p in pairs], outs, strict=True)
    )


def summary_rouge1(
    encoder: Any, examples: list, lm: Any | None = None, cfg: GenConfig | None = None
) -> dict[str, float]:
    """Mean ROUGE-1 F1 against each article's human reference: Project 2's PageRank pick, the
    lead-k baseline and (with `lm`) the instruct LM's summary (Project 2's prompt, trimmed to
    whole sentences); k = the reference's length."""
    from lessons import abstractive as ab
    from lessons import extractive as ex

    totals: dict[str, float] = {"pagerank": 0.0, "lead": 0.0}
    if lm is not None:
        totals["llm"] = 0.0
    for e in examples:
        k = max(1, len(ex.split_sentences(e.reference)))
        cfg_k = ex.SummaryConfig(length=ex.LengthConfig(sentences=k))
        res = ex.summarize(encoder, e.article, cfg_k)
        totals["pagerank"] += ex.rouge(e.reference, res.summary)["rouge1"].f1
        totals["lead"] += ex.rouge(e.reference, ex.lead_k(res.spans, k))["rouge1"].f1
        if lm is not None:
            text = ab.prompted(lm, e.article, k, cfg).text
            totals["llm"] += ex.rouge(e.reference, text)["rouge1"].f1
    return {name: total / max(1, len(examples)) for name, total in totals.items()}


SENTIMENT_NAMES = ("negative", "positive")  # Project 1's classes, in order
TOPIC_TEMPLATE = "This text is about {label}."


def load_reviews(path: Path = ASSETS / "reviews_heldout.jsonl") -> list[dict[str, Any]]:
    """Review rows with the class as a name ("negative" / "positive")."""
    return [
        {"text": r["text"], "label": SENTIMENT_NAMES[int(r["label"])]} for r in read_jsonl(path)
    ]


def topic_labels(rows: list[dict[str, Any]]) -> list[str]:
    """The topic set's labels, in first-seen order."""
    return list(dict.fromkeys(r["label"] for r in rows))
