"""The Use cases page's lessons, one concept per module (this file only points at them):

- `lessons.sentence_search`: mean pooling, unit-length sentence embeddings, cosine ranking
  (extractive QA without a QA head);
- `lessons.zero_shot`: labels as hypothesis sentences, the margin, measured wordings;
- `lessons.task_prompts`: prompts that make an instruct LM translate, read, summarize, classify
  and tag;
- `lessons.ner_parsing`: entities out of a model's answer or a tagger's tags, matched back to
  character offsets, dates from a regex, escaped highlighting, entity F1;
- `lessons.task_heads`: models trained for one job (SQuAD span, a classifier head, seq2seq);
- `lessons.task_eval`: every model's score on held-out sets written for the gallery.

Other lessons import the shared pieces by their old names from here.
"""

from lessons.ner_parsing import EntitySpan, highlight_html
from lessons.sentence_search import EmbedConfig, Span, embed, mean_pool, split_sentences

__all__ = [
    "EmbedConfig",
    "EntitySpan",
    "Span",
    "embed",
    "highlight_html",
    "mean_pool",
    "split_sentences",
]
