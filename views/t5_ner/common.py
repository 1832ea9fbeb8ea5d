"""What the Project 3 tabs share: keys, the built-in sample and its split, loaded taggers."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lessons import ner_format as nf
from models import ner, registry
from ui.models import get_model
from ui.page import page_keys
from ui.training import result

k = page_keys("ner")
SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "ner" / "sample.conll"
PREPARED = {"ner-t5-prepared": "T5 from scratch", "ner-minilm-prepared": "MiniLM tagger"}
LIVE = "trained live on this page"


def sample_cfg(arch: str) -> ner.NerConfig:
    """The prepared steps' settings: the sample with 20% held out."""
    return ner.default_config(arch, val_frac=0.2)


@st.cache_data(show_spinner=False)
def sample() -> list[nf.Sentence]:
    return nf.read_conll(SAMPLE)


@st.cache_data(show_spinner=False)
def split() -> tuple[list[nf.Sentence], list[nf.Sentence]]:
    return ner.split(sample(), sample_cfg("t5"))


@st.cache_data(show_spinner=False)
def lookup_scores() -> dict:
    train, val = split()
    tag = nf.lookup_tagger(train)
    return nf.score([list(s.tags) for s in val], [tag(s.words) for s in val])


def prepared_handle(key: str):
    """A prepared tagger's shared handle, or None when `make prepare` has not made it."""
    if not registry.get_choice(key).available():
        return None
    return get_model("ner", key, optional=True)


def live_tagger() -> ner.Trained | None:
    res = result(k("train"))
    return res if isinstance(res, ner.Trained) else None


@st.cache_data(max_entries=8, show_spinner="Scoring on the held-out sentences…")
def prepared_scores(key: str, _handle) -> dict:
    with _handle.lock:
        return ner.evaluate(ner.tagger_of(_handle), split()[1])
