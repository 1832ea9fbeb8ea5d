"""Project 1: train a sentiment transformer live, watch the curves, look inside the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from models import network
from models import sentiment as sent
from models import sentiment_model as sm
from models.sentiment_data import DataError, check_trainable, parse_bytes, read_rows
from ui import jobs as ui_jobs
from ui.widgets import empty_hint, guarded_text, show_code

JOB_KEY = "sentiment"
MODEL_KEY = "sentiment::trained"
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
ARCHS = {"From scratch": "scratch", "MiniLM fine-tune": "minilm"}
SOURCES = ("Built-in sample", "Hub: rotten_tomatoes", "Upload jsonl / csv")
HUB_ROWS = 4_000  # a page run of at most two minutes cannot use more


@st.cache_data(show_spinner=False)
def sample_rows() -> list:
    return read_rows(SAMPLE)


@st.cache_data(show_spinner="Downloading rotten_tomatoes…")
def hub_rows() -> list:
    from datasets import load_dataset

    from models.sentiment_data import Row

    ds = load_dataset("rotten_tomatoes", split="train").shuffle(seed=0).select(range(HUB_ROWS))
    return [Row(t, int(y)) for t, y in zip(ds["text"], ds["label"], strict=True)]


st.title("Project 1: a sentiment transformer from scratch")
lesson, controls = st.columns([3, 2], gap="large")
with lesson:
    st.markdown(
        "A review goes in as WordPiece tokens; each token gets an **embedding** plus a "
        "**position** embedding. A few **blocks** of multi-head self-attention (tokens look at "
        "each other) and a feed-forward layer (each token on its own), with **layer norm** and "
        "**residual** connections, turn them into contextual vectors. **Mean pooling** over the "
        "real tokens gives one vector per sentence, and a linear **head** turns it into two "
        "logits: negative and positive.\n\n"
        "From scratch, every weight starts random: it learns which words matter, and how "
        "*not* and *but* change them, only from the reviews here. **MiniLM fine-tune** starts "
        "from an encoder pre-trained on a billion sentence pairs and only adjusts it, so it "
        "needs far less data for the same accuracy, but each step costs ~30× more.\n\n"
        "The run holds out 10% of the data for **validation**: when the training loss keeps "
        "falling and the validation loss turns up, the model is memorising. The best validation "
        "checkpoint is the one kept."
    )
with controls:
    arch_label = st.radio("Model", list(ARCHS), horizontal=True, key="sent_arch")
    arch = ARCHS[arch_label]
    size = st.select_slider(
        "Model size (from scratch)",
        options=list(sm.SIZE_PRESETS),
        value="small",
        disabled=arch != "scratch",
        help="tiny: 1 layer × 64 wide · small: 2 × 128 · base: 4 × 256",
        key="sent_size",
    )
    online = network.is_online()
    source = st.radio(
        "Data",
        SOURCES,
        key="sent_source",
        captions=(
            "300 short reviews written for this gallery",
            f"{HUB_ROWS:,} real review sentences via `datasets`"
            if online
            else "unavailable: the Hub cannot be reached",
            '{"text": ..., "label": 0 or 1} per line, or a csv with text,label',
        ),
    )
    rows: list = []
    try:
        if source == SOURCES[0]:
            rows = sample_rows()
        elif source == SOURCES[1]:
            if online:
                rows = hub_rows()
            else:
                st.warning("Offline: the Hub dataset is unavailable.", icon=":material/wifi_off:")
        else:
            upload = st.file_uploader("Labelled reviews", type=["jsonl", "json", "csv"])
            if upload is not None:
                rows = parse_bytes(upload.getvalue(), upload.name)
        if rows:
            check_trainable(rows, "the data")
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
        rows = []
    except Exception as exc:  # a Hub download can fail in many ways; say so, do not trace
        st.error(f"Could not load the data: {type(exc).__name__}: {exc}", icon=":material/error:")
        rows = []
    if rows:
        pos = sum(r.label for r in rows)
        st.caption(f"{len(rows):,} rows · {pos:,} positive · {len(rows) - pos:,} negative")
    budget = st.slider("Time budget (seconds)", 10, 120, 30, step=5, key="sent_budget")
    clicked = st.button(
        "Train", type="primary", icon=":material/play_arrow:", disabled=not rows, key="sent_go"
    )

if clicked and rows:

    def work(job, rows=rows, arch=arch, size=size, budget=budget):
        def progress(frac: float) -> None:
            job.report(progress=frac, message=f"training {arch}")

        # One second less than the job's hard limit: the run ends on its own, with its results.
        return sent.run_training(
            rows, arch, size, budget - 1, job.check, lambda r: job.log(**r), progress
        )

    ui_jobs.start(JOB_KEY, f"sentiment-{arch}", work, budget_s=budget)


def draw_curves(job) -> None:
    points = [m for m in job.snapshot() if "val_loss" in m]
    if not points:
        st.caption("The first evaluation appears after about a sixteenth of the budget.")
        return
    df = pd.DataFrame(points)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    for col, (what, colour) in enumerate((("loss", "#2563eb"), ("acc", "#dc2626")), start=1):
        for split_name, dash in (("train", "dot"), ("val", "solid")):
            fig.add_trace(
                go.Scatter(
                    x=df["step"],
                    y=df[f"{split_name}_{what}"],
                    name=f"{split_name} {what}",
                    line=dict(color=colour, dash=dash),
                    mode="lines+markers",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="step")
    fig.update_layout(height=320, margin=dict(t=40, b=10, l=10, r=10))
    st.plotly_chart(fig, width="stretch")
    last = points[-1]
    st.caption(
        f"step {last['step']} · val accuracy {last['val_acc']:.1%} · "
        f"{last['examples_per_s']:.0f} training examples/s · the from-scratch training loss "
        "uses label smoothing 0.1, so it stays above ~0.2 while the validation loss is plain "
        "cross-entropy"
    )


st.subheader("Training")
job = ui_jobs.current(JOB_KEY)
if job is None:
    st.info("Pick a model, data and a budget, then press Train.", icon=":material/play_arrow:")
else:
    ui_jobs.live_job(JOB_KEY, draw_curves)
    if job.finished and isinstance(job.result, sent.Trained):
        st.session_state[MODEL_KEY] = job.result  # per user; never a shared cache

trained: sent.Trained | None = st.session_state.get(MODEL_KEY)
if trained is not None:
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
    with left:
        cm = [
            [
                sum(1 for y, p in zip(labels, preds, strict=True) if y == t and p == q)
                for q in (0, 1)
            ]
            for t in (0, 1)
        ]
        fig = px.imshow(
            cm,
            x=["predicted negative", "predicted positive"],
            y=["negative", "positive"],
            text_auto=True,
            color_continuous_scale="Blues",
            title=f"Confusion matrix ({len(labels)} validation rows)",
        )
        fig.update_layout(height=320, coloraxis_showscale=False, margin=dict(t=40, b=10))
        st.plotly_chart(fig, width="stretch")
    with right:
        table = pd.DataFrame(
            {
                "text": [r.text for r in trained.val_rows],
                "label": [sm.LABELS[y] for y in labels],
                "predicted": [sm.LABELS[p] for p in preds],
                "P(positive)": trained.val_probs,
                "correct": [y == p for y, p in zip(labels, preds, strict=True)],
            }
        )
        st.dataframe(
            table,
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
        key="sent_text",
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
        tokens = [f"{i}:{t}" for i, t in enumerate(out["tokens"])]  # unique axis labels
        n_heads = len(out["attention"])
        fig = px.imshow(
            np.array(out["attention"]),  # (nh, T, T)
            facet_col=0,
            facet_col_wrap=min(4, n_heads),
            x=tokens,
            y=tokens,
            color_continuous_scale="Viridis",
            zmin=0,
            zmax=1,
            labels=dict(x="attends to (key)", y="token (query)", color="weight"),
        )
        fig.for_each_annotation(lambda a: a.update(text=f"head {int(a.text.split('=')[1])}"))
        rows_n = -(-n_heads // 4)
        fig.update_layout(height=260 * rows_n + 120, margin=dict(t=40, b=10))
        st.plotly_chart(fig, width="stretch")
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
