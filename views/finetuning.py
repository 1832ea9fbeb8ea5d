"""Fine-tuning techniques: seven ways to adapt one encoder to one task, with the same budget."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from figures import finetuning as fig
from lessons import finetuning as ft
from models import finetune as fine
from models import network, prepared
from models import sentiment as sent
from models.sentiment_data import DataError, check_trainable, read_rows
from ui.models import get_model
from ui.page import folded, header, lazy_tabs, lesson, page_keys, presenter, store, stored
from ui.training import prepared_note, training_panel
from ui.widgets import show_code

k = page_keys("ft")
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
SOURCES = ("Built-in sample", "Hub: rotten_tomatoes")
HUB_ROWS = 2_000
NAMES = {t.label: key for key, t in ft.TECHNIQUES.items()}


@st.cache_data(show_spinner="Reading the reviews…")
def rows_of(hub: bool) -> list:
    """The built-in sample, or the first reviews of rotten_tomatoes from the Hub."""
    return sent.hub_rows("rotten_tomatoes", HUB_ROWS) if hub else read_rows(SAMPLE)


@st.cache_data(show_spinner=False)
def prepared_result(folder: str, made: str) -> fine.Comparison | None:
    """The prepared comparison, read again when `make prepare` makes a new one."""
    return fine.load(folder)


def opening_state() -> fine.Comparison | None:
    rec = prepared.record(fine.PREPARED)
    return prepared_result(str(prepared.path(fine.PREPARED)), rec.created) if rec else None


def data_rows(source: str) -> list:
    """The chosen rows, or [] after saying why not."""
    hub = source == SOURCES[1]
    if hub and not network.is_online():
        st.warning("Offline: the Hub dataset is unavailable.", icon=":material/wifi_off:")
        return []
    try:
        rows = rows_of(hub)
        check_trainable(rows, source)
    except Exception as exc:  # a bad file (DataError) or one of many Hub failures: no trace
        what = str(exc) if isinstance(exc, DataError) else f"{type(exc).__name__}: {exc}"
        st.error(f"Could not use {source}: {what}", icon=":material/error:")
        return []
    return rows


controls = header(
    "Fine-tuning techniques",
    "A pre-trained encoder already knows language; a task needs only a nudge. **Which weights "
    "get the nudge** is the whole difference between the techniques below. Each starts from "
    "the same MiniLM copy with the same head, sees the same batches for the same number of "
    "steps, and is scored on the same held-out reviews.\n\n"
    "- **Full fine-tune**: every weight moves. Best accuracy, biggest optimizer state, and the "
    "encoder drifts away from what it was good at.\n"
    "- **Frozen encoder + head**: a linear probe on fixed features. Cheapest, nothing forgotten.\n"
    "- **Last-k layers**, **BitFit** (biases only): classic partial fine-tunes.\n"
    "- **LoRA**: ΔW = (α/r)·B·A beside the attention projections; W stays frozen.\n"
    "- **(IA)³**: learned per-channel scales on keys, values and the feed-forward.\n"
    "- **Prompt tuning**: a few trainable vectors prepended to every input.",
)
handle = get_model("encoder")
with controls:
    st.caption(f"Model: **{handle.choice.label}** · {handle.params:,} parameters")
# On stage the page opens on the prepared comparison: the live run's settings fold away.
train_box = folded("Train live: data, techniques, steps, budget", ":material/model_training:")
with train_box if presenter() else controls:
    source = st.radio("Data", SOURCES, horizontal=True, key=k("source"))
    rows = data_rows(source)
    chosen = st.multiselect("Techniques", list(NAMES), default=list(NAMES), key=k("techniques"))
    steps = st.slider("Steps per technique", 10, 200, 60, step=10, key=k("steps"))
    budget = st.slider("Time budget, all techniques (s)", 30, 300, 120, step=10, key=k("budget"))
    if not chosen:
        st.info("Choose at least one technique to train.", icon=":material/checklist:")

cfg = fine.CompareConfig(techniques=tuple(NAMES[c] for c in chosen), steps=steps)
with train_box:
    if not presenter():
        st.subheader("Train them side by side")
    live = training_panel(
        k("train"),
        work=lambda rep, rows=rows, cfg=cfg, budget=budget, src=source: fine.compare(
            handle, rows, cfg, budget - 2, rep, data_name=src
        ),
        budget_s=budget,
        name="finetune-compare",
        button="Train live",
        disabled=not rows or not chosen,
        idle_text=None,
        curves=fig.curves,
        caption=fig.caption,
    )
if isinstance(live, fine.Comparison) and live.rows:
    store(k("result"), live)
result: fine.Comparison | None = stored(k("result"))
if result is None:
    result = opening_state()
    if prepared_note(fine.PREPARED) and result is not None and not presenter():
        st.caption("Press **Train live** to run your own settings on this machine.")
if result is None or not result.rows:
    st.stop()

seeds = len(result.config.get("seeds", [0]))
spread = f", mean ± spread over {seeds} seeds" if seeds > 1 else ", one seed"
st.subheader("Same task, same model, same budget")
st.caption(
    f"Model: **{result.model}** on {result.data}: {result.n_train:,} training and "
    f"{result.n_val:,} held-out reviews, {result.config.get('steps', 0):,} steps of "
    f"{result.config.get('batch_size', 0)} per technique{spread}"
    f"{' · stopped: ' + result.stopped if result.stopped else ''}."
)
st.dataframe(fine.table_rows(result), hide_index=True, width="stretch")
tk = fine.takeaways(result)
if tk is not None:
    st.success(
        f"LoRA reaches **{tk.lora_acc:.1%}** held-out accuracy against the full fine-tune's "
        f"**{tk.full_acc:.1%}**, training **{tk.lora_pct:.2f}%** of the parameters. The "
        f"encoder's similarity score fell **{tk.full_drop:+.1f}** points under the full "
        f"fine-tune and **{tk.lora_drop:+.1f}** under LoRA (from {tk.before:.1f}).",
        icon=":material/insights:",
    )

tabs = lazy_tabs(["Curves & cost", "Memory", "Forgetting"], k("tabs"))
if tabs[0].open:
    with tabs[0]:
        curve = fig.curves(result.history)
        if curve is not None:
            st.plotly_chart(curve, width="stretch", key=k("curves"))
        if not presenter():
            st.plotly_chart(fig.cost(result.rows), width="stretch", key=k("cost"))
        lesson(
            "Trainable parameters are **peft's own count** (`get_nb_trainable_parameters`); "
            "for the plain techniques the same method walks the model's parameters. Each "
            "technique gets its usual learning rate: the fewer the parameters, the larger the "
            "step they need (prompt tuning's 0.02 would wreck a full fine-tune)."
        )
if tabs[1].open:
    with tabs[1]:
        st.plotly_chart(fig.memory(result.rows), width="stretch", key=k("memory"))
        lesson(
            "Training memory = every weight + a gradient and two AdamW moments per *trainable* "
            "weight + the activations autograd saves for the backward pass (counted on one real "
            "batch with saved-tensor hooks; on a GPU, the allocator's peak). Parameter-efficient "
            "methods remove gradients and optimizer states, **not activations**: the backward "
            "pass must still run through every layer below an adapter. Only a frozen bottom "
            "(head, last-k) saves activations too."
        )
if tabs[2].open:
    with tabs[2]:
        pairs = ft.read_pairs()
        st.plotly_chart(
            fig.forgetting(result.rows, result.similarity_before), width="stretch", key=k("sts")
        )
        lesson(
            f"**Catastrophic forgetting, measured.** MiniLM was trained to put sentences of the "
            f"same meaning close together. Its score here is the Spearman correlation (× 100) "
            f"between the cosine of its sentence embeddings and human similarity scores on "
            f"{len(pairs)} sentence pairs written for the gallery (`assets/finetuning/`). After "
            "training on sentiment, the same encoder is scored again, adapters switched on. "
            "Frozen weights (head, prompt tuning) cannot forget; a full fine-tune rewrites what "
            "the pairs test."
        )

show_code(ft.apply, ft.peft_config, ft.memory, ft.similarity_score, fine.compare)
