"""Five uses of a transformer, done offline with two small models.

- An encoder (MiniLM) gives sentence embeddings: mean of the token vectors, unit length. Cosine
  similarity then ranks passage sentences against a question (extractive QA) and scores a text
  against "This text is about {label}." (zero-shot classification).
- An instruct LM (SmolLM2) does the rest by prompting: translation, generative QA, summaries,
  a label choice, and named entities as `TYPE: text` lines that we parse and match back to
  character offsets in the original text.

No Streamlit here. Prompts are plain functions so a page can show exactly what the model saw.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from lessons.chat import build_messages

# ---------------------------------------------------------------- sentence embeddings


@dataclass
class EmbedConfig:
    max_length: int = 256  # MiniLM was trained on 256-token inputs; longer is cut
    batch_size: int = 32


def mean_pool(last_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average the real tokens' vectors; padding does not count."""
    m = mask.unsqueeze(-1).to(last_hidden.dtype)  # (B, T, 1)
    return (last_hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, C)


def embed(handle: Any, texts: list[str], cfg: EmbedConfig | None = None) -> torch.Tensor:
    """Unit-length sentence embeddings (N, C) from any BERT-like encoder handle."""
    cfg = cfg or EmbedConfig()
    chunks = []
    with handle.lock, torch.inference_mode():
        for i in range(0, len(texts), cfg.batch_size):
            enc = handle.tokenizer(
                texts[i : i + cfg.batch_size],
                padding=True,
                truncation=True,
                max_length=cfg.max_length,
                return_tensors="pt",
            ).to(handle.model.device)
            hidden = handle.model(**enc).last_hidden_state  # (B, T, C)
            chunks.append(mean_pool(hidden, enc["attention_mask"]).float().cpu())  # (B, C)
    return F.normalize(torch.cat(chunks), dim=-1)  # (N, C)


# ---------------------------------------------------------------- zero-shot classification


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


def softmax_t(scores: list[float], temperature: float) -> list[float]:
    """softmax(score / T): small T sharpens, large T flattens towards uniform."""
    return torch.softmax(torch.tensor(scores) / max(temperature, 1e-4), dim=0).tolist()


# ---------------------------------------------------------------- extractive QA


@dataclass(frozen=True)
class Span:
    start: int  # character offsets into the original text: text[start:end]
    end: int
    text: str


_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+[\"')\]]*|\n|$)")


def split_sentences(passage: str) -> list[Span]:
    """Sentences with their offsets; a rule (end punctuation or newline), not a parser."""
    spans = []
    for m in _SENTENCE.finditer(passage):
        raw = m.group()
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if any(ch.isalnum() for ch in body):
            start = m.start() + lead
            spans.append(Span(start, start + len(body), body))
    return spans


@dataclass
class RankedSentence:
    span: Span
    score: float  # cosine(question, sentence)


def rank_sentences(handle: Any, question: str, passage: str) -> list[RankedSentence]:
    """Passage sentences, most similar to the question first."""
    spans = split_sentences(passage)
    if not spans:
        return []
    e = embed(handle, [question, *(s.text for s in spans)])  # (1 + S, C)
    scores = (e[1:] @ e[0]).tolist()  # (S,)
    ranked = [RankedSentence(s, sc) for s, sc in zip(spans, scores, strict=True)]
    return sorted(ranked, key=lambda r: -r.score)


# ---------------------------------------------------------------- prompts for the instruct model

LANGUAGES = ("English", "French", "German", "Spanish", "Italian", "Portuguese", "Chinese")
CODE_LANGUAGES = ("Python", "JavaScript", "TypeScript", "Java", "C", "C++", "Go", "Rust", "SQL")


def translation_messages(text: str, source: str, target: str) -> list[dict[str, str]]:
    return build_messages(
        f"Translate this {source} text to {target}. Reply with the translation only.\n\n{text}"
    )


def code_translation_messages(code: str, source: str, target: str) -> list[dict[str, str]]:
    return build_messages(
        f"Translate this {source} code to {target}. Reply with the code only.\n\n"
        f"```{source.lower()}\n{code}\n```"
    )


def qa_messages(passage: str, question: str) -> list[dict[str, str]]:
    return build_messages(
        f"Passage: {passage}\n\nQuestion: {question}",
        system="Answer the question in one short sentence, using only the passage.",
    )


def summary_messages(email: str) -> list[dict[str, str]]:
    return build_messages(f"Summarize this email in one or two sentences.\n\n{email}")


def classify_messages(text: str, labels: list[str]) -> list[dict[str, str]]:
    options = ", ".join(labels)
    return build_messages(
        f"Text: {text}\n\nWhich label fits the text best: {options}? Answer with the label only.",
        system=f"You are a text classifier. You answer with exactly one of: {options}.",
    )


def pick_label(answer: str, labels: list[str]) -> str | None:
    """The label the model named: its earliest mention, None if it named none.

    A mention inside a longer label's mention does not count, so 'not spam' is not read as 'spam'.
    """
    norm = " ".join(answer.casefold().split())
    hits = [
        (m.start(), m.end(), lab)
        for lab in labels
        for m in re.finditer(rf"(?<!\w){re.escape(lab.casefold())}(?!\w)", norm)
    ]
    alone = [
        h
        for h in hits
        if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0]) for o in hits)
    ]
    return min(alone)[2] if alone else None


# ---------------------------------------------------------------- named entities

ENTITY_TYPES = ("PERSON", "ORG", "LOC", "DATE")
_TYPE_ALIASES = {
    "PER": "PERSON", "PERSON": "PERSON", "PEOPLE": "PERSON", "NAME": "PERSON",
    "ORG": "ORG", "ORGANIZATION": "ORG", "ORGANISATION": "ORG", "COMPANY": "ORG",
    "LOC": "LOC", "LOCATION": "LOC", "GPE": "LOC", "PLACE": "LOC", "CITY": "LOC", "COUNTRY": "LOC",
    "DATE": "DATE", "TIME": "DATE", "DAY": "DATE", "YEAR": "DATE",
}  # fmt: skip

NER_SYSTEM = (
    "You find named entities. Write one per line as TYPE: text, "
    "with TYPE one of PERSON, ORG, LOC, DATE."
)
# One worked example: a 135M model copies a format far better than it follows a description.
NER_EXAMPLE = (
    "Marie Curie joined the University of Paris in 1906.",
    "PERSON: Marie Curie\nORG: University of Paris\nLOC: Paris\nDATE: 1906",
)


def ner_messages(text: str) -> list[dict[str, str]]:
    return build_messages(text, system=NER_SYSTEM, history=[NER_EXAMPLE])


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
    if add_regex_dates:
        for m in DATE_RE.finditer(text):
            candidates.append(EntitySpan(m.start(), m.end(), "DATE", "regex"))
    # Greedy, longest first (the model's span on ties): '12 March 2024' beats the model's '2024'.
    candidates.sort(key=lambda s: (-(s.end - s.start), s.source != "model", s.start))
    kept: list[EntitySpan] = []
    for s in candidates:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return MatchedEntities(sorted(kept, key=lambda s: s.start), not_found, implausible)


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


# ---------------------------------------------------------------- task-specific Hub models
# With the network, a page can hand these functions a model trained for the task (SQuAD QA,
# SST-2 sentiment, CoNLL NER, Marian translation). Any handle with .tokenizer/.model/.lock works.


def squad_span(handle: Any, question: str, passage: str, max_answer_tokens: int = 30) -> Span:
    """The passage span maximising start_logit + end_logit, start <= end, inside the passage."""
    tok, model = handle.tokenizer, handle.model
    with handle.lock, torch.inference_mode():
        enc = tok(
            question,
            passage,
            truncation="only_second",
            max_length=384,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping")[0].tolist()  # (T, 2) char offsets
        in_passage = torch.tensor([sid == 1 for sid in enc.sequence_ids(0)])  # (T,)
        out = model(**enc.to(model.device))
    start, end = out.start_logits[0].float().cpu(), out.end_logits[0].float().cpu()  # (T,)
    pair = start[:, None] + end[None, :]  # (T, T): score of answer tokens i..j
    t = torch.arange(len(start))
    length = t[None, :] - t[:, None]  # (T, T): j - i
    ok = (length >= 0) & (length < max_answer_tokens) & in_passage[:, None] & in_passage[None, :]
    if not ok.any():
        raise ValueError("The passage has no tokens left after truncation.")
    best = int(pair.masked_fill(~ok, float("-inf")).argmax())
    i, j = divmod(best, len(start))
    a, b = offsets[i][0], offsets[j][1]
    return Span(a, b, passage[a:b])


def sequence_labels(handle: Any, text: str) -> list[tuple[str, float]]:
    """(label, probability) for a sequence classifier, most likely first."""
    tok, model = handle.tokenizer, handle.model
    with handle.lock, torch.inference_mode():
        enc = tok(text, truncation=True, max_length=512, return_tensors="pt").to(model.device)
        probs = torch.softmax(model(**enc).logits[0].float(), dim=-1).cpu()  # (num_labels,)
    names = [model.config.id2label[i] for i in range(len(probs))]
    return sorted(zip(names, probs.tolist(), strict=True), key=lambda p: -p[1])


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


def token_entities(handle: Any, text: str) -> list[EntitySpan]:
    """Entities from a token classifier (e.g. CoNLL BIO tags), as spans of the original text."""
    tok, model = handle.tokenizer, handle.model
    with handle.lock, torch.inference_mode():
        enc = tok(
            text, truncation=True, max_length=512, return_offsets_mapping=True, return_tensors="pt"
        )
        offsets = [tuple(o) for o in enc.pop("offset_mapping")[0].tolist()]  # (T, 2)
        ids = model(**enc.to(model.device)).logits[0].argmax(-1).tolist()  # (T,)
    tags = [model.config.id2label[i] for i in ids]
    return [
        EntitySpan(a, b, normalize_type(k), "model") for a, b, k in aggregate_bio(tags, offsets)
    ]


def seq2seq_generate(handle: Any, text: str, max_new_tokens: int = 128) -> str:
    """Encoder-decoder generation (Marian, T5): the decoder writes the output from scratch."""
    tok, model = handle.tokenizer, handle.model
    with handle.lock, torch.inference_mode():
        enc = tok(text, truncation=True, max_length=512, return_tensors="pt").to(model.device)
        out = model.generate(
            input_ids=enc["input_ids"],  # (1, T) only ids and mask: not every model takes more
            attention_mask=enc["attention_mask"],
            max_new_tokens=max_new_tokens,
            num_beams=1,
            do_sample=False,
        )  # (1, T_out)
        return tok.decode(out[0], skip_special_tokens=True).strip()
