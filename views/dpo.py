"""Project 5: improving GPT responses with DPO — TRL's DPOTrainer on SmolLM2 with LoRA, live."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from figures import dpo as fig
from lessons import dpo as L
from lessons.sampling import GenConfig
from models import alignment as A
from models import dpo as D
from models import network
from models.sentiment_data import DataError
from ui import alignment as kit
from ui.models import get_model
from ui.page import header, lazy_tabs, lesson, page_keys, presenter
from ui.training import busy_slot, training_panel
from ui.widgets import empty_hint, guarded_text, show_code

k = page_keys("dpo")
PREPARED = "dpo-smollm2"
SOURCES = ("The gallery's pairs", "Hub: trl-lib/ultrafeedback_binarized", "Upload jsonl")


@st.cache_data(show_spinner="Downloading preference pairs…")
def hub() -> list:
    return D.hub_pairs(n=200)


def training_pairs(source: str) -> list:
    try:
        if source == SOURCES[0]:
            return kit.builtin_pairs("train")
        if source == SOURCES[1]:
            if not network.is_online():
                st.warning("Offline: the Hub dataset is unavailable.", icon=":material/wifi_off:")
                return []
            return hub()
        up = st.file_uploader('{"prompt", "chosen", "rejected"} per line', type=["jsonl", "json"])
        return D.parse_pairs(up.getvalue(), up.name) if up is not None else []
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:  # a Hub download can fail in many ways: say so, no trace
        st.error(f"Could not load the pairs: {type(exc).__name__}: {exc}", icon=":material/error:")
    return []


@st.cache_data(
    show_spinner="Scoring the held-out pairs with the adapter off and on…", max_entries=4
)
def heldout(_policy, policy_id: str) -> tuple[dict, dict]:
    """Held-out figures of the base model (the adapter off) and of the policy."""
    return D.evaluate_both(_policy, kit.builtin_pairs("heldout"), D.Settings())


controls = header(
    "Project 5: improving GPT responses with DPO",
    "SmolLM2-135M-Instruct already chats, but it can ramble, hedge and get facts wrong. Here "
    "TRL's `DPOTrainer` trains a **LoRA** adapter on preference pairs: chosen "
    "answers are correct, direct, polite and stop after answering; rejected ones are wrong, rude, "
    "evasive, or ramble and repeat. The reference is the same model with the adapter switched "
    "off, so every implicit reward is measured against the model you started from.",
)
with controls:
    source = st.radio(
        "Pairs",
        SOURCES,
        key=k("source"),
        captions=(
            "120 pairs written for the gallery (40 more held out)",
            "200 real pairs via `datasets`" if network.is_online() else "unavailable offline",
            "your own pairs",
        ),
    )
    pairs = training_pairs(source)
    c1, c2 = st.columns(2)
    beta = c1.select_slider("β", [0.05, 0.1, 0.2, 0.5], D.Settings.beta, key=k("beta"))
    sft = st.toggle(
        "Add an SFT term on the chosen answers (RPO)",
        True,
        key=k("sft"),
        help="Plain DPO only raises the margin; on its own it let SmolLM2's free answers drift "
        "(measured on the RLHF & DPO page). The SFT term keeps the chosen answers likely.",
    )
    lr, budget, init = kit.run_controls(
        k, PREPARED, [5e-5, 1e-4, 2e-4, 5e-4], D.Settings.learning_rate, c2
    )

chat = get_model("chat", "smollm2-embedded")
n_lora = A.lora_size(chat.model.config, D.Settings.lora_r)
st.caption(
    f"LoRA r = {D.Settings.lora_r} on the attention projections: {n_lora:,} trainable parameters, "
    f"{n_lora / chat.params:.2%} of SmolLM2's {chat.params:,}; the base weights stay frozen."
)
t_train, t_answers, t_held = lazy_tabs(
    ["Training", "Before / after answers", "Held-out pairs"], k("tabs")
)
settings = D.Settings(beta=beta, learning_rate=lr, sft_weight=1.0 if sft else 0.0)

if t_train.open:
    lesson(
        "Each step takes 4 pairs, scores chosen and rejected under the policy and the reference, "
        "and lowers −log σ(margin) (plus, with the SFT term, the chosen answers' per-token NLL, "
        "so `loss` starts above log 2). The curves are TRL's own logs (`on_log`). In plain DPO "
        "`rewards/chosen` often drifts below 0 while `rewards/margins` climbs (the RLHF & DPO "
        "page explains why)."
    )
    result = training_panel(
        k("train"),
        work=lambda rep, pairs=pairs, settings=settings, init=init, budget=budget: D.train(
            chat, pairs, settings, rep, budget - 5, init_adapter=init
        ),
        budget_s=budget,
        name="dpo-smollm2",
        disabled=len(pairs) < settings.batch_size,
        idle_text="Press Train to run DPO live (the first step starts after ~10 s of set-up).",
        curves=fig.reward_curves,
        caption=fig.caption,
        extra=None if presenter() else lambda rows: kit.chart(fig.loss_curves(rows), k("loss")),
    )
    if result is not None:
        r = result.record
        st.success(
            f"Trained {kit.steps(r.steps)} in {r.seconds:.0f} s ({r.seconds_per_step:.1f} s per "
            f"step on this machine) on {r.data}."
        )
    elif kit.prepared_created(PREPARED):
        rows = kit.rows_of(kit.prepared_log(PREPARED, kit.prepared_created(PREPARED)), "loss")
        kit.chart(fig.reward_curves(rows), k("prep_fig"))
        st.caption("The prepared run's own curves. " + (fig.caption(rows) or ""))

policy, origin = None, ""
if t_answers.open or t_held.open:
    policy, origin, _ = kit.current_policy(k("train"), PREPARED, chat)
if policy is None and (t_answers.open or t_held.open):
    kit.no_adapter_yet()

if t_answers.open and policy is not None:
    st.caption(f"Adapter: {origin}. Greedy decoding, the same prompt and seed, adapter off vs on.")
    if origin.startswith("the prepared"):
        shown = [
            r for r in kit.prepared_log(PREPARED, kit.prepared_created(PREPARED)) if "before" in r
        ]
        st.dataframe(pd.DataFrame(shown), hide_index=True, width="stretch")
    text = guarded_text(
        "Your own prompt",
        "What is the capital of Portugal?",
        key=k("prompt"),
        area=False,
        max_chars=300,
    )
    if text.empty:
        empty_hint("a question")
    elif st.button("Answer with the adapter off and on", key=k("ask"), icon=":material/compare:"):
        with busy_slot(30, "answering") as ok:
            if ok:
                ((_, before, after),) = D.compare_answers(policy, (text.text,), GenConfig(64))
                a, b = st.columns(2)
                a.markdown("**Adapter off (base)**")
                a.text(before.text or "(empty)")
                b.markdown("**Adapter on (DPO)**")
                b.text(after.text or "(empty)")
                st.caption(f"{before.new_tokens:,} vs {after.new_tokens:,} tokens.")

if t_held.open and policy is not None:
    base_m, after_m = heldout(policy, f"{origin}#{id(policy.model)}")
    keys = ("reward_accuracy", "logp_accuracy", "mean_margin", "reward_chosen", "reward_rejected")
    st.dataframe(
        pd.DataFrame(
            {
                "base (adapter off)": [base_m[x] for x in keys],
                "after DPO": [after_m[x] for x in keys],
            },
            index=keys,
        )
    )
    st.dataframe(pd.DataFrame(after_m.get("by_style", {})).T[list(keys[:3])], width="stretch")
    st.caption(
        f"{after_m['pairs']:,} held-out pairs: prompts and phrasings never trained on. "
        "reward_accuracy: implicit reward of chosen above rejected (the base against itself "
        "scores 0: every margin is 0). logp_accuracy: log π(chosen) > log π(rejected)."
    )

show_code(D.train, D.score_pairs, L.answer_logps, L.pair_metrics)
