"""LLMs: how big a model is, what it needs in memory to run and to train, and what it costs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import llms as fig
from lessons import llm_calculator as calc
from lessons.llm_arch import SHIPPED, Arch, HubConfigError, UnsupportedArchitecture, hub_config
from lessons.llm_arch import published as read_published
from ui.models import get_model
from ui.page import header, lesson, on_handle, page_keys, show_tabs
from ui.widgets import guarded_text, show_code

k = page_keys("llms")
HUB = "A Hub model id…"
DTYPES = list(calc.BYTES)
LESSON = """
Everything here follows from a model's `config.json`: the widths, the layer count, the heads.
**Parameters** are counted per component (a Mixture of Experts has far more *total* than
*active* parameters per token); **memory** is parameters × bytes per parameter, plus what training
adds (gradients, Adam's two moments, activations) and what generation adds (the **KV cache**:
2 · layers · KV heads · head size · tokens · bytes — KV heads, not query heads);
**compute** is ≈ 6·N·D FLOPs to train on D tokens and ≈ 2·N per generated token.
"""


@st.cache_data(show_spinner=False)
def published(key: str):
    return read_published(key)


@st.cache_data(show_spinner="Reading the config from the Hub…", max_entries=32)
def hub_arch(model_id: str) -> tuple[str, Arch]:
    return model_id, Arch.from_config(hub_config(model_id))


@on_handle()
def loaded_parameters(handle) -> int:
    return sum(p.numel() for p in handle.model.parameters())  # tied weights count once


def chosen() -> tuple[str, Arch, object] | None:
    names = {published(key).name: key for key in SHIPPED}
    options = [*names, HUB]
    pick = st.selectbox("Model (its published config.json)", options,
                        index=options.index("Llama-3.1-8B"), key=k("model"))  # fmt: skip
    if pick != HUB:
        pub = published(names[pick])
        st.caption(f"Config: [{pub.source}]({pub.source}) (`assets/configs/{pub.key}.json`)")
        return pick, Arch.from_config(pub.config), pub
    typed = guarded_text("Hub model id", "Qwen/Qwen2.5-7B", k("hub"), max_chars=120, area=False)
    try:
        name, arch = hub_arch(typed.text)
        return name, arch, None
    except (HubConfigError, UnsupportedArchitecture) as exc:
        st.warning(str(exc), icon=":material/info:")
        return None


def parameters_tab(name: str, arch: Arch) -> None:
    counts = calc.parameters(arch)
    a, b, c = st.columns(3)
    a.metric("Parameters", calc.human_count(counts.total), help=f"{counts.total:,}")
    b.metric("Active per token", calc.human_count(counts.active), help=f"{counts.active:,}")
    c.metric("Attention", arch.attention.split(" (")[0], help=arch.attention)
    st.plotly_chart(fig.parameter_bars(counts.components, counts.active_components),
                    key=k("params"))  # fmt: skip
    if name == "SmolLM2-135M-Instruct":
        handle = get_model("chat")
        loaded = loaded_parameters(handle)
        verdict = "equal" if loaded == counts.total else f"differs by {loaded - counts.total:,}"
        st.success(f"The embedded SmolLM2 loaded here holds **{loaded:,}** parameters; the "
                   f"calculator says **{counts.total:,}**: {verdict}.")  # fmt: skip


@st.fragment
def memory_tab(arch: Arch, dtype: str) -> None:
    counts = calc.parameters(arch)
    st.markdown("**To run it:** the weights at each precision (+ the KV cache, next tab).")
    st.dataframe(pd.DataFrame({
        "dtype": DTYPES,
        "bytes / parameter": [calc.BYTES[d] for d in DTYPES],
        "weights": [calc.human_bytes(calc.weight_bytes(counts.total, d)) for d in DTYPES],
    }), hide_index=True)  # fmt: skip
    a, b, c, d = st.columns(4)
    batch = a.select_slider("Batch", [1, 2, 4, 8, 16, 32, 64], value=1, key=k("batch"))
    seq = b.select_slider("Sequence", [256, 512, 1024, 2048, 4096, 8192], 2048, key=k("seq"))
    rank = c.select_slider("LoRA rank", [1, 2, 4, 8, 16, 32, 64, 128, 256], 8, key=k("rank"))
    ckpt = d.toggle("Gradient checkpointing", key=k("ckpt"))
    rows = {
        method: calc.training_memory(arch, method.split(" ")[0], rank, dtype, batch, seq, ckpt)
        for method in ("full", f"lora (r={rank}, q+v)", "frozen (head only)")
    }
    st.plotly_chart(fig.memory_stack({m: r.as_dict() for m, r in rows.items()},
                                     f"One Adam step in {dtype}"), key=k("train"))  # fmt: skip
    st.caption(" · ".join(f"{m}: {r.trainable:,} trainable" for m, r in rows.items())
               + ". Activations: Korthikanti et al. 2022 (s·b·h·34 bytes a layer with "
               "FlashAttention) + fp32 logits.")  # fmt: skip


@st.fragment
def kv_tab(arch: Arch, dtype: str) -> None:
    a, b = st.columns(2)
    top = max(arch.max_positions, 1024)
    steps = [2**p for p in range(8, 21) if 2**p <= top]
    ctx = a.select_slider("Context (tokens)", steps, min(4096, steps[-1]), key=k("ctx"))
    batch = b.select_slider("Batch", [1, 2, 4, 8, 16, 32, 64], 1, key=k("kvbatch"))
    layouts = calc.kv_layouts(arch, ctx, dtype, batch)
    own = next(iter(layouts))
    per_token = calc.kv_cache_bytes(arch, 1, dtype)
    st.metric(f"KV cache, {own}", calc.human_bytes(layouts[own]),
              help=f"{calc.human_bytes(per_token)} per token")  # fmt: skip
    st.caption(f"Per token: {calc.human_bytes(per_token)} in {dtype} across {arch.num_layers} "
               f"layers. {arch.attention}.")  # fmt: skip
    if arch.num_kv_heads != arch.num_heads and not arch.uses_mla:
        wrong = calc.kv_cache_bytes(arch, ctx, dtype, batch, kv_heads=arch.num_heads)
        st.warning(f"The usual calculator bug, num_heads for num_kv_heads, would say "
                   f"{calc.human_bytes(wrong)} ({arch.num_heads // arch.num_kv_heads}× too much).",
                   icon=":material/bug_report:")  # fmt: skip
    lengths = [s for s in steps if s >= 256]
    series = {n: [calc.kv_layouts(arch, t, dtype, batch)[n] for t in lengths] for n in layouts}
    st.plotly_chart(fig.kv_growth(lengths, series, mark=ctx), key=k("kvfig"))


def compute_tab(arch: Arch, pub) -> None:
    counts = calc.parameters(arch)
    n = counts.active
    known = pub.training_tokens if pub is not None else None
    tokens_b = st.number_input(
        "Training tokens (billions)",
        0.001,
        1e5,
        float((known or calc.chinchilla_tokens(n)) / 1e9),
        key=k("tokens"),
    )
    tokens = tokens_b * 1e9
    a, b, c = st.columns(3)
    a.metric("Training FLOPs ≈ 6·N·D", f"{calc.train_flops(n, tokens):.3g}")
    b.metric("Per generated token ≈ 2·N", f"{calc.generate_flops(n):.3g}")
    opt = calc.chinchilla_tokens(counts.total)
    c.metric("Chinchilla D ≈ 20·N", f"{opt / 1e9:,.0f} B tokens",
             delta=f"trained on {tokens / opt:,.1f}× that", delta_color="off")  # fmt: skip
    if arch.is_moe:
        st.caption(f"MoE: N is the {counts.active:,} active parameters per token for FLOPs; "
                   "Chinchilla's rule was fitted on dense models (total N shown).")  # fmt: skip
    if known:
        st.caption(f"Published training tokens: {pub.training_tokens_source}.")


def main() -> None:
    controls = header("LLMs: size, memory and compute from a config", LESSON)
    with controls:
        picked = chosen()
        dtype = st.selectbox("Precision", DTYPES, index=DTYPES.index("bf16"), key=k("dtype"))
    if picked is None:
        return
    name, arch, pub = picked
    show_tabs(k("tabs"), {
        "Parameters": lambda: parameters_tab(name, arch),
        "Memory": lambda: memory_tab(arch, dtype),
        "KV cache": lambda: kv_tab(arch, dtype),
        "Compute": lambda: compute_tab(arch, pub),
    })  # fmt: skip
    lesson("Formulas: `lessons/llm_calculator.py`; configs read by `lessons/llm_arch.py`, "
           "checked against the model transformers builds from the same config.")  # fmt: skip
    show_code(calc.parameters, calc.kv_cache_bytes, calc.training_memory)


main()
