"""Named entities: read them out of a model's answer, find them in the text, draw them.

Two ways to get entities. A **token classifier** (BERT fine-tuned on CoNLL-2003, Project 3's
tagger) labels every token B-PER, I-PER, O ...: `aggregate_bio` glues the tags back into character
spans. An **instruct LM** is asked for `TYPE: text` lines: `parse_entities` reads them (or JSON),
and `match_entities` finds each one in the original text to get offsets, says which it could not
find (invented) and fills in dates from a regex. `entity_f1` scores either against gold spans.
No Streamlit here.
"""

from __future__ import annotations

import html
import importlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import torch

from lessons.sentence_search import Span

ENTITY_TYPES = ("PERSON", "ORG", "LOC", "DATE")
_TYPE_ALIASES = {
    "PER": "PERSON", "PERSON": "PERSON", "PEOPLE": "PERSON", "NAME": "PERSON",
    "ORG": "ORG", "ORGANIZATION": "ORG", "ORGANISATION": "ORG", "COMPANY": "ORG",
    "LOC": "LOC", "LOCATION": "LOC", "GPE": "LOC", "PLACE": "LOC", "CITY": "LOC", "COUNTRY": "LOC",
    "DATE": "DATE", "TIME": "DATE", "DAY": "DATE", "YEAR": "DATE",
}  # fmt: skip


@dataclass(frozen=True)
class Entity:
    text: str
    label: str  # PERSON / ORG / LOC / DATE / MISC


@dataclass
class ParsedEntities:
    entities: list[Entity]
    format: str  # "json" | "lines" | "none"
    problems: list[str] = field(default_factory=list)  # what we could not read, said plainly


def normalize_type(raw: str) -> str:
    key = re.sub(r"[^A-Z]", "", raw.upper())
    return _TYPE_ALIASES.get(key, "MISC")


def _clean_entity(s: str) -> str:
    return s.strip().strip("\"'`*.,;").strip()


_JSON_OBJ = re.compile(
    r"\{[^{}]*?[\"']?(?P<k1>text|entity|name|word|type|label)[\"']?\s*:\s*[\"'](?P<v1>[^\"']*)[\"']"
    r"[^{}]*?[\"']?(?P<k2>text|entity|name|word|type|label)[\"']?\s*:\s*[\"'](?P<v2>[^\"']*)[\"']",
    re.IGNORECASE,
)
_LINE = re.compile(
    r"^\s*(?:[-*•\d.)]+\s*)?\**(?P<type>[A-Za-z ]{2,20}?)\**\s*(?::|=|\s[-–]\s)\s*(?P<ents>.+)$"
)


def _from_json(raw: str) -> tuple[list[Entity], list[str]] | None:
    """Entities from a JSON list of {text, type} objects; tolerant of broken JSON."""
    if "{" not in raw:
        return None
    start, end = raw.find("["), raw.rfind("]")
    if start != -1 and end > start:
        try:
            data = json.loads(raw[start : end + 1])
            out = []
            for item in data if isinstance(data, list) else []:
                if isinstance(item, dict):
                    txt = item.get("text") or item.get("entity") or item.get("name") or ""
                    typ = item.get("type") or item.get("label") or ""
                    if isinstance(txt, str) and txt.strip():
                        out.append(Entity(_clean_entity(txt), normalize_type(str(typ))))
            return out, []
        except (json.JSONDecodeError, TypeError, ValueError):
            pass
    # Broken JSON (a ')' for a '}', cut off mid-object): read each complete object by regex.
    out = []
    for m in _JSON_OBJ.finditer(raw):
        pairs = {m["k1"].lower(): m["v1"], m["k2"].lower(): m["v2"]}
        txt = next((pairs[k] for k in ("text", "entity", "name", "word") if k in pairs), "")
        typ = next((pairs[k] for k in ("type", "label") if k in pairs), "")
        if txt.strip():
            out.append(Entity(_clean_entity(txt), normalize_type(typ)))
    if not out:
        return None
    return out, ["The JSON was malformed; complete objects were read one by one."]


def parse_entities(raw: str) -> ParsedEntities:
    """Read the model's answer as JSON objects or `TYPE: a, b` lines; say what was skipped."""
    got = _from_json(raw)
    if got is not None:
        ents, problems = got
        return ParsedEntities(_dedupe(ents), "json", problems)
    ents, skipped = [], []
    for line in raw.splitlines():
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m:
            skipped.append(line.strip())
            continue
        label = normalize_type(m["type"])
        for part in re.split(r"[,;]", m["ents"]):
            if _clean_entity(part):
                ents.append(Entity(_clean_entity(part), label))
    problems = [f"Unreadable line: {s[:80]!r}" for s in skipped[:5]]
    if not ents:
        return ParsedEntities([], "none", problems or ["The answer had no entities."])
    return ParsedEntities(_dedupe(ents), "lines", problems)


def _dedupe(ents: list[Entity]) -> list[Entity]:
    seen, out = set(), []
    for e in ents:
        key = (e.text.casefold(), e.label)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_DAYS = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|today|yesterday|tomorrow)"
DATE_RE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}(?:,?\s+\d{{4}})?"  # 12 March 2024
    rf"|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"  # March 12, 2024
    rf"|{_MONTHS}\s+\d{{4}}"  # March 2024
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}"  # 2024-03-12, 3/12/24
    rf"|{_DAYS}|(?:1[5-9]|20)\d{{2}})\b"  # Monday, 1906 (a bare 'May' is too often a verb)
)


@dataclass(frozen=True)
class EntitySpan:
    start: int
    end: int
    label: str
    source: str  # "model" or "regex"

    def text_in(self, text: str) -> str:
        return text[self.start : self.end]


@dataclass
class MatchedEntities:
    spans: list[EntitySpan]  # sorted, non-overlapping
    not_found: list[Entity]  # the model named them, the text does not contain them
    implausible: list[Entity]  # e.g. the whole sentence called a PERSON


def match_entities(
    text: str, entities: list[Entity], add_regex_dates: bool = True, max_words: int = 8
) -> MatchedEntities:
    """Every occurrence (case-insensitive, whole words) of each entity in `text`; regex dates fill
    in where the model found none. Longer entities win overlaps: 'University of Paris' > 'Paris'.
    """
    candidates: list[EntitySpan] = []
    not_found, implausible = [], []
    for ent in entities:
        if len(ent.text.split()) > max_words or len(ent.text) > max(40, len(text) // 2 + 1):
            implausible.append(ent)
            continue
        pat = re.compile(rf"(?<!\w){re.escape(ent.text)}(?!\w)", re.IGNORECASE)
        hits = [EntitySpan(m.start(), m.end(), ent.label, "model") for m in pat.finditer(text)]
        if hits:
            candidates += hits
        else:
            not_found.append(ent)
    return MatchedEntities(with_dates(text, candidates, add_regex_dates), not_found, implausible)


def with_dates(text: str, spans: list[EntitySpan], add_regex_dates: bool = True):
    """Non-overlapping spans in text order, regex dates added where no entity covers them.
    Greedy, longest first (the model's span on ties): '12 March 2024' beats the model's '2024'."""
    candidates = list(spans)
    if add_regex_dates:
        candidates += [
            EntitySpan(m.start(), m.end(), "DATE", "regex") for m in DATE_RE.finditer(text)
        ]
    candidates.sort(key=lambda s: (-(s.end - s.start), s.source != "model", s.start))
    kept: list[EntitySpan] = []
    for s in candidates:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


ENTITY_COLORS = {
    "PERSON": "#fde68a", "ORG": "#bfdbfe", "LOC": "#bbf7d0", "DATE": "#fecaca", "MISC": "#e5e7eb",
}  # fmt: skip


def highlight_html(text: str, spans: list[EntitySpan] | list[Span], label: str = "") -> str:
    """The text with spans marked; every piece of the text is html-escaped."""
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        tag = getattr(s, "label", label)
        color = ENTITY_COLORS.get(tag, "#fde68a")
        out.append(html.escape(text[pos : s.start]))
        badge = (
            f'<sup style="font-size:0.7em;font-weight:600;margin-left:2px">{html.escape(tag)}</sup>'
            if tag
            else ""
        )
        out.append(
            f'<mark style="background:{color};border-radius:3px;padding:1px 3px">'
            f"{html.escape(text[s.start : s.end])}{badge}</mark>"
        )
        pos = s.end
    out.append(html.escape(text[pos:]))
    return '<div style="line-height:2;white-space:pre-wrap">' + "".join(out) + "</div>"


def aggregate_bio(tags: list[str], offsets: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Token tags (B-PER, I-PER, O ...) -> (start, end, type) character spans.

    A token continues the open span if it is I-<same type>, or if it is a sub-word glued to the
    previous token (no gap) with the same type: 'Ber', '##lin' tagged B-LOC, I-LOC or B-LOC, B-LOC.
    """
    spans: list[list] = []
    open_end = -1  # end offset of the span the previous token belonged to; -1 if none
    for tag, (a, b) in zip(tags, offsets, strict=True):
        kind = tag.split("-", 1)[-1] if tag != "O" else None
        if a == b or kind is None:  # special tokens have empty offsets; O closes the span
            open_end = -1
            continue
        continues = tag.startswith("I-") or a == open_end
        if spans and spans[-1][1] == open_end and spans[-1][2] == kind and continues:
            spans[-1][1] = b
        else:
            spans.append([a, b, kind])
        open_end = b
    return [(a, b, k) for a, b, k in spans]


def _id2label(model: Any) -> dict[int, str]:
    """Tag names of a token classifier: transformers keeps them in config.id2label; a tagger
    trained here may keep them on the module."""
    names = getattr(getattr(model, "config", None), "id2label", None) or getattr(
        model, "id2label", None
    )
    if not names:
        raise ValueError("This token classifier does not name its tags (no id2label).")
    return {int(i): str(n) for i, n in dict(names).items()}


def token_entities(handle: Any, text: str, max_length: int = 512) -> list[EntitySpan]:
    """Entities from a token classifier (e.g. CoNLL BIO tags), as spans of the original text.

    CoNLL taggers are trained on each word's first sub-token (the others are ignored in the
    loss), so each word takes its first piece's tag; words without word ids fall back to tokens.
    """
    tok, model = handle.tokenizer, handle.model
    names = _id2label(model)
    with handle.lock, torch.inference_mode():
        enc = tok(
            text,
            truncation=True,
            max_length=max_length,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = [tuple(o) for o in enc.pop("offset_mapping")[0].tolist()]  # (T, 2)
        word_ids = enc.word_ids(0) if enc.encodings else [None] * len(offsets)
        out = model(**enc.to(model.device))
        logits = out.logits if hasattr(out, "logits") else out[0]  # (1, T, n_tags)
        ids = logits[0].argmax(-1).tolist()  # (T,)
    tags, spans, last_word = [], [], None
    for i, (a, b) in enumerate(offsets):
        w = word_ids[i]
        if w is not None and w == last_word:  # a later piece of the same word: extend it
            spans[-1] = (spans[-1][0], b)
            continue
        last_word = w
        tags.append(names.get(ids[i], "O"))
        spans.append((a, b))
    return [EntitySpan(a, b, normalize_type(k), "model") for a, b, k in aggregate_bio(tags, spans)]


@dataclass(frozen=True)
class EntityScore:
    precision: float
    recall: float
    f1: float
    correct: int
    predicted: int
    gold: int


def entity_f1(gold: list[tuple[int, int, str]], found: list[EntitySpan]) -> EntityScore:
    """CoNLL-style scoring: an entity counts only with the exact span and the right type."""
    want = {(a, b, t) for a, b, t in gold}
    got = {(s.start, s.end, s.label) for s in found}
    ok = len(want & got)
    p = ok / len(got) if got else 0.0
    r = ok / len(want) if want else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return EntityScore(p, r, f1, ok, len(got), len(want))


def tagger_entities(handle: Any, text: str) -> list[EntitySpan]:
    """Entities from a trained NER model handle (Project 3's tagger, a Hub CoNLL model).

    - a token classifier: `token_entities`;
    - a text-to-text tagger (T5 writing 'EU [ORG] rejects ...'): the module that loads it may
      offer `handle_entities(handle, text) -> [(start, end, type)]` (its own constrained
      decoding); otherwise it generates freely and `lessons.ner_format.parse_target` aligns the
      tags back onto the words.
    """
    if handle.choice.kind == "token-cls":
        return token_entities(handle, text)
    if handle.choice.kind != "seq2seq":
        raise ValueError(f"{handle.choice.label} is not a NER model ({handle.choice.kind}).")
    hook = None
    if handle.choice.custom_loader:
        module = importlib.import_module(handle.choice.custom_loader.partition(":")[0])
        hook = getattr(module, "handle_entities", None)
    with handle.lock:
        if hook is not None:
            found = hook(handle, text)
        else:
            from lessons import ner_format as nf
            from lessons.task_heads import seq2seq_generate

            words, offsets, _ = nf.split_words(text)
            if not words:
                return []
            out = seq2seq_generate(handle, nf.source_text(words), max_new_tokens=4 * len(words))
            found = nf.char_spans(nf.parse_target(out, words).types, offsets)
    return [EntitySpan(a, b, normalize_type(t), "model") for a, b, t in found]
