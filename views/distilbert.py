"""DistilBERT: what was removed from BERT, how the student was initialised, what it cost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lessons import distilbert as db
from models import jobs, network
from models.sentiment_data import read_rows
from ui.models import get_model
from ui.widgets import show_code

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
HUB_DISTILBERT = "distilbert/distilbert-base-uncased"

st.title("DistilBERT")
left, right = st.columns([3, 2])
with left:
    st.markdown(
        "DistilBERT (Sanh et al., 2019) keeps BERT's width and vocabulary but **half of its "
        "layers**, drops the token-type embeddings and the pooler, and is trained to imitate "
        "BERT (soft targets, as on the *Knowledge distillation* page, plus a cosine loss on "
        "hidden states). Its student starts from BERT itself: **one layer out of two**. Below: "
        "the two real configurations, then the same layer selection done live on MiniLM."
    )
with right:
    claims = pd.DataFrame(db.CLAIMS, columns=["claim", "what the paper reports", "where"])
    st.dataframe(claims, hide_index=True)
    st.caption(f"Source: [arXiv:1910.01108]({db.PAPER}).")


@st.cache_data(show_spinner=False)
def _hub_params(repo: str) -> int:
    import torch
    from transformers import AutoConfig, AutoModel

    with torch.device("meta"):
        return sum(
            p.numel() for p in AutoModel.from_config(AutoConfig.from_pretrained(repo)).parameters()
        )


@st.cache_data(show_spinner=False)
def _base_configs() -> list[db.ArchRow]:
    return db.base_configs()  # ~3 s of model construction (on meta): once per process


# 1. The two configurations ------------------------------------------------------------------
st.subheader("BERT-base vs DistilBERT, from their configurations")
rows = _base_configs()
table = pd.DataFrame([r.__dict__ for r in rows])
table["params"] = table["params"].map("{:,}".format)
st.dataframe(table, hide_index=True)
ratio = rows[1].params / rows[0].params
st.caption(
    f"Counted from transformers' `BertConfig()` / `DistilBertConfig()` (the base models' "
    f"defaults) on the meta device: DistilBERT has {ratio:.1%} of BERT-base's parameters. "
    "The embeddings (23.8M) are kept whole, so halving the layers removes 40%, not 50%."
)
if network.is_online():
    try:
        hub_params = _hub_params(HUB_DISTILBERT)
        st.caption(
            f":material/wifi: The Hub's `{HUB_DISTILBERT}` config gives {hub_params:,} parameters."
        )
    except Exception as exc:  # the Hub answered the probe but not this request
        st.caption(f"Could not read `{HUB_DISTILBERT}` from the Hub: {type(exc).__name__}.")
else:
    st.caption(
        f":material/wifi_off: Offline: the real `{HUB_DISTILBERT}` weights need the Hub; the "
        "configuration above is transformers' built-in default for it."
    )

# 2. Layer selection on MiniLM ---------------------------------------------------------------
st.subheader("One layer in two, done on MiniLM")
handle = get_model("encoder")
n_layers = handle.model.config.num_hidden_layers
keep = st.multiselect(
    "Teacher layers the student keeps",
    list(range(n_layers)),
    default=db.every_other(n_layers),
    key="db_keep",
    help="DistilBERT kept one BERT layer in two. Try the first or last half instead.",
)
fig = go.Figure(
    go.Bar(
        x=[f"layer {i}" for i in range(n_layers)],
        y=[1 if i in keep else 0.15 for i in range(n_layers)],
        marker_color=["#4f46e5" if i in keep else "#d1d5db" for i in range(n_layers)],
        hovertext=["copied into the student" if i in keep else "dropped" for i in range(n_layers)],
    )
)
fig.update_layout(
    height=220, yaxis_visible=False, xaxis_title="teacher layer", margin=dict(t=10, b=40)
)
st.plotly_chart(fig, key="db_layers")


@st.cache_data(show_spinner="Measuring teacher and student…", max_entries=8)
def _measure(keep_key: tuple[int, ...], model_key: str, _handle) -> dict:
    data = read_rows(SAMPLE)
    texts = [r.text for r in data]
    y = np.array([r.label for r in data])
    with _handle.lock:
        student = db.select_layers(_handle.model, list(keep_key))  # a private copy
        t_vec = db.sentence_embeddings(_handle.model, _handle.tokenizer, texts)
        s_vec = db.sentence_embeddings(student, _handle.tokenizer, texts)
        t_ms = db.latency_ms(_handle.model, _handle.tokenizer, texts[:64])
        s_ms = db.latency_ms(student, _handle.tokenizer, texts[:64])
    return {
        "teacher": {
            "layers": _handle.model.config.num_hidden_layers,
            "params": sum(p.numel() for p in _handle.model.parameters()),
            "ms": t_ms,
            "probe": db.probe_accuracy(t_vec.numpy(), y),
        },
        "student": {
            "layers": len(keep_key),
            "params": sum(p.numel() for p in student.parameters()),
            "ms": s_ms,
            "probe": db.probe_accuracy(s_vec.numpy(), y),
        },
        "agreement": db.agreement(t_vec, s_vec),
        "n": len(texts),
    }


if not keep:
    st.info("Keep at least one layer.", icon=":material/layers:")
elif st.button("Measure teacher vs student", type="primary", key="db_go"):
    with jobs.slot(timeout=60) as ok:
        if not ok:
            st.warning("The machine is busy with another session's work; try again shortly.")
        else:
            st.session_state["db_result"] = (
                tuple(keep),
                _measure(tuple(sorted(keep)), handle.choice.key, _handle=handle),
            )
result = st.session_state.get("db_result")
if result and result[0] == tuple(keep):
    res = result[1]
    t, s = res["teacher"], res["student"]
    df = pd.DataFrame(
        [
            ["teacher (MiniLM)", t["layers"], f"{t['params']:,}", f"{t['ms']:.2f}", t["probe"]],
            ["student (selected layers)", s["layers"], f"{s['params']:,}", f"{s['ms']:.2f}",
             s["probe"]],
        ],
        columns=["model", "layers", "parameters", "ms / sentence", "probe accuracy"],
    )  # fmt: skip
    st.dataframe(df, hide_index=True)
    c1, c2, c3 = st.columns(3)
    c1.metric("Speed-up", f"{t['ms'] / max(s['ms'], 1e-9):.2f}×")
    c2.metric("Probe accuracy kept", f"{s['probe'] / t['probe']:.0%}")
    c3.metric("Cosine(teacher, student)", f"{res['agreement']:.2f}")
    st.caption(
        f"Probe: logistic regression on frozen mean-pooled vectors, 5-fold accuracy on the "
        f"{res['n']} built-in reviews. The student here is **not** distilled: it is only the "
        "initialisation. DistilBERT's training (soft targets + hidden-state cosine) is what "
        "recovers the gap; the Knowledge distillation page trains that live."
    )
elif keep:
    st.caption("Press the button to measure latency and accuracy for this selection.")

show_code(db.base_configs, db.select_layers, db.probe_accuracy, db.latency_ms)
