"""BERT & RoBERTa: what changed between them (masking, NSP, tokenizer, data), shown live. The
tabs live in views/bert_roberta/; only the open one computes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lessons import embeddings as emb
from lessons import fill_mask as fm
from lessons import masking
from models import sentiment as sent
from models.sentiment_cli import train_both
from ui.page import header, presenter, show_tabs
from ui.widgets import show_code
from views.bert_roberta import embeddings, fill_mask, pretraining, tokenizers
from views.bert_roberta import masking as masking_tab
from views.bert_roberta.common import k

COMPARISON = pd.DataFrame(
    {
        "BERT (Devlin et al., 2018)": [
            "BooksCorpus + English Wikipedia, 16 GB",
            "static: masked once during preprocessing",
            "yes: 50% real next sentence, 50% random",
            "WordPiece, 30,522 pieces",
            "256 sequences × 1M steps",
            "arXiv:1810.04805",
        ],
        "RoBERTa (Liu et al., 2019)": [
            "Books, Wikipedia, CC-News, OpenWebText, Stories: 160 GB",
            "dynamic: a new mask every time a sequence is fed",
            "no: NSP removed, inputs are full sentences packed to 512 tokens",
            "byte-level BPE, 50,265 pieces (no unknown token)",
            "8,000 sequences × 500K steps",
            "arXiv:1907.11692",
        ],
    },
    index=["Data", "Masking", "Next-sentence prediction", "Tokenizer", "Batch × steps", "Source"],
)
TABS = {
    "Tokenizers": tokenizers.render,
    "Contextual embeddings": embeddings.render,
    "Masking": masking_tab.render,
    "Fill-mask": fill_mask.render,
    "Why pre-training matters": pretraining.render,
}

controls = header(
    "BERT & RoBERTa",
    "**BERT** (2018) pre-trains a Transformer *encoder* on two tasks: guess the 15% of tokens "
    "that were hidden (**masked language modelling**) and tell whether sentence B really "
    "followed sentence A (**next-sentence prediction**). Every token sees the whole sentence, "
    "left and right, so its output vector depends on its context.\n\n"
    "**RoBERTa** (2019) kept the architecture and changed the *recipe*: 10× the data, a new mask "
    "each time a sequence is seen, no NSP, a byte-level BPE vocabulary, much larger batches and "
    "longer training. Each row of the table has a tab below; the last one shows what the "
    "pre-training buys.",
    ratio=(2, 3),
)
with controls:
    # On a projector the comparison folds away: the tabs below are the interaction.
    where = st.expander("BERT vs RoBERTa, side by side") if presenter() else st.container()
    where.table(COMPARISON)

show_tabs(k("tabs"), TABS)

show_code(
    masking.mask_tokens,
    masking.epoch_masks,
    masking.measure,
    emb.word_vectors,
    emb.sentence_similarity,
    fm.fill_mask,
    fm.next_token_view,
    train_both,
    sent.run_training,
)
