"""Scores of the Use cases page's models on held-out sets written for the gallery.

    python -m models.use_cases evaluate            # one JSON line per task, the summary last
    python -m models.use_cases evaluate --limit 2  # a quick smoke run on 2 items per set

Every model the page offers offline is scored on inputs it was not picked on
(`assets/use_cases/*_heldout.*`, `assets/summarization/`): MiniLM's extractive QA, zero-shot
wordings (chosen on the 300 built-in reviews, scored on 40 others), Project 1's classifier
(when `make prepare` has trained it), Project 2's extractive summaries, Project 3's tagger (when
prepared), and SmolLM2-135M prompted for each task. `make prepare` runs it as the state
`use-case-scores`; the page shows its last line, the MiniLM figures it also measures live.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from lessons import chat, task_prompts
from lessons import extractive as ex
from lessons import ner_parsing as ner
from lessons import task_eval as te
from lessons import zero_shot as zs
from lessons.sampling import GenConfig
from lessons.task_heads import sequence_labels
from models import loader, registry
from models.training import print_json

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
# Token caps per task: room for a right answer, not for rambling (greedy, so reproducible).
TOKENS = {"translate": 40, "qa": 32, "classify": 6, "ner": 60}


def _cfg(task: str, cap: int | None) -> GenConfig:
    n = TOKENS[task] if cap is None else min(TOKENS[task], cap)
    return GenConfig(max_new_tokens=n, time_budget_s=60.0)


def prepared_handle(role: str, kinds: tuple[str, ...]) -> Any | None:
    """The first ready prepared choice of `role` of one of `kinds`, loaded; else None."""
    for c in registry.choices(role):
        if c.source == "prepared" and c.kind in kinds and c.available():
            return loader.load(c.key)
    return None


def minilm_scores(enc: Any, limit: int | None) -> dict[str, Any]:
    qa = te.load_qa()[:limit]
    dev = te.read_jsonl(SAMPLE)[: limit and 4 * limit]
    held = te.load_reviews()[:limit]
    wordings = zs.score_wordings(
        enc, [r["text"] for r in dev], [int(r["label"]) for r in dev], list(zs.SENTIMENT_WORDINGS)
    )
    best = wordings[0].wording
    cfg = zs.ZeroShotConfig(template=best.template)
    names = dict(zip(best.labels, te.SENTIMENT_NAMES, strict=True))
    zero = te.classify_rows(
        lambda t: names[zs.zero_shot(enc, t, list(best.labels), cfg).best], held
    )
    topics = te.read_jsonl(te.ASSETS / "topics_heldout.jsonl")[:limit]
    labels = te.topic_labels(topics)
    tcfg = zs.ZeroShotConfig(template=te.TOPIC_TEMPLATE)
    topic = te.classify_rows(lambda t: zs.zero_shot(enc, t, labels, tcfg).best, topics)
    rouge = te.summary_rouge1(enc, ex.load_examples()[:limit])
    return {
        "qa_extractive": te.qa_extractive(enc, qa).correct,
        "qa_n": len(qa),
        "zero_shot_labels": ", ".join(best.labels),
        "zero_shot_template": best.template,
        "zero_shot_dev_accuracy": round(wordings[0].accuracy, 4),
        "zero_shot_dev_margin": round(wordings[0].mean_margin, 4),
        "zero_shot_dev_n": len(dev),
        "zero_shot_sentiment": zero.correct,
        "sentiment_n": len(held),
        "zero_shot_topic": topic.correct,
        "topic_n": len(topics),
        "summary_rouge1_pagerank": round(rouge["pagerank"], 4),
        "summary_rouge1_lead": round(rouge["lead"], 4),
    }


def smollm2_scores(lm: Any, enc: Any, limit: int | None, cap: int | None) -> dict[str, Any]:
    qa = te.load_qa()[:limit]
    held = te.load_reviews()[:limit]
    labels = list(te.SENTIMENT_NAMES)

    def pick(text: str) -> str:
        r = chat.chat(lm, task_prompts.classify_messages(text, labels), _cfg("classify", cap))
        return task_prompts.pick_label(r.text, labels) or "none"

    def find(text: str) -> list[ner.EntitySpan]:
        r = chat.chat(lm, task_prompts.ner_messages(text), _cfg("ner", cap))
        return ner.match_entities(text, ner.parse_entities(r.text).entities).spans

    pairs = te.read_jsonl(te.ASSETS / "translation_heldout.jsonl")[:limit]
    chrf, _ = te.translation_chrf(lm, pairs, _cfg("translate", cap))
    # None: Project 2's own cap for a k-sentence summary (lessons.abstractive.token_cap).
    summary_cfg = GenConfig(max_new_tokens=cap, time_budget_s=60.0) if cap else None
    rouge = te.summary_rouge1(enc, ex.load_examples()[:limit], lm, summary_cfg)
    f1 = te.ner_micro(find, te.load_ner()[:limit])
    return {
        "translation_chrf": round(chrf, 1),
        "translation_chrf_copy": round(
            te.chrf([p["en"] for p in pairs], [p["fr"] for p in pairs]), 1
        ),
        "translation_n": len(pairs),
        "qa_reader_top": te.qa_generative(lm, enc, qa, _cfg("qa", cap), "top").correct,
        "qa_reader_passage": te.qa_generative(lm, enc, qa, _cfg("qa", cap), "passage").correct,
        "smollm2_sentiment": te.classify_rows(pick, held).correct,
        "summary_rouge1_smollm2": round(rouge["llm"], 4),
        "ner_smollm2_f1": round(f1.f1, 4),
        "ner_n": len(te.load_ner()[:limit]),
    }


def trained_scores(limit: int | None) -> dict[str, Any]:
    """Project 1's classifier and Project 3's tagger, when `make prepare` has made them."""
    out: dict[str, Any] = {}
    clf = prepared_handle("sentiment", ("seq-cls",))
    if clf is not None:
        held = te.load_reviews()[:limit]
        acc = te.classify_rows(lambda t: sequence_labels(clf, t)[0][0], held)
        out.update(classifier=clf.choice.key, classifier_sentiment=acc.correct)
    tagger = prepared_handle("ner", ("token-cls", "seq2seq"))
    if tagger is not None:
        f1 = te.ner_micro(
            lambda t: ner.with_dates(t, ner.tagger_entities(tagger, t)), te.load_ner()[:limit]
        )
        out.update(tagger=tagger.choice.key, ner_tagger_f1=round(f1.f1, 4))
    return out


def cmd_evaluate(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    enc = loader.load(registry.MINILM.key)
    lm = loader.load(registry.SMOLLM2.key)
    result: dict[str, Any] = {}
    for name, part in (
        ("minilm", lambda: minilm_scores(enc, args.limit)),
        ("trained", lambda: trained_scores(args.limit)),
        ("smollm2", lambda: smollm2_scores(lm, enc, args.limit, args.max_new_tokens)),
    ):
        t = time.perf_counter()
        scores = part()
        print_json({"part": name, "seconds": round(time.perf_counter() - t, 1), **scores})
        result.update(scores)
    result["seconds"] = round(time.perf_counter() - start, 1)
    print_json(result)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m models.use_cases", description=__doc__.split("\n")[0]
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("evaluate", help="score every use-case model on the held-out sets")
    e.add_argument("--limit", type=int, default=None, help="only the first N items of each set")
    e.add_argument("--max-new-tokens", type=int, default=None, help="cap every answer (smoke)")
    e.add_argument("--out", default=None, help="ignored (the prepared-state folder)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser().error("--limit must be at least 1")
    cmd_evaluate(args)


if __name__ == "__main__":
    main(sys.argv[1:])
