"""Project 3: named entities as generated text (T5) against a tag per word (MiniLM), scored
per entity with seqeval, on the gallery's own tagged sentences. The tabs live in views/t5_ner/."""

from __future__ import annotations

from lessons import ner_format
from models import hf_training, ner
from ui.page import header
from ui.widgets import show_code
from views.t5.common import render_tabs
from views.t5_ner import autotrain, compare, format, tryit
from views.t5_ner.common import k

TABS = ["Entities as text", "Prepared taggers", "Train live", "Your sentence", "AutoTrain"]

header(
    "Project 3: T5 for named entities",
    "**Named entity recognition** finds the people (PER), organisations (ORG), places (LOC) and "
    "other names (MISC) in a text. Here a **T5** does it as text-to-text: it reads the sentence "
    "and writes it back with a type after each entity word, `EU [ORG] rejects German [MISC] "
    "call`, which we parse into spans. Next to it, **MiniLM** does it the classic way, one "
    "label per word. Both learn from the same 390 sentences written for the gallery in the "
    "CoNLL-2003 tag set, and are scored the same way.",
)
renders = (format.render, compare.render_prepared, compare.render_train, tryit.render,
           autotrain.render)  # fmt: skip
render_tabs(TABS, k("tabs"), renders)

show_code(ner_format.target_text, ner_format.parse_target, ner.constrained_decode,
          ner_format.score, hf_training.train_budgeted)  # fmt: skip
