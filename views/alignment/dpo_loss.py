"""The "DPO's loss" tab: every term of one pair's loss from sliders, the loss landscape with a
measured run's path, and why `rewards/chosen` often falls while the margin rises."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import dpo as fig_dpo
from lessons import dpo
from models import dpo as dpo_model
from ui.alignment import plain_run, rows_of
from ui.page import lesson, presenter

BETA = dpo_model.Settings.beta


def render(k) -> None:
    lesson(
        "DPO's loss for one pair is **−log σ(β·[log π/π_ref (chosen) − log π/π_ref (rejected)])**. "
        "β·log π/π_ref is the **implicit reward** TRL logs as `rewards/chosen` and "
        "`rewards/rejected`; their difference is `rewards/margins`."
    )

    @st.fragment
    def loss_terms() -> None:
        c1, c2, c3 = st.columns(3)
        beta = c1.select_slider("β", [0.01, 0.05, 0.1, 0.2, 0.5, 1.0], 0.1, key=k("beta"))
        x = c2.slider("chosen: log π/π_ref", -30.0, 30.0, -5.0, step=0.5, key=k("lc"))
        y = c3.slider("rejected: log π/π_ref", -30.0, 30.0, -20.0, step=0.5, key=k("lr_"))
        t = dpo.dpo_terms(x, 0.0, y, 0.0, beta)
        m = st.columns(5)
        m[0].metric("rewards/chosen", f"{t.reward_chosen:+.2f}")
        m[1].metric("rewards/rejected", f"{t.reward_rejected:+.2f}")
        m[2].metric("rewards/margins", f"{t.margin:+.2f}")
        m[3].metric("loss", f"{t.loss:.3f}")
        m[4].metric("gradient weight σ(−m)", f"{t.weight:.3f}")
        shifted = dpo.dpo_terms(x - 10, 0.0, y - 10, 0.0, beta)
        st.caption(
            f"Push both answers 10 nats down: rewards/chosen {shifted.reward_chosen:+.2f}, "
            f"loss {shifted.loss:.3f} — unchanged. A falling `rewards/chosen` is not a "
            "failing run."
        )
        rows = rows_of(plain_run(), "rewards/chosen")
        path = dpo.run_path(rows, BETA) if beta == BETA else []
        st.plotly_chart(
            fig_dpo.loss_landscape(*dpo.loss_grid(beta, span=30.0, n=61), beta, path),
            width="stretch",
        )
        if rows:
            a, b = rows[0], rows[-1]
            st.caption(
                f"The red path: 10 minutes of plain DPO on SmolLM2 with LoRA ({b['step']} steps, "
                f"β = {BETA:g}, measured on this gallery's host and shipped as "
                f"`{dpo_model.PLAIN_RUN.name}`): rewards/chosen {a['rewards/chosen']:+.2f} → "
                f"{b['rewards/chosen']:+.2f} while rewards/margins {a['rewards/margins']:+.2f} → "
                f"{b['rewards/margins']:+.2f}. Change β to see other maps (the path is for 0.1)."
            )
        if not presenter():
            ms, loss, w = dpo.loss_vs_margin()
            st.plotly_chart(fig_dpo.margin_curve(beta, ms, loss, w, t.margin), width="stretch")

    loss_terms()
    lesson(
        "**Why `rewards/chosen` often falls while the margin rises.** The loss only sees the "
        "difference, so nothing holds the chosen answer's probability up. The chosen and rejected "
        "answers share most of their tokens and all of the model's weights: the update that "
        "pushes the rejected answer down drags similar text down too, and the freed probability "
        "goes to answers in neither set (shorter, or simply different). The margin — what the "
        "loss optimises — still rises. What would be a bad sign: margins flat, or "
        "`rewards/accuracies` stuck near 0.5. The real cost shows in free generation: the same "
        "plain-DPO run, measured (held-out pairs, then SmolLM2's greedy answers to new prompts):"
    )
    run = plain_run()
    held = {r["heldout"]: r for r in run if "heldout" in r and "adapter" in r}
    if held:
        st.dataframe(pd.DataFrame(held).T[["reward_accuracy", "logp_accuracy", "mean_margin"]])
        st.dataframe(pd.DataFrame([r for r in run if "before" in r]), hide_index=True)
        st.caption(
            f"It ranked {held['after']['reward_accuracy']:.1%} of the held-out pairs right and "
            "still wrote worse answers: nothing in the loss keeps the chosen answers likely. "
            "Project 5 therefore adds an SFT term on the chosen answers (RPO)."
        )
