"""LoRA: the low-rank update counted by peft and by the formula, trained live on SmolLM2 and
toggled, merged, its spectrum, the α/r scaling and what QLoRA needs (tabs in views/lora/)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lessons import lora as lo
from models import lora as tune
from ui.models import get_model
from ui.page import folded, header, lazy_tabs, on_handle
from ui.widgets import show_code
from views.lora import adapter, k, qlora, update

# What the count is for: an embedded model (its role) or a published config (assets/configs/),
# with the targets each starts on (GPT-2 c_attn and Llama q_proj: the published examples).
COUNT_MODELS = {
    "MiniLM-L6 (embedded encoder)": ("encoder", ("query", "value")),
    "SmolLM2-135M (embedded chat model)": ("chat", ("q_proj", "v_proj")),
    "GPT-2 124M (published config)": ("gpt2", ("c_attn",)),
    "Llama-3.2-1B (published config)": ("llama-3.2-1b", ("q_proj",)),
}
EMBEDDED = {"encoder": "encoder", "chat": "causal-lm"}


@on_handle()
def embedded_count(handle, settings: lo.LoraSettings, kind: str) -> lo.Count:
    return lo.count(handle.model.config, settings, kind)


@on_handle()
def embedded_targets(handle) -> list[str]:
    return lo.target_names(handle.model)


@st.cache_data(show_spinner=False)
def published_count(key: str, settings: lo.LoraSettings) -> tuple[lo.Count, str, str]:
    pub = lo.published(key)
    return lo.count(pub.config, settings), pub.name, pub.source


@st.cache_data(show_spinner=False)
def published_targets(key: str) -> list[str]:
    return lo.target_names(lo.meta_model(lo.published(key).config))


controls = header(
    "LoRA: low-rank adaptation",
    "Fine-tuning changes a weight matrix W by some ΔW. LoRA (Hu et al. 2021) bets that the "
    "useful ΔW has **low rank** and trains it as a product: W stays **frozen**, and beside it "
    "two small matrices A (r × d_in) and B (d_out × r) learn\n\n"
    "h = W x + (α/r) · B A x.\n\n"
    "Each adapted module trains **r·(d_in + d_out)** numbers instead of d_in·d_out. B starts "
    "at **zero**, so the adapted model starts out *exactly* as the base model; after training "
    "B·A can be **merged** into W at no inference cost, or kept apart and switched off.",
)
chat = get_model("chat")
with controls:
    c_model, c_targets = st.columns(2)
    which = c_model.selectbox("Count LoRA parameters for", list(COUNT_MODELS), key=k("model"))
    source, default_targets = COUNT_MODELS[which]
    c1, c2, c3 = st.columns(3)
    r = c1.select_slider("Rank r", [1, 2, 4, 8, 16, 32, 64], value=8, key=k("r"))
    alpha = c2.select_slider("α", [1, 2, 4, 8, 16, 32, 64, 128], value=16, key=k("alpha"))
    dropout = c3.select_slider("Dropout", [0.0, 0.05, 0.1, 0.2], value=0.05, key=k("dropout"))
    if source in EMBEDDED:
        handle = chat if source == "chat" else get_model("encoder")
        options = embedded_targets(handle)
    else:
        handle, options = None, published_targets(source)
    targets = c_targets.multiselect(
        "Target modules",
        options,
        default=[t for t in default_targets if t in options],
        key=k(f"targets::{source}"),
    )

settings = lo.LoraSettings(r=r, alpha=float(alpha), dropout=dropout, targets=tuple(targets))
st.subheader("Trainable parameters: peft's count and the formula")
if not targets:
    st.info("Choose at least one target module.", icon=":material/checklist:")
else:
    if handle is not None:
        count, name = embedded_count(handle, settings, EMBEDDED[source]), handle.choice.label
        src = "its own configuration"
    else:
        count, name, url = published_count(source, settings)
        src = f"its [published config.json]({url}) (`assets/configs/{source}.json`)"
    m1, m2, m3 = st.columns(3)
    m1.metric("peft: get_nb_trainable_parameters", f"{count.peft_trainable:,}")
    m2.metric("Formula: Σ r·(d_in + d_out)", f"{count.formula_total:,}")
    m3.metric(
        "Share of the base model",
        f"{count.percent:.3f}%",
        f"{count.base_params:,} frozen",
        delta_color="off",
    )
    agree = "agree" if count.peft_trainable == count.formula_total else "DIFFER"
    table = pd.DataFrame([vars(row) for row in count.rows]).rename(
        columns={"per_module": "r·(d_in+d_out)", "full": "d_in·d_out (full fine-tune)"}
    )
    with folded("Per module: r·(d_in + d_out) against d_in·d_out", ":material/table:"):
        st.caption(
            f"{name}, built on the meta device (no weights) from {src}. The two counts {agree}; "
            f"dropout {dropout:g} adds no parameters."
        )
        st.dataframe(table, hide_index=True, width="stretch")

# The live fine-tune adapts the chat model: its targets when it is the one counted above.
live_targets = tuple(targets) if source == "chat" and targets else ("q_proj", "v_proj")
live = lo.LoraSettings(r=r, alpha=float(alpha), dropout=dropout, targets=live_targets)
tabs = lazy_tabs(["Adapter off / on", "Merge & spectrum", "α / r", "QLoRA"], k("tabs"))
if tabs[0].open:
    with tabs[0]:
        adapter.render(chat, live)
if tabs[1].open:
    with tabs[1]:
        update.render_merge(chat, live)
if tabs[2].open:
    with tabs[2]:
        update.render_scaling(chat, float(alpha), r)
if tabs[3].open:
    with tabs[3]:
        qlora.render(chat)

show_code(lo.lora_config, lo.formula, lo.peft_count, lo.delta, tune.train, tune.merge_check)
