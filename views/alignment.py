"""Alignment: RLHF & DPO — preference pairs, a reward model trained live, PPO's KL leash, and
DPO's loss term by term."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import alignment as fig
from lessons import dpo, reward_model, rlhf
from ui.alignment import builtin_pairs
from ui.models import get_model
from ui.page import header, lazy_tabs, lesson, page_keys, presenter
from ui.widgets import show_code
from views.alignment import dpo_loss, ppo
from views.alignment.calls import embeddings, fit_rm

k = page_keys("align")

controls = header(
    "Alignment: RLHF & DPO",
    "A pre-trained model continues text; an *aligned* one answers the way people prefer. The data "
    "for that is **preference pairs**: one prompt, two answers, and which one a person liked "
    "better. **RLHF** turns the pairs into a **reward model** and then optimises the policy "
    "against it with **PPO**, on a **KL leash** to the model it started from. **DPO** skips both: "
    "the same objective becomes a classification loss on the pairs themselves.",
)
with controls:
    st.markdown(
        "**What “better” means in the gallery's pairs:** the chosen answer is correct, direct, "
        "polite and stops after answering; the rejected one is *wrong*, *rude*, *evasive*, or "
        "*rambles and repeats*."
    )
    train_pairs, held_pairs = builtin_pairs("train"), builtin_pairs("heldout")
    st.caption(
        f"{len(train_pairs):,} training pairs · {len(held_pairs):,} held-out pairs "
        "(other prompts, other phrasings), written for the gallery"
    )

t_data, t_rm, t_ppo, t_dpo = lazy_tabs(
    ["Preference pairs", "Reward model", "PPO & the KL leash", "DPO's loss"], k("tabs")
)

if t_data.open:
    style = st.segmented_control(
        "Kind of rejected answer",
        ["all", "wrong", "rude", "evasive", "ramble"],
        default="all",
        key=k("style"),
    )
    shown = [p for p in train_pairs if style in (None, "all") or p.style == style]
    st.dataframe(
        pd.DataFrame([vars(p) for p in shown]), hide_index=True, height=300, width="stretch"
    )

if t_rm.open:
    enc = get_model("encoder", "minilm-embedded")
    lesson(
        "A **Bradley–Terry** reward model: score each answer with r = w · MiniLM(question + "
        "answer) and fit w so that σ(r(chosen) − r(rejected)) is high on the training pairs. "
        "Then score pairs it never saw."
    )
    c1, c2 = st.columns(2)
    steps = c1.slider("Training steps", 20, 600, 300, step=20, key=k("rm_steps"))
    lr = c2.select_slider("Learning rate", [0.005, 0.01, 0.02, 0.05, 0.1, 0.2], 0.05, key=k("lr"))
    tr, held = embeddings(enc, "train"), embeddings(enc, "heldout")
    cfg = reward_model.RewardConfig(steps=steps, lr=lr)
    rm = fit_rm(steps, lr, tr, enc.choice.key)
    spread_mean, spread_std = reward_model.mean_std(reward_model.seed_spread(tr, held, cfg))
    m1, m2, m3 = st.columns(3)
    m1.metric("Training-pair accuracy", f"{reward_model.accuracy(rm, *tr):.0%}")
    m2.metric(
        "Held-out accuracy",
        f"{spread_mean:.0%}",
        f"± {spread_std:.0%} over 5 seeds",
        delta_color="off",
    )
    by = reward_model.accuracy_by_group(rm, *held, [p.style for p in held_pairs])
    m3.metric(
        "Hardest kind", min(by, key=by.get), f"{min(by.values()):.0%} held-out", delta_color="off"
    )
    st.dataframe(pd.DataFrame([by], index=["held-out accuracy"]).style.format("{:.0%}"))
    left, right = st.columns(2)
    left.plotly_chart(
        fig.reward_scatter(
            rm.score(held[0]).tolist(), rm.score(held[1]).tolist(), [p.style for p in held_pairs]
        ),
        width="stretch",
    )
    if not presenter():
        right.plotly_chart(fig.reward_fit(rm.history), width="stretch")
    worst = min(by, key=by.get)
    lesson(
        f"Measured here: the hardest held-out kind is *{worst}* ({by[worst]:.0%}), the easiest "
        f"*{max(by, key=by.get)}* ({max(by.values()):.0%}). A reward model only knows what its "
        "encoder knows, which is why real ones are LLMs as large as the policy."
    )

if t_ppo.open:
    ppo.render(k, train_pairs)

if t_dpo.open:
    dpo_loss.render(k)

show_code(dpo.dpo_terms, dpo.answer_logps, reward_model.fit, rlhf.kl_optimum, rlhf.ppo_clip)
