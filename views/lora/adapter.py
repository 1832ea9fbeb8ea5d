"""Tab 1: train a LoRA on the chat model live (or open on the prepared one), then answer the
same prompts with the adapter off and on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import lora as fig
from lessons import lora as lo
from models import lora as tune
from ui.page import folded, presenter, store, stored
from ui.training import busy_slot, prepared_note, training_panel
from ui.widgets import empty_hint, guarded_text
from views.lora import current, k


def _answers(adapted: tune.Adapted) -> None:
    n1, n2, n3 = st.columns(3)
    n1.metric(
        "Held-out loss",
        f"{adapted.held_loss_after:.2f}",
        f"{adapted.held_loss_after - adapted.held_loss_before:+.2f} vs adapter off",
        delta_color="inverse",
    )
    n2.metric(
        f"Answers starting “{adapted.marker}”",
        f"{adapted.marker_rate('adapted'):.0%}",
        f"{adapted.marker_rate('base'):.0%} with the adapter off",
        delta_color="off",
    )
    n3.metric("Steps", f"{adapted.steps:,}", f"{adapted.trainable:,} trained", delta_color="off")
    st.dataframe(
        pd.DataFrame(
            [(a.prompt, a.base, a.adapted) for a in adapted.answers],
            columns=["held-out prompt", "adapter off (base)", "adapter on"],
        ),
        hide_index=True,
        width="stretch",
        height=250 if presenter() else "auto",
    )
    st.caption(
        f"Model: **{adapted.model_label}** · greedy decoding · the same weights both times, "
        "with `disable_adapter()` for the middle column."
    )


def _own_prompt(adapted: tune.Adapted) -> None:
    c_text, c_tokens = st.columns([3, 1], vertical_alignment="bottom")
    with c_text:
        own = guarded_text(
            "Your prompt",
            "What is a transformer model?",
            key=k("prompt"),
            area=False,
            max_chars=500,
        )
    n_new = c_tokens.slider("New tokens", 8, 64, 32, step=8, key=k("tokens"))
    if st.button("Answer with the adapter off and on", key=k("ask"), disabled=own.empty):
        with busy_slot(60, "answering") as ok:
            if ok:
                store(k("own"), tune.answer(adapted.handle, [own.text], n_new)[0])
    if own.empty:
        empty_hint("a prompt")
    got = stored(k("own"))
    if got is not None:
        o1, o2 = st.columns(2)
        o1.markdown("**Adapter off**")
        o1.code(got.base or "(no text)", language=None, wrap_lines=True)
        o2.markdown("**Adapter on**")
        o2.code(got.adapted or "(no text)", language=None, wrap_lines=True)


def render(chat, settings: lo.LoraSettings) -> None:
    examples = tune.read_examples()
    with folded("Train a LoRA live: steps and budget", ":material/model_training:"):
        left, right = st.columns(2)
        steps = left.slider("Live steps", 5, 120, 40, step=5, key=k("steps"))
        budget = right.slider("Budget (s)", 60, 300, 120, step=10, key=k("budget"))
        st.caption(
            f"Trains a private copy of {chat.choice.label}: r = {settings.r}, "
            f"α = {settings.alpha:g} on {', '.join(settings.targets)}, with the "
            f"{len(examples)} instructions written in `assets/lora/` (every answer starts "
            "with the same marker; the last 8 are held out)."
        )
        cfg = tune.TrainConfig(steps=steps, lora=settings, evals=max(2, min(6, steps // 10)))
        done = training_panel(
            k("train"),
            work=lambda rep, cfg=cfg, budget=budget: tune.train(
                chat, examples, cfg, budget - 2, rep, reserve_s=25
            ),
            budget_s=budget,
            name="lora-live",
            button="Train a LoRA live",
            idle_text=None,
            curves=fig.curves,
            caption=fig.caption,
        )
    if isinstance(done, tune.Adapted) and stored(k("adapted")) is not done:
        store(k("adapted"), done)
        store(k("own"), None)
    adapted = current(chat)
    if adapted is None or stored(k("adapted")) is None:
        prepared_note(tune.PREPARED)
    if adapted is not None:
        _answers(adapted)
        _own_prompt(adapted)
