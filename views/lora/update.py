"""Tabs 2-3: B = 0 at initialisation, merging, the spectrum of B·A, and the α/r scaling."""

from __future__ import annotations

import streamlit as st

from figures import lora as fig
from lessons import lora as lo
from models import lora as tune
from ui.page import lesson, on_handle
from views.lora import current, k

PROBE = "What is an earthquake?"


@on_handle(max_entries=8)
def b_zero_delta(handle, settings: lo.LoraSettings, prompt: str) -> float:
    return tune.init_delta(handle, settings, prompt)


def render_merge(chat, settings: lo.LoraSettings) -> None:
    d0 = b_zero_delta(chat, settings, PROBE)
    st.metric("Fresh adapter (B = 0) vs the shared base model: max |Δlogit|", f"{d0:.1e}")
    adapted = current(chat)
    if adapted is None:
        st.info(
            "Train an adapter (first tab) or run `make prepare` to merge one and see its spectrum.",
            icon=":material/hourglass_empty:",
        )
    else:
        mc = adapted.merge
        if mc is not None:
            g1, g2 = st.columns(2)
            g1.metric(
                "merge_and_unload vs unmerged (fp32): max |Δlogit|",
                f"{mc.fp32_abs:.1e}",
                f"relative to the largest logit: {mc.fp32_rel:.1e}",
                delta_color="off",
            )
            g2.metric("The same in float64", f"{mc.fp64_abs:.1e}")
        layers = dict(lo.lora_layers(adapted.handle.model))
        pick = st.selectbox("Adapted module", list(layers), key=k("module"))
        with adapted.handle.lock:
            values = lo.spectrum(layers[pick]).tolist()
        r = adapted.settings.r
        title = f"Singular values of ΔW = (α/r)·B·A, {pick.split('model.', 1)[-1]}"
        st.plotly_chart(fig.spectrum(values, r, title), width="stretch", key=k("spectrum"))
    lesson(
        "B = 0 at initialisation: an untrained adapter's forward pass *is* the base model's. "
        "Merging adds (α/r)·B·A to W: the same function computed in another order, so fp32 "
        "differs by rounding only, and float64 shows the merge is exact. ΔW has at most r "
        "non-zero singular values, however wide W is: the rest is rounding noise (grey)."
    )


def render_scaling(chat, alpha: float, r: int) -> None:
    st.plotly_chart(fig.scaling(alpha, r), width="stretch", key=k("scaling"))
    adapted = current(chat)
    if adapted is not None:
        _, layer = lo.lora_layers(adapted.handle.model)[0]
        st.caption(
            f"In the current adapter peft multiplies B·A by {layer.scaling['default']:g} = α/r = "
            f"{adapted.settings.alpha:g}/{adapted.settings.r}."
        )
    lesson(
        "Why divide by r: with A random and B small, the entries of B·A grow with r (a sum of r "
        "products). Scaling by α/r keeps the update's size when r changes, so a learning rate "
        "tuned at one rank works at another; α is then a second learning-rate knob. rsLoRA "
        "argues α/√r is right at large ranks (`use_rslora=True` in peft)."
    )
