"""The "PPO & the KL leash" tab: the KL-regularised optimum over one prompt's answers, the
implicit reward it implies, the β trade-off and PPO's clipped ratio."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import alignment as fig
from lessons import rlhf
from ui.models import get_model
from ui.page import lesson, presenter
from views.alignment.calls import embed_answers, embeddings, fit_rm, ref_logps


def render(k, train_pairs: list) -> None:
    chat = get_model("chat", "smollm2-embedded")
    enc = get_model("encoder", "minilm-embedded")
    lesson(
        "RLHF maximises **E[r] − β·KL(π ‖ π_ref)**. Over a fixed set of answers the best policy is "
        "**π\\* ∝ π_ref · exp(r/β)**: β is the leash. PPO reaches for it by sampling and clipping "
        "each token's probability ratio to 1 ± ε per update. Here: π_ref is SmolLM2's own "
        "probability of each answer (renormalised over them), r is the reward model of the "
        "previous tab (300 steps, learning rate 0.05)."
    )
    prompts = sorted({p.prompt for p in train_pairs})
    prompt = st.selectbox("Prompt (from the training pairs)", prompts, key=k("prompt"))
    answers = tuple(
        dict.fromkeys(a for p in train_pairs if p.prompt == prompt for a in (p.chosen, p.rejected))
    )
    logp = ref_logps(chat, prompt, answers)
    rm = fit_rm(300, 0.05, embeddings(enc, "train"), enc.choice.key)
    reward = rm.score(embed_answers(enc, prompt, answers)).tolist()

    @st.fragment
    def leash() -> None:
        beta = st.select_slider(
            "β (the leash)", [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0], 0.3, key=k("beta_kl")
        )
        opt = rlhf.kl_optimum(logp, reward, beta)
        a, b, c = st.columns(3)
        a.metric("E[r] under π_ref", f"{opt.reference_reward:+.2f}")
        b.metric("E[r] under π*", f"{opt.expected_reward:+.2f}")
        c.metric("KL(π* ‖ π_ref)", f"{opt.kl:.2f} nats")
        st.plotly_chart(fig.leash_bars(answers, opt.reference, opt.policy), width="stretch")
        implicit = rlhf.implicit_rewards(opt, beta)
        st.dataframe(
            pd.DataFrame(
                {
                    "answer": answers,
                    "reward r": reward,
                    "log π_ref": logp,
                    "β·log(π*/π_ref)": implicit,
                    "r − β·log(π*/π_ref)": [r - i for r, i in zip(reward, implicit, strict=True)],
                }
            ),
            hide_index=True,
        )
        st.caption(
            "The last column is the same number on every row (β·log Z): DPO's implicit "
            "reward is the true reward up to a constant that cancels in every pair."
        )
        if not presenter():
            betas = [0.01 * 1.5**i for i in range(24)]
            st.plotly_chart(
                fig.leash_tradeoff(rlhf.beta_sweep(logp, reward, betas), beta), width="stretch"
            )
        eps = st.slider("PPO's ε", 0.05, 0.5, 0.2, step=0.05, key=k("eps"))
        st.plotly_chart(fig.ppo_clip(*rlhf.ppo_clip_curves(eps), eps), width="stretch")

    leash()
