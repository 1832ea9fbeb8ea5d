"""Named entities as generated text, and back: Project 3's format, parser and scores.

A tagged sentence (CoNLL-2003: one tag per word, IOB2 scheme, types PER/ORG/LOC/MISC) becomes a
*target text* for a text-to-text model: every word is copied, and each word inside an entity is
followed by its type in brackets:

    EU rejects German call to boycott British lamb .
    EU [ORG] rejects German [MISC] call to boycott British [MISC] lamb .
    Peter [PER] Blackburn [PER]

One decision per word (a tag or none), like a token classifier's, but written out. Consecutive
words with the same type form one entity, so two *adjacent* entities of one type merge: CoNLL
writes that case with a second B- tag; it is rare (`adjacent_same_type` counts it) and is the
format's one loss. Parsing goes back from the generated text to one tag per source word (aligned
with difflib when a free-running model did not copy the words exactly), then to IOB2 tags, which
`seqeval` scores per entity: a prediction counts only if its span and type are both exact.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TYPES = ("PER", "ORG", "LOC", "MISC")
TAG_TOKENS = tuple(f"[{t}]" for t in TYPES)
O_TOKEN = "[O]"  # "no entity", for the notation that tags every word
LABELS = ("O", *(f"{p}-{t}" for t in TYPES for p in ("B", "I")))  # IOB2 tag set
_TAG_RE = re.compile(r"^\[(PER|ORG|LOC|MISC|O)\]$")
# Words as CoNLL splits them: abbreviations (U.S.), runs of letters/digits joined by - . &,
# a clitic ('s, 't), or one symbol.
_WORD_RE = re.compile(r"(?:[^\W\d_]\.){2,}|\w+(?:[-.&]\w+)*|['’]\w*|[^\w\s]", re.UNICODE)


class DataError(ValueError):
    """A file or text that cannot be read as tagged sentences; the message is for the user."""


@dataclass(frozen=True)
class Sentence:
    words: tuple[str, ...]
    tags: tuple[str, ...]  # IOB2, one per word

    def __post_init__(self) -> None:
        if len(self.words) != len(self.tags):
            raise DataError(f"{len(self.words)} words but {len(self.tags)} tags")


@dataclass(frozen=True)
class Span:
    start: int  # first word
    end: int  # one past the last word
    type: str

    def text(self, words: tuple[str, ...] | list[str]) -> str:
        return " ".join(words[self.start : self.end])


# ---------------------------------------------------------------- reading CoNLL files


def parse_conll(text: str, source: str = "the file") -> list[Sentence]:
    """CoNLL-2003 columns (token POS chunk NER, or just token NER); blank lines between
    sentences; `-DOCSTART-` lines ignored. IOB1 files (I- at a start) are converted to IOB2."""
    out: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if words:
            out.append(Sentence(tuple(words), tuple(to_iob2(tags))))
        words.clear()
        tags.clear()

    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0] == "-DOCSTART-":
            flush()
            continue
        if len(parts) < 2:
            raise DataError(f"{source}, line {n}: expected 'token ... TAG', got {line[:60]!r}")
        tag = parts[-1]
        if tag != "O" and not re.fullmatch(r"[BI]-(PER|ORG|LOC|MISC)", tag):
            raise DataError(f"{source}, line {n}: unknown tag {tag[:20]!r} (CoNLL-2003 tag set)")
        words.append(parts[0])
        tags.append(tag)
    flush()
    return out


def read_conll(path: str | Path) -> list[Sentence]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read {path}: {exc}") from exc
    sents = parse_conll(text, str(path))
    if not sents:
        raise DataError(f"{path} has no tagged sentences")
    return sents


def write_conll(sents: list[Sentence], path: str | Path) -> None:
    """Two columns are enough for the readers here; POS and chunk are written as `_`."""
    lines = ["-DOCSTART- -X- -X- O", ""]
    for s in sents:
        lines += [f"{w} _ _ {t}" for w, t in zip(s.words, s.tags, strict=True)] + [""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------- tags <-> spans


def to_iob2(tags: list[str] | tuple[str, ...]) -> list[str]:
    """An I- tag that does not continue an entity of its type starts one (IOB1 -> IOB2)."""
    out: list[str] = []
    for i, t in enumerate(tags):
        if t.startswith("I-") and (i == 0 or out[i - 1] == "O" or out[i - 1][2:] != t[2:]):
            t = "B-" + t[2:]
        out.append(t)
    return out


def spans_of(tags: list[str] | tuple[str, ...]) -> list[Span]:
    """IOB2 tags -> entity spans (a B- starts one, I- of the same type continues it)."""
    spans: list[Span] = []
    start, kind = None, None
    for i, t in enumerate([*tags, "O"]):
        if kind is not None and not (t.startswith("I-") and t[2:] == kind):
            spans.append(Span(start, i, kind))
            start, kind = None, None
        if t.startswith("B-") or (t.startswith("I-") and kind is None):
            start, kind = i, t[2:]
    return spans


def types_to_iob2(types: list[str | None]) -> list[str]:
    """One type (or None) per word -> IOB2: a run of one type is one entity."""
    out = []
    for i, t in enumerate(types):
        if t is None:
            out.append("O")
        else:
            out.append(("I-" if i and types[i - 1] == t else "B-") + t)
    return out


def adjacent_same_type(sents: list[Sentence]) -> tuple[int, int]:
    """(entities that directly follow an entity of their own type, all entities): what the
    one-tag-per-word text format cannot write."""
    n = adj = 0
    for s in sents:
        for i, t in enumerate(s.tags):
            if t.startswith("B-"):
                n += 1
                adj += i > 0 and s.tags[i - 1] != "O" and s.tags[i - 1][2:] == t[2:]
    return adj, n


# ---------------------------------------------------------------- the text format


def neutral(word: str) -> str:
    """A source word that reads like a tag ('[ORG]') is written '(ORG)': copied as a word."""
    m = _TAG_RE.match(word)
    return f"({m.group(1)})" if m else word


def source_text(words: tuple[str, ...] | list[str], prefix: str = "") -> str:
    return prefix + " ".join(neutral(w) for w in words)


def target_text(s: Sentence) -> str:
    """'EU [ORG] rejects German [MISC] call': each entity word followed by its type."""
    out = []
    for w, t in zip(s.words, s.tags, strict=True):
        out.append(neutral(w))
        if t != "O":
            out.append(f"[{t[2:]}]")
    return " ".join(out)


@dataclass
class Parsed:
    types: list[str | None]  # one per source word
    copied: bool  # the generated words were exactly the source words
    problems: list[str] = field(default_factory=list)


def parse_target(generated: str, words: tuple[str, ...] | list[str]) -> Parsed:
    """Generated text -> one type (or None) per source word. A tag applies to the word before it;
    if the model's words differ from the source (free generation), difflib aligns them and only
    tags on matching words transfer."""
    out_words: list[str] = []
    out_types: list[str | None] = []
    problems: list[str] = []
    for piece in generated.split():
        m = _TAG_RE.match(piece)
        if m:
            kind = None if m.group(1) == "O" else m.group(1)
            if not out_words:
                problems.append(f"{piece} before any word")
            elif out_types[-1] is not None and out_types[-1] != kind:
                problems.append(f"two tags on {out_words[-1]!r}")
            else:
                out_types[-1] = kind
            continue
        out_words.append(piece)
        out_types.append(None)
    src = [neutral(w) for w in words]
    if out_words == src:
        return Parsed(out_types, True, problems)
    types: list[str | None] = [None] * len(src)
    matcher = difflib.SequenceMatcher(a=src, b=out_words, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            types[block.a + k] = out_types[block.b + k]
    problems.append("the model did not copy the sentence exactly; tags were aligned by word")
    return Parsed(types, False, problems)


# ---------------------------------------------------------------- scoring (seqeval)


def score(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Entity-level precision, recall and F1 (micro over all entities) and per type, with
    seqeval's conlleval-compatible counting."""
    from seqeval.metrics import classification_report

    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred, strict=True)):
        raise ValueError("gold and predicted tag sequences differ in shape")
    rep = classification_report(gold, pred, output_dict=True, zero_division=0)
    micro = rep.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0})
    per_type = {
        t: {
            "precision": round(float(rep[t]["precision"]), 4),
            "recall": round(float(rep[t]["recall"]), 4),
            "f1": round(float(rep[t]["f1-score"]), 4),
            "support": int(rep[t]["support"]),
        }
        for t in TYPES
        if t in rep
    }
    return {
        "precision": round(float(micro["precision"]), 4),
        "recall": round(float(micro["recall"]), 4),
        "f1": round(float(micro["f1-score"]), 4),
        "entities": int(micro["support"]),
        "per_type": per_type,
    }


# ---------------------------------------------------------------- the shared task's baseline


def lookup_tagger(train: list[Sentence]):
    """CoNLL-2003's baseline: tag a word sequence as an entity if it was one in the training
    data (its most frequent type there), longest match first. It can only memorise."""
    seen: dict[tuple[str, ...], Counter] = {}
    for s in train:
        for sp in spans_of(s.tags):
            seen.setdefault(s.words[sp.start : sp.end], Counter())[sp.type] += 1
    table = {k: c.most_common(1)[0][0] for k, c in seen.items()}
    longest = max((len(k) for k in table), default=0)

    def tag(words: tuple[str, ...] | list[str]) -> list[str]:
        types: list[str | None] = [None] * len(words)
        i = 0
        while i < len(words):
            for n in range(min(longest, len(words) - i), 0, -1):
                t = table.get(tuple(words[i : i + n]))
                if t:
                    types[i : i + n] = [t] * n
                    i += n
                    break
            else:
                i += 1
        return types_to_iob2(types)

    return tag


# ---------------------------------------------------------------- user text


def split_words(text: str, max_words: int = 120) -> tuple[list[str], list[tuple[int, int]], bool]:
    """The user's text as CoNLL-style words with their character offsets (at most `max_words`;
    the flag says whether it was cut)."""
    found = list(_WORD_RE.finditer(text))
    words = [m.group(0) for m in found[:max_words]]
    offsets = [(m.start(), m.end()) for m in found[:max_words]]
    return words, offsets, len(found) > max_words


def char_spans(types: list[str | None], offsets: list[tuple[int, int]]):
    """Per-word types -> (start, end, type) character spans of the user's text."""
    return [(offsets[s.start][0], offsets[s.end - 1][1], s.type) for s in spans_of(
        types_to_iob2(types))]  # fmt: skip


def highlight(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The text with entities marked and labelled; every piece of it is html-escaped."""
    from lessons.use_cases import EntitySpan, highlight_html

    return highlight_html(text, [EntitySpan(a, b, t, "model") for a, b, t in spans])
