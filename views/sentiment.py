"""Project 1: train a sentiment transformer live, watch the curves, look inside the result."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from figures import sentiment as fig
from models import network
from models import sentiment as sent
from models import sentiment_model as sm
from models.sentiment_data import DataError, check_trainable, parse_bytes, read_rows
from ui.page import header, lesson, page_keys
from ui.training import training_panel
from ui.widgets import empty_hint, guarded_text, show_code

k = page_keys("sent")
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
ARCHS = {"From scratch": "scratch", "MiniLM fine-tune": "minilm"}
SOURCES = ("Built-in sample", "Hub: rotten_tomatoes", "Upload jsonl / csv")
HUB_ROWS = 4_000  # a page run of at most two minutes cannot use more


@st.cache_data(show_spinner=False)
def sample_rows() -> list:
    return read_rows(SAMPLE)


@st.cache_data(show_spinner="Downloading rotten_tomatoes…")
def hub_rows() -> list:
    return sent.hub_rows("rotten_tomatoes", HUB_ROWS)


@st.cache_data(show_spinner="Measuring one training step of each model on this machine…")
def step_cost() -> dict:
    return sent.step_cost()


def data_rows(source: str) -> list:
    """The chosen rows, or [] after saying why not."""
    try:
        if source == SOURCES[0]:
            rows = sample_rows()
        elif source == SOURCES[1]:
            if not network.is_online():
                st.warning("Offline: the Hub dataset is unavailable.", icon=":material/wifi_off:")
                return []
            rows = hub_rows()
        else:
            upload = st.file_uploader("Labelled reviews", type=["jsonl", "json", "csv"])
            rows = parse_bytes(upload.getvalue(), upload.name) if upload is not None else []
        if rows:
            check_trainable(rows, "the data")
        return rows
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:  # a Hub download can fail in many ways; say so, do not trace
        st.error(f"Could not load the data: {type(exc).__name__}: {exc}", icon=":material/error:")
    return []


controls = header(
    "Project 1: a sentiment transformer from scratch",
    "A review goes in as WordPiece tokens; each token gets an **embedding** plus a **position** "
    "embedding. A few **blocks** of multi-head self-attention (tokens look at each other) and a "
    "feed-forward layer (each token on its own), with **layer norm** and **residual** "
    "connections, turn them into contextual vectors. **Mean pooling** over the real tokens gives "
    "one vector per sentence, and a linear **head** turns it into two logits: negative and "
    "positive.",
)
with controls:
    arch = ARCHS[st.radio("Model", list(ARCHS), horizontal=True, key=k("arch"))]
    size = st.select_slider(
        "Model size (from scratch)",
        options=list(sm.SIZE_PRESETS),
        value="small",
        disabled=arch != "scratch",
        help="tiny: 1 layer × 64 wide · small: 2 × 128 · base: 4 × 256",
        key=k("size"),
    )
    source = st.radio(
        "Data",
        SOURCES,
        key=k("source"),
        captions=(
            "300 short reviews written for this gallery",
            f"{HUB_ROWS:,} real review sentences via `datasets`"
            if network.is_online()
            else "unavailable: the Hub cannot be reached",
            '{"text": ..., "label": 0 or 1} per line, or a csv with text,label',
        ),
    )
    rows = data_rows(source)
    if rows:
        pos = sum(r.label for r in rows)
        st.caption(f"{len(rows):,} rows · {pos:,} positive · {len(rows) - pos:,} negative")
    budget = st.slider("Time budget (seconds)", 10, 120, 30, step=5, key=k("budget"))

cost = step_cost()
ratio = cost["minilm"]["ms_per_step"] / cost["scratch"]["ms_per_step"]
lesson(
    "From scratch, every weight starts random: it learns which words matter, and how *not* and "
    "*but* change them, only from the reviews here. **MiniLM fine-tune** starts from an encoder "
    "pre-trained as a language model and then fine-tuned on about a billion sentence pairs for "
    "sentence embeddings, and only adjusts it: it needs far less data for the same accuracy, "
    f"but each step costs more: **{ratio:.0f}×** here ({cost['minilm']['ms_per_step']:,.0f} vs "
    f"{cost['scratch']['ms_per_step']:,.0f} ms per batch of 16, measured on this machine).\n\n"
    "The run holds out 10% of the data for **validation**: when the training loss keeps falling "
    "and the validation loss turns up, the model is memorising. The best validation checkpoint "
    "is the one kept."
)

st.subheader("Training")
trained = training_panel(
    k("train"),
    # One second under the job's hard limit: the run ends on its own, with its results.
    work=lambda rep, rows=rows, arch=arch, size=size, budget=budget: sent.run_training(
        rows, arch, size, budget - 1, rep
    ),
    budget_s=budget,
    name=f"sentiment-{arch}",
    disabled=not rows,
    idle_text="Pick a model, data and a budget, then press Train.",
    curves=fig.training_curves,
    caption=fig.training_caption,
)

if isinstance(trained, sent.Trained):
    best = trained.fit.best or {}
    st.subheader("The trained model")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Best validation accuracy", f"{best.get('val_acc', 0):.1%}")
    c2.metric("Steps", f"{trained.fit.steps:,}")
    c3.metric("Examples / s", f"{trained.fit.examples_per_s:,.0f}")
    c4.metric("Parameters", f"{sum(p.numel() for p in trained.model.parameters()):,}")
    labels = [r.label for r in trained.val_rows]
    preds = [int(p >= 0.5) for p in trained.val_probs]
    left, right = st.columns([1, 2])
    left.plotly_chart(
        fig.confusion(sent.confusion_matrix(labels, preds), sm.LABELS), width="stretch"
    )
    right.dataframe(
        pd.DataFrame(
            {
                "text": [r.text for r in trained.val_rows],
                "label": [sm.LABELS[y] for y in labels],
                "predicted": [sm.LABELS[p] for p in preds],
                "P(positive)": trained.val_probs,
                "correct": [y == p for y, p in zip(labels, preds, strict=True)],
            }
        ),
        height=320,
        hide_index=True,
        column_config={
            "P(positive)": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0)
        },
    )

    st.subheader("Ask the model, and see where it looks")
    sentence = guarded_text(
        "A sentence to classify",
        "the acting is wooden, but the ending is wonderful",
        key=k("text"),
        area=False,
        max_chars=500,
    )
    if sentence.empty:
        empty_hint("a review sentence")
    else:
        out = sent.explain(trained.model, trained.tokenizer, sentence.text, trained.cfg.max_len)
        if out["truncated"]:
            st.caption(f"Only the first {trained.cfg.max_len} tokens are read.")
        p = out["p_positive"]
        st.metric(
            "Prediction", sm.LABELS[int(p >= 0.5)], f"P(positive) = {p:.2f}", delta_color="off"
        )
        st.plotly_chart(fig.attention_heads(out["attention"], out["tokens"]), width="stretch")
        st.caption(
            "Last layer's attention, one panel per head: row *i* is how token *i* mixes the "
            "others into its new vector (rows sum to 1). Pooling then averages all rows."
        )

show_code(
    sm.attention,
    sm.SelfAttention,
    sm.FeedForward,
    sm.Block,
    sm.masked_mean,
    sm.ScratchClassifier,
    sm.MiniLMClassifier,
    sent.fit,
)
