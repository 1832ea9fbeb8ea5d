"""Abstractive summaries, and how to read them against the article.

Two ways to write new sentences:
- an **instruct LM** (SmolLM2-135M) is *asked* to summarize (a prompt, greedy decoding);
- a **summarization encoder-decoder** (DistilBART / BART trained on CNN/DailyMail) encodes the
  article and its decoder writes the summary (beam search).
Offline, with no summarizer in the cache, the extractive summary stands in, labelled as such.

Both can stop mid-sentence at their token cap, so the shown text is trimmed to its last complete
sentence (and says what was cut). And both can state things the article never said. A check that
only asks "does 146 occur in the article?" passes "146 species found each year" when the article
says "over the twelve years, volunteers recorded 146 species", so each number is read with its
context: the unit after it, any rate word (each, per, a year…) and any period it is said over
(in a single year, over twelve months, in 2019) around it, compared with the article's sentences
that hold the same number. No Streamlit here.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from lessons.chat import GenConfig, ask
from lessons.extractive import split_sentences

# ---------------------------------------------------------------- length: a cap that fits

TOKENS_PER_SENTENCE = 40  # SmolLM2's summary sentences here: 22-45 tokens (3 articles, k = 3)


def token_cap(n_sentences: int) -> int:
    """New tokens for an n-sentence summary: room for n long sentences and a short preamble."""
    return TOKENS_PER_SENTENCE * max(1, n_sentences) + 40


_END = re.compile(r"[.!?。！？][\"'”’)\]]*$")


def trim_to_sentence(text: str) -> tuple[str, str]:
    """(whole sentences, the unfinished tail that was cut). A text that ends on . ! ? is kept;
    a single unfinished sentence is kept too (there is nothing better to show)."""
    text = text.strip()
    if not text or _END.search(text):
        return text, ""
    spans = split_sentences(text)
    if len(spans) < 2:
        return text, ""
    keep = text[: spans[-2].end].rstrip()
    return keep, text[spans[-1].start :].strip()


# ---------------------------------------------------------------- the fact check


@dataclass(frozen=True)
class Flag:
    word: str  # the name or number as the summary writes it
    kind: str  # "name" | "number" (not in the article) | "context" (in it, but said otherwise)
    said: str  # the summary's words around it
    article: str  # where the article has it ("" when nowhere)
    reason: str  # one line for the reader


_TOKEN = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?%?|[A-Za-z]+(?:['’-][A-Za-z]+)*")
_UNITS_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
                "nineteen"]  # fmt: skip
_TENS_WORDS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# "one" is a pronoun as often as a number ("the one by the chapel"): it is not read as 1.
_NUMBER_WORDS = {"zero": 0, "dozen": 12, "hundred": 100}
_NUMBER_WORDS |= {w: i for i, w in enumerate(_UNITS_WORDS, start=2)}
_NUMBER_WORDS |= {w: 10 * i for i, w in enumerate(_TENS_WORDS, start=2)}
MULTIPLIERS = frozenset({"hundred", "thousand", "million", "billion"})  # part of the number
RATE_WORDS = frozenset({"each", "every", "per", "annually", "yearly", "annual", "daily", "weekly",
                        "monthly", "nightly", "hourly", "apiece"})  # fmt: skip
PERIODS = frozenset({"year", "day", "week", "month", "night", "hour", "season", "spring",
                     "summer", "autumn", "winter"})  # fmt: skip
STOPWORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "from", "and", "or", "but",
    "than", "that", "this", "these", "those", "its", "it", "is", "was", "were", "be", "been", "are",
    "as", "about", "around", "nearly", "almost", "over", "under", "some", "more", "less", "only",
    "just", "roughly", "between", "up", "down", "has", "have", "had", "their", "his", "her", "our",
})  # fmt: skip


def _stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    return w[:-1] if w.endswith("s") and len(w) > 3 and not w.endswith("ss") else w


def number_value(token: str) -> float | None:
    """146 -> 146, '1,200' -> 1200, '40%' -> 40, 'twelve' -> 12, 'thirty-six' -> 36."""
    t = token.lower().rstrip("%")
    if t[:1].isdigit():
        try:
            return float(t.replace(",", ""))
        except ValueError:
            return None
    parts = t.split("-")
    if all(p in _NUMBER_WORDS for p in parts) and len(parts) <= 2:
        return float(sum(_NUMBER_WORDS[p] for p in parts))
    return None


@dataclass
class _Sentence:
    text: str
    tokens: list[str]


def _sentences(text: str) -> list[_Sentence]:
    return [_Sentence(s.text, _TOKEN.findall(s.text)) for s in split_sentences(text)]


def rate_phrase(tokens: list[str]) -> str | None:
    """'each year', 'per day', 'a year', 'annually' … in these tokens, or None."""
    low = [t.lower() for t in tokens]
    for i, t in enumerate(low):
        nxt = low[i + 1] if i + 1 < len(low) else ""
        if t in RATE_WORDS:
            return f"{tokens[i]} {tokens[i + 1]}" if _stem(nxt) in PERIODS else tokens[i]
        if t in ("a", "an") and _stem(nxt) in PERIODS:
            return f"{tokens[i]} {tokens[i + 1]}"
    return None


_SPAN_WORDS = frozenset({"in", "over", "during", "within", "for", "across", "since", "by"})
_QUANTITY = {"a": 1.0, "an": 1.0, "one": 1.0, "single": 1.0}


@dataclass(frozen=True)
class Period:
    """A stretch of time a number is said over: 'over the twelve years' (12, year), 'in a single
    year' (1, year), 'over twelve months' (12, month), 'in 2019' (year 2019)."""

    words: str  # as written
    count: float | None  # how many periods (None: unsaid, "the years")
    unit: str  # a PERIODS stem, or "in-year" for a calendar year
    first: int  # token span [first, last] in its sentence
    last: int

    def same(self, other: Period) -> bool:
        if self.unit != other.unit:
            return False
        return self.count is None or other.count is None or self.count == other.count


def _is_year(token: str) -> bool:
    return token.isdigit() and len(token) == 4 and 1800 <= int(token) <= 2100


def periods(tokens: list[str]) -> list[Period]:
    """Every 'in/over/during/for/since … PERIOD' or 'in 2019' phrase in these tokens."""
    out = []
    low = [t.lower() for t in tokens]
    for i, t in enumerate(low):
        if t not in _SPAN_WORDS:
            continue
        j, count = i + 1, None
        if j < len(low) and _is_year(low[j]):
            out.append(Period(f"{tokens[i]} {tokens[j]}", float(low[j]), "in-year", i, j))
            continue
        while j < len(low) and j <= i + 4 and _stem(low[j]) not in PERIODS:
            word = low[j]
            if word in _QUANTITY or number_value(word) is not None:
                count = _QUANTITY.get(word, number_value(word))
            elif word not in ("the", "past", "last", "first", "whole", "entire", "those", "these"):
                break
            j += 1
        if j < len(low) and j <= i + 4 and _stem(low[j]) in PERIODS:
            out.append(Period(" ".join(tokens[i : j + 1]), count, _stem(low[j]), i, j))
    return out


def _period_near(tokens: list[str], i: int, before: int = 4, after: int = 8) -> Period | None:
    """The period phrase said around the number at i (not one the number itself is in)."""
    near = [p for p in periods(tokens) if p.last >= i - before and p.first <= i + after]
    near = [p for p in near if not p.first <= i <= p.last]
    return min(near, key=lambda p: abs(p.first - i)) if near else None


def _units(tokens: list[str], i: int) -> list[str]:
    """What the number at i counts: the content words right after it ("146 species", "six
    thousand panels" -> panels); none when a function word follows ("in 2014 and ...")."""
    j = i + 1
    while j < len(tokens) and tokens[j].lower() in MULTIPLIERS:
        j += 1
    out = []
    for t in tokens[j : j + 2]:
        low = t.lower()
        if low in STOPWORDS or low in RATE_WORDS or number_value(t) is not None:
            break
        out.append(t)
    return out


def _around(tokens: list[str], i: int, before: int = 3, after: int = 5) -> str:
    return " ".join(tokens[max(0, i - before) : i + after + 1])


def _check_number(tokens: list[str], i: int, article: list[_Sentence]) -> Flag | None:
    word, value = tokens[i], number_value(tokens[i])
    said = _around(tokens, i)
    homes = [s for s in article if any(number_value(t) == value for t in s.tokens)]
    if not homes:
        return Flag(word, "number", said, "", f"{word} is not in the article")
    home_words = {_stem(t) for s in homes for t in s.tokens}
    where = homes[0].text
    rate = rate_phrase(tokens[i + 1 : i + 6]) or rate_phrase(tokens[max(0, i - 2) : i])
    if rate and not any(rate_phrase(s.tokens) for s in homes):
        why = f"the summary makes {word} a rate ({rate}); the article gives it no rate"
        return Flag(word, "context", said, where, why)
    period = _period_near(tokens, i)
    if period and not any(period.same(q) for s in homes for q in periods(s.tokens)):
        said_when = period.words.lower()
        why = f"the summary puts {word} {said_when}; the article does not give it that period"
        return Flag(word, "context", said, where, why)
    units = _units(tokens, i)
    if units and not any(_stem(u) in home_words for u in units):
        why = (
            f"the summary counts {word} {' '.join(units)}; the article's {word} counts other things"
        )
        return Flag(word, "context", said, where, why)
    return None


def check_facts(summary: str, article: str) -> list[Flag]:
    """Names that never occur in the article, numbers that do not occur in it, and numbers that
    occur but with another unit, a rate ("each year") or a period ("in a single year", "in 2019")
    the article does not give them."""
    art = _sentences(article)
    known = {t.lower() for s in art for t in s.tokens} | STOPWORDS
    flags: list[Flag] = []
    done: set[str] = set()
    for sent in _sentences(summary):
        toks = sent.tokens
        for i, tok in enumerate(toks):
            key = tok.lower()
            if key in done:
                continue
            if number_value(tok) is not None and (tok[:1].isdigit() or key in _NUMBER_WORDS):
                flag = _check_number(toks, i, art)
            elif tok[:1].isupper() and len(tok) > 1 and key not in known:
                flag = Flag(tok, "name", _around(toks, i), "", f"{tok} is not in the article")
            else:
                continue
            done.add(key)
            if flag is not None:
                flags.append(flag)
    return flags


# ---------------------------------------------------------------- the writers


@dataclass
class Abstract:
    """One summary as the page shows it, whoever wrote it."""

    who: str  # the model's label
    kind: str  # "extractive" | "prompted LM" | "seq2seq" | "stand-in"
    text: str  # what is shown: whole sentences
    cut: str = ""  # the unfinished tail trimmed off ("" when none)
    seconds: float = 0.0
    new_tokens: int | None = None
    stopped_by: str | None = None  # "eos" | "max_new_tokens" | "time_budget"
    prompt: str | None = None
    note: str = ""  # why a stand-in stands in
    flags: list[Flag] = field(default_factory=list)


def summary_prompt(article: str, n_sentences: int) -> str:
    return (
        f"Summarize the following article in {n_sentences} sentence"
        f"{'s' if n_sentences != 1 else ''}. Use only facts from the article.\n\n{article}"
    )


def prompted(handle: Any, article: str, n_sentences: int, cfg: GenConfig | None = None) -> Abstract:
    """An instruct LM writes the summary (lessons.chat.ask: locked, bounded, greedy)."""
    cfg = cfg or GenConfig(max_new_tokens=token_cap(n_sentences), time_budget_s=45.0)
    r = ask(handle, summary_prompt(article, n_sentences), cfg=cfg)
    text, cut = trim_to_sentence(r.text) if r.stopped_by != "eos" else (r.text, "")
    return Abstract(
        who=handle.choice.label,
        kind="prompted LM",
        text=text,
        cut=cut,
        seconds=r.seconds,
        new_tokens=r.new_tokens,
        stopped_by=r.stopped_by,
        prompt=r.prompt_text,
        flags=check_facts(text, article),
    )


def seq2seq(handle: Any, article: str, max_new_tokens: int = 142) -> Abstract:
    """A summarization encoder-decoder (BART-CNN): the decoder writes the summary, beams of 2.
    142 new tokens is DistilBART-CNN's own `max_length`."""
    tok, model = handle.tokenizer, handle.model
    start = time.perf_counter()
    with handle.lock, torch.inference_mode():
        limit = min(1024, getattr(tok, "model_max_length", 1024) or 1024)
        enc = tok(article, truncation=True, max_length=limit, return_tensors="pt").to(model.device)
        out = model.generate(
            input_ids=enc["input_ids"],  # (1, T)
            attention_mask=enc["attention_mask"],
            max_new_tokens=max_new_tokens,
            min_new_tokens=min(10, max_new_tokens),  # the model card's min_length=56 is for news
            num_beams=2,
            no_repeat_ngram_size=3,
            early_stopping=True,
        )  # (1, T_out)
        raw = tok.decode(out[0], skip_special_tokens=True).strip()
    n_new = int(out.shape[1]) - 1  # the decoder's start token is not written
    eos = getattr(model.generation_config, "eos_token_id", None)
    ended = eos is not None and int(out[0, -1]) in (eos if isinstance(eos, list) else [eos])
    text, cut = trim_to_sentence(raw) if not ended else (raw, "")
    return Abstract(
        who=handle.choice.label,
        kind="seq2seq",
        text=text,
        cut=cut,
        seconds=time.perf_counter() - start,
        new_tokens=n_new,
        stopped_by="eos" if ended else "max_new_tokens",
        flags=check_facts(text, article),
    )


def extractive(summary: str, label: str) -> Abstract:
    """The extractive summary in the same shape (its sentences are the article's own)."""
    return Abstract(who=label, kind="extractive", text=summary)


def stand_in(summary: str, label: str, missing: str, reason: str) -> Abstract:
    """Offline: the extractive summary takes the missing summarizer's place, and says so."""
    return Abstract(
        who=f"{label}, standing in for {missing}",
        kind="stand-in",
        text=summary,
        note=f"{missing} is not available here ({reason}); the extractive summary stands in.",
    )


def digest(*parts: str) -> str:
    """A short fingerprint of the inputs a stored result was made from."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def warm(handle: Any = None) -> dict[str, Any]:
    """The abstractive button's default result (first built-in article, 3 sentences, SmolLM2),
    as the page computes it (its test asserts what the default shows)."""
    from lessons.extractive import load_examples, prepare_article

    if handle is None:
        from models import loader

        handle = loader.load("smollm2-embedded")
    example = load_examples()[0]
    spans, _ = prepare_article(example.article)
    res = prompted(handle, " ".join(s.text for s in spans), 3)
    return {
        "article": example.title,
        "text": res.text,
        "cut": res.cut,
        "new_tokens": res.new_tokens,
        "seconds": round(res.seconds, 2),
        "flags": [f.word for f in res.flags],
    }
