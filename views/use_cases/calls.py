"""Cached model calls of the Use cases tabs: one entry per (model key, input), under the lock.

A second Run on the same input, or a rerun after moving a widget that does not change the input,
answers from the cache in milliseconds. Scores on the held-out sets are cached the same way: they
are measured once per process, when their tab is first opened.
"""

from __future__ import annotations

from typing import Any

from lessons import chat
from lessons import extractive as ex
from lessons import ner_parsing as ner
from lessons import task_eval as te
from lessons import zero_shot as zs
from lessons.sampling import GenConfig
from lessons.sentence_search import rank_sentences
from lessons.task_heads import seq2seq_generate, sequence_labels, squad_span
from ui.page import on_handle

SAMPLE_REVIEWS = te.ASSETS.parent / "sentiment" / "sample.jsonl"


@on_handle(max_entries=256)
def chat_answer(handle: Any, messages: list[dict[str, str]], cfg: GenConfig) -> chat.ChatResult:
    return chat.chat(handle, messages, cfg)


@on_handle(max_entries=128)
def continuation(handle: Any, prompt: str, cfg: GenConfig) -> chat.ChatResult:
    return chat.complete(handle, prompt, cfg)


@on_handle(max_entries=128)
def ranked(handle: Any, question: str, passage: str) -> list:
    return rank_sentences(handle, question, passage)


@on_handle(max_entries=128)
def zero_shot(handle: Any, text: str, labels: tuple[str, ...], template: str):
    return zs.zero_shot(handle, text, list(labels), zs.ZeroShotConfig(template=template))


@on_handle(max_entries=128)
def class_probs(handle: Any, text: str) -> list[tuple[str, float]]:
    return sequence_labels(handle, text)


@on_handle(max_entries=128)
def tagged(handle: Any, text: str) -> list[ner.EntitySpan]:
    """A trained tagger's entities, regex dates added (CoNLL taggers have no DATE type)."""
    return ner.with_dates(text, ner.tagger_entities(handle, text))


@on_handle(max_entries=64)
def extractive_summary(handle: Any, text: str, sentences: int) -> ex.ExtractiveResult:
    cfg = ex.SummaryConfig(length=ex.LengthConfig(sentences=sentences))
    return ex.summarize(handle, text, cfg)


@on_handle(max_entries=64)
def squad(handle: Any, question: str, passage: str):
    return squad_span(handle, question, passage)


@on_handle(max_entries=64)
def seq2seq(handle: Any, text: str, max_new_tokens: int) -> str:
    return seq2seq_generate(handle, text, max_new_tokens)


# ---- scores on the held-out sets (measured live where a pass takes about a second) -------------


@on_handle(max_entries=4)
def qa_score(handle: Any) -> te.Score:
    return te.qa_extractive(handle, te.load_qa())


@on_handle(max_entries=4)
def wording_scores(handle: Any) -> list[zs.WordingScore]:
    """Every candidate sentiment wording on the 300 built-in reviews, best first."""
    rows = te.read_jsonl(SAMPLE_REVIEWS)
    texts, classes = [r["text"] for r in rows], [int(r["label"]) for r in rows]
    return zs.score_wordings(handle, texts, classes, list(zs.SENTIMENT_WORDINGS))


@on_handle(max_entries=8)
def zero_shot_score(handle: Any, labels: tuple[str, ...], template: str, task: str) -> te.Score:
    """Accuracy of one wording on a held-out set: "sentiment" (its labels map to negative,
    positive in order) or "topic"."""
    cfg = zs.ZeroShotConfig(template=template)
    if task == "sentiment":
        names = dict(zip(labels, te.SENTIMENT_NAMES, strict=True))
        return te.classify_rows(
            lambda t: names[zs.zero_shot(handle, t, list(labels), cfg).best], te.load_reviews()
        )
    rows = te.read_jsonl(te.ASSETS / "topics_heldout.jsonl")
    return te.classify_rows(lambda t: zs.zero_shot(handle, t, list(labels), cfg).best, rows)


@on_handle(max_entries=4)
def classifier_score(handle: Any) -> te.Score:
    return te.classify_rows(lambda t: sequence_labels(handle, t)[0][0], te.load_reviews())


@on_handle(max_entries=4)
def tagger_score(handle: Any):
    return te.ner_micro(lambda t: ner.with_dates(t, ner.tagger_entities(handle, t)), te.load_ner())


@on_handle(max_entries=4)
def summary_score(handle: Any) -> dict[str, float]:
    return te.summary_rouge1(handle, ex.load_examples())
