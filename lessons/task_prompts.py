"""Prompts that make an instruct LM a translator, a reader, a summarizer, a classifier, a tagger.

A chat model does a task by being **asked**: the instruction and the input become one prompt
(the chat template adds the turn markers), the answer is the continuation. A 135M model follows
a worked example far better than a description, so some prompts carry one (a one-turn history).
Prompts are plain functions so a page can show exactly what the model saw. No Streamlit here.
"""

from __future__ import annotations

import re

from lessons.chat import build_messages

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


def qa_messages(context: str, question: str) -> list[dict[str, str]]:
    """Generative QA. `context` is the whole passage, or only the sentences a retriever picked
    (retrieve, then read: a small reader does better on one sentence than on a page)."""
    return build_messages(
        f"Text: {context}\n\nQuestion: {question}",
        system="Answer the question in one short sentence, using only the text.",
    )


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
