"""GRPO: group-relative policy optimisation with verifiable rewards, live on SmolLM2 (TRL)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import grpo as fig
from lessons import grpo as L
from models import grpo as G
from ui import alignment as kit
from ui.models import get_model
from ui.page import header, lazy_tabs, lesson, page_keys, presenter
from ui.training import busy_slot, training_panel
from ui.widgets import show_code

k = page_keys("grpo")
PREPARED = "grpo-smollm2"


@st.cache_data(show_spinner=False)
def held_questions() -> list:
    return G.read_questions(G.HELDOUT)


@st.cache_data(
    show_spinner="Answering the held-out questions with the adapter off and on…", max_entries=4
)
def heldout(_policy, policy_id: str) -> tuple[dict, dict]:
    qs = held_questions()
    return G.evaluate(_policy, qs, adapter=False), G.evaluate(_policy, qs, adapter=True)


def group_table(step: dict) -> None:
    """Every group of one step: completions, each reward function's score, the advantage."""
    for g in step["groups"]:
        dead = " · **zero spread: this group teaches nothing**" if g["zero_spread"] else ""
        st.markdown(f"`{g['prompt'][:80]}` (answer {g['answer']}){dead}")
        left, right = st.columns([3, 2])
        left.dataframe(
            pd.DataFrame(
                {
                    "completion": g["completions"],
                    "correct": g["correct"],
                    "format": g["format"],
                    "total": [
                        L.REWARD_WEIGHTS["correct"] * c + L.REWARD_WEIGHTS["format"] * f
                        for c, f in zip(g["correct"], g["format"], strict=True)
                    ],
                    "advantage": g["advantage"],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        if not presenter():
            right.plotly_chart(fig.advantages(g), width="stretch", key=k(f"adv{id(g)}"))


controls = header(
    "GRPO: group-relative policy optimisation",
    "DeepSeekMath's and R1's recipe: no reward model and no value network. For each prompt the "
    "policy samples a **group** of answers; **programs** score them (is the number right? is it "
    "only a number?); each answer's **advantage** is its reward minus its group's mean, divided "
    "by the group's spread. Better-than-the-group answers get pushed up, worse ones down. Here "
    "TRL's `GRPOTrainer` trains a LoRA adapter on SmolLM2 to answer small sums with the number "
    f"only (the prompt ends “{L.INSTRUCTION}”).",
)
with controls:
    c1, c2 = st.columns(2)
    group = c1.select_slider("Group size G", [2, 4, 8], G.Settings.num_generations, key=k("g"))
    temp = c2.select_slider(
        "Sampling temperature", [0.5, 0.8, 1.0, 1.2], G.Settings.temperature, key=k("temp")
    )
    c3, c4 = st.columns(2)
    beta = c3.select_slider("KL β (TRL's default 0: no leash)", [0.0, 0.02, 0.1], 0.0, key=k("b"))
    lr, budget, init = kit.run_controls(
        k, PREPARED, [1e-4, 3e-4, 1e-3], G.Settings.learning_rate, c4
    )

chat = get_model("chat", "smollm2-embedded")
settings = G.Settings(num_generations=group, temperature=temp, beta=beta, learning_rate=lr)
t_train, t_groups, t_held = lazy_tabs(["Training", "Groups step by step", "Held-out"], k("tabs"))
created = kit.prepared_created(PREPARED)
prep_log = kit.prepared_log(PREPARED, created) if created else []

if t_train.open:
    lesson(
        "Rewards: **correct** = 1 when the last number on the first line is right; **format** = "
        "1 for the number alone, 0.5 for one short line ending in a number (“7 + 5 = 12.”), 0 for "
        f"anything that goes on; total = correct + {L.REWARD_WEIGHTS['format']:g} × format. "
        "With β = 0 TRL adds no KL term and logs no `kl`."
    )

    def latest_groups(rows: list) -> None:
        steps = [r for r in rows if "groups" in r]
        if steps and not presenter():
            st.caption(f"Step {steps[-1]['step']}'s groups:")
            group_table(steps[-1])

    result = training_panel(
        k("train"),
        work=lambda rep, s=settings, init=init, budget=budget: G.train(
            chat, s, rep, budget - 5, exclude=held_questions(), init_adapter=init
        ),
        budget_s=budget,
        name="grpo-smollm2",
        idle_text="Press Train to run GRPO live (each step samples and scores the groups).",
        curves=fig.reward_curves,
        caption=fig.caption,
        extra=lambda rows: (kit.chart(fig.length_curves(rows), k("len")), latest_groups(rows)),
    )
    if result is not None:
        r = result.record
        st.success(
            f"Trained {kit.steps(r.steps)} in {r.seconds:.0f} s ({r.seconds_per_step:.1f} s "
            "per step on this machine)."
        )
    elif prep_log:
        rows = kit.rows_of(prep_log, "reward")
        kit.chart(fig.reward_curves(rows), k("prep_fig"))
        st.caption("The prepared run's own curves. " + (fig.caption(rows) or ""))

policy, origin, run = None, "", None
if t_groups.open or t_held.open:
    policy, origin, run = kit.current_policy(k("train"), PREPARED, chat)

if t_groups.open:
    lesson(
        "A group where every answer scored the same has advantage 0 everywhere: no gradient. "
        "When every group of a step is like that, TRL logs `reward_std` 0 and a loss of exactly "
        "0 — not a bug, just a step with nothing to learn."
    )
    steps = run.steps if run is not None else [r for r in prep_log if "groups" in r]
    if not steps:
        st.info(
            "Train on the Training tab (or run `make prepare`) to see the groups.",
            icon=":material/hourglass_empty:",
        )
    else:
        dead = sum(g["zero_spread"] for s in steps for g in s["groups"])
        total = sum(len(s["groups"]) for s in steps)
        st.caption(
            f"{kit.steps(len(steps))}, {total:,} groups, {dead:,} with zero spread "
            f"({dead / total:.0%})."
        )
        idx = st.slider("Step", 1, len(steps), len(steps), key=k("step")) if len(steps) > 1 else 1
        group_table(steps[idx - 1])

if t_held.open:
    if policy is None:
        kit.no_adapter_yet()
    else:
        with busy_slot(60, "the held-out evaluation") as ok:
            if ok:
                base, after = heldout(policy, f"{origin}#{id(policy.model)}")
                keys = ("accuracy", "reward", "format", "format_rate")
                st.caption(
                    f"Adapter: {origin}. Greedy replies to {base['questions']:,} "
                    "held-out questions (never in training)."
                )
                st.dataframe(
                    pd.DataFrame(
                        {
                            "base (adapter off)": [base[x] for x in keys],
                            "after GRPO": [after[x] for x in keys],
                        },
                        index=keys,
                    )
                )
                qs = held_questions()
                st.dataframe(
                    pd.DataFrame(
                        {
                            "question": [q.question for q in qs],
                            "answer": [q.answer for q in qs],
                            "base": base["replies"],
                            "after GRPO": after["replies"],
                        }
                    ),
                    hide_index=True,
                    height=260,
                    width="stretch",
                )

show_code(L.group_advantages, L.correct_reward, L.format_reward, G.GroupLog, G.train)
