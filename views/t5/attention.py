"""Tab 4: encoder, decoder and cross-attention in bertviz's model view (offline)."""

from __future__ import annotations

import streamlit as st

from lessons import t5 as T5
from models import t5_tasks as tt
from ui.page import on_handle
from ui.widgets import empty_hint, guarded_text
from views.t5.common import k, model_choice
from views.t5.text2text import answer

MAX_TOKENS = 32  # bertviz draws T² lines per head


@on_handle(max_entries=8, show_spinner="Running T5 with output_attentions…")
def hub_attention(handle, source: str, target: str) -> T5.Seq2SeqAttention:
    return T5.seq2seq_attention(handle.model, handle.tokenizer, source, target, MAX_TOKENS)


@st.cache_data(max_entries=8, show_spinner="Building the bertviz view…")
def view_html(key: str, source: str, target: str, _att: T5.Seq2SeqAttention) -> str:
    return T5.model_view_html(_att)


def render() -> None:
    st.markdown(
        "An encoder-decoder has **three** attentions. The encoder's self-attention is "
        "bidirectional; the decoder's self-attention is causal (each output token sees the ones "
        "before it); **cross-attention** lets each decoder position read the encoder's output: "
        "one row per token written, one column per token read. Pick *Encoder*, *Decoder* or "
        "*Cross* in the view's menu; click a head to enlarge it."
    )
    kind, model = model_choice("att_model")
    if model is None:
        if kind == "live":
            st.info("Train the small T5 in the first tab: its cross-attention for `reverse:` "
                    "is an anti-diagonal.", icon=":material/model_training:")  # fmt: skip
        return
    default = (
        "reverse: fox owl red gold"
        if kind == "live"
        else "translate English to German: The house is wonderful."
    )
    text = guarded_text("Source text", default, key=k(f"att_{kind}"), max_chars=300, area=False)
    if text.empty:
        empty_hint("a prefixed input")
        return
    if kind == "live":
        src = " ".join(text.text.split()[: 2 * tt.TaskConfig.max_words])
        tgt = tt.generate(model.model, model.tokenizer, [src])[0] or "<unk>"
        with st.spinner("Running the small T5…"):
            att = T5.seq2seq_attention(model.model, model.tokenizer, src, tgt, MAX_TOKENS)
        key = f"live-{id(model)}"
    else:
        src, tgt = text.text, answer(model, text.text) or "."
        att = hub_attention(model, src, tgt)
        key = model.choice.key
    st.caption(f"The decoder is fed its own answer, `{tgt}`, shifted right (teacher forcing); "
               f"at most {MAX_TOKENS} tokens each side.")  # fmt: skip
    st.iframe(view_html(key, src, tgt, att), height=min(T5.model_view_height(att), 2400))
