"""Tab 4: tag your sentence with any of the taggers, highlighted (escaped)."""

from __future__ import annotations

import streamlit as st

from figures import ner as fig
from lessons import ner_format as nf
from models import ner
from ui.widgets import empty_hint, guarded_text
from views.t5_ner.common import LIVE, PREPARED, k, live_tagger, prepared_handle

DEFAULT = "Maria Okafor flew from Lisbon to Nairobi to meet the board of Savanna Pay."


def render() -> None:
    options = {}
    for key, name in PREPARED.items():
        if prepared_handle(key) is not None:
            options[f"{name} (prepared)"] = key
    if live_tagger() is not None:
        options[f"the model {LIVE}"] = LIVE
    if not options:
        st.info("No tagger yet: run `make prepare`, or train one in the *Train live* tab.",
                icon=":material/hourglass_empty:")  # fmt: skip
        return
    pick = options[st.radio("Tagger", list(options), horizontal=True, key=k("tagger"))]
    text = guarded_text("Your sentence", DEFAULT, key=k("text"), max_chars=1_000)
    if text.empty:
        empty_hint("a sentence with names of people, places or organisations")
        return
    if pick == LIVE:
        out = ner.entities(live_tagger().tagger, text.text)
    else:
        handle = prepared_handle(pick)
        with handle.lock:
            out = ner.entities(ner.tagger_of(handle), text.text)
    if out["cut"]:
        st.caption(f"Only the first {len(out['words']):,} words are tagged.")
    if not out["words"]:
        st.info("No words to tag in this text.", icon=":material/edit:")
        return
    st.html(nf.highlight(text.text, out["spans"]))
    st.markdown("**What the model wrote**")
    st.code(out["text"], language=None, wrap_lines=True)
    if any(out["probs"]):
        st.plotly_chart(fig.tag_choices(out["words"], out["probs"]), width="stretch",
                        key=k("probs"))  # fmt: skip
        st.caption("T5's five-way choice after each word (its decoder's softmax restricted to "
                   "the tags): the tag it writes is the largest.")  # fmt: skip
