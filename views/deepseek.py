"""DeepSeek: mixture of experts you can train, multi-head latent attention's cache, and R1's
`<think>` format. The tabs live in views/deepseek/ (one module per tab)."""

from __future__ import annotations

import streamlit as st

from lessons import llm_calculator as calc
from lessons import mla, think_format
from lessons.llm_arch import Arch, published
from models.moe import model as moe
from ui.page import header, page_keys, show_tabs
from ui.widgets import show_code
from views.deepseek import mla as mla_tab
from views.deepseek import moe as moe_tab
from views.deepseek import think

k = page_keys("deepseek")


@st.cache_data(show_spinner=False)
def v3_counts() -> tuple[int, int]:
    counts = calc.parameters(Arch.from_config(published("deepseek-v3").config))
    return counts.total, counts.active


controls = header(
    "DeepSeek: experts, latent attention, reasoning",
    "DeepSeek-V3 is a Llama-like decoder with two changes that make it cheap: most MLPs are "
    "**mixtures of experts** (a token uses a few of many), and attention caches a small "
    "**latent** instead of every head's keys and values. R1 is V3 trained with reinforcement "
    "learning to **think before it answers**.",
)
total, active = v3_counts()
with controls:
    a, b = st.columns(2)
    a.metric("DeepSeek-V3 parameters", calc.human_count(total))
    b.metric(f"Active per token ({active / total:.1%})", calc.human_count(active),
             help="From its config.json (lessons.llm_calculator)")  # fmt: skip

show_tabs(k("tabs"), {"Mixture of experts": moe_tab.render,
                      "Latent attention (MLA)": mla_tab.render,
                      "R1's <think> format": think.render})  # fmt: skip
show_code(moe.route, moe.MoE, mla.mla_absorbed, think_format.split, think_format.format_reward)
