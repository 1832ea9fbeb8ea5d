"""Tab 4: QLoRA, what it needs and what 4-bit base weights save."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lessons import lora as lo
from ui.page import lesson


@st.cache_data(show_spinner=False)
def published_params(key: str) -> int:
    return sum(p.numel() for p in lo.meta_model(lo.published(key).config).parameters())


def render(chat) -> None:
    need = lo.qlora_requirements()
    st.dataframe(
        pd.DataFrame([{"QLoRA needs": n, "here": "yes" if v else "no"} for n, v in need.items()]),
        hide_index=True,
    )
    sizes = {chat.choice.label: chat.params}
    sizes |= {lo.published(key).name: published_params(key) for key in ("llama-3.2-1b",)}
    rows = [
        {"base weights of": m, **{b: f"{v:.2f} GiB" for b, v in lo.weight_memory_gb(n).items()}}
        for m, n in sizes.items()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    lesson(
        f"[QLoRA]({lo.QLORA_PAPER}) keeps the frozen W in **4-bit NormalFloat**, with the "
        "quantization constants quantized again (4.127 bits a weight), and trains LoRA's A and B "
        "in 16 bits on top; each matmul de-quantizes W on the fly. It needs a **CUDA GPU** and "
        "the **bitsandbytes** kernels, so it does not run on this CPU. Here, as everywhere in "
        "the gallery, peft never wraps the shared model: it changes the model it is given, so "
        "every run wraps a private copy."
    )
    st.code(lo.QLORA_CODE, language="python")
