"""DistilBERT: what was removed from BERT, how the student was initialised, what it cost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from figures import distilbert as fig
from lessons import distilbert as db
from models import network, registry
from models.sentiment_data import read_rows
from ui.models import get_model
from ui.page import header, lesson, on_handle, page_keys
from ui.training import busy_slot
from ui.widgets import show_code

k = page_keys("db")
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
HUB_DISTILBERT = registry.get_choice("distilbert-base-uncased").repo


@st.cache_data(show_spinner=False)
def base_configs() -> list[db.ArchRow]:
    return db.base_configs()  # ~3 s of model construction (on meta): once per process


@st.cache_data(show_spinner=False)
def hub_params(repo: str) -> int:
    return db.hub_config_params(repo)


@on_handle(max_entries=8, show_spinner="Measuring teacher and student…")
def measure(handle, keep: tuple[int, ...]) -> dict:
    rows = read_rows(SAMPLE)
    return db.measure_selection(handle, list(keep), [r.text for r in rows],
                                [r.label for r in rows])  # fmt: skip


controls = header(
    "DistilBERT",
    "DistilBERT (Sanh et al., 2019) keeps BERT's width and vocabulary but **half of its layers**, "
    "drops the token-type embeddings and the pooler, and is trained to imitate BERT (soft "
    "targets, as on the *Knowledge distillation* page, plus a cosine loss on hidden states). Its "
    "student starts from BERT itself: **one layer out of two**. Below: the two real "
    "configurations, the real weights when the Hub is reachable, then the same layer selection "
    "done live on MiniLM.",
)
with controls:
    st.table(pd.DataFrame(db.CLAIMS, columns=["claim", "what the paper reports", "where"]))
    st.caption(f"Source: [arXiv:1910.01108]({db.PAPER}).")

st.subheader("BERT-base vs DistilBERT, from their configurations")
rows = base_configs()
table = pd.DataFrame([r.__dict__ for r in rows])
table["params"] = table["params"].map("{:,}".format)
st.dataframe(table, hide_index=True)
ratio = rows[1].params / rows[0].params
st.caption(
    "Counted from transformers' `BertConfig()` / `DistilBertConfig()` (the base models' defaults) "
    f"on the meta device: DistilBERT has {ratio:.1%} of BERT-base's parameters. The embeddings "
    "are kept whole, so halving the layers removes 40%, not 50%."
)
distil = registry.get_choice("distilbert-base-uncased")
if not distil.available():
    st.caption(
        f":material/wifi_off: Offline: the real `{HUB_DISTILBERT}` weights need the Hub "
        f"({network.detect().reason}); the configuration above is transformers' built-in default "
        "for it, and the layer selection below runs on the embedded MiniLM instead."
    )
else:
    try:
        st.caption(f"The Hub's `{HUB_DISTILBERT}` config.json: {hub_params(HUB_DISTILBERT):,} "
                   "parameters.")  # fmt: skip
    except Exception as exc:  # the Hub answered the probe but not this request
        st.caption(f"Could not read `{HUB_DISTILBERT}` from the Hub: {type(exc).__name__}.")
    if st.button("Load and time the real models", icon=":material/speed:", key=k("real_go")):
        handles = [h for role, key in (("encoder", "bert-base-uncased"),
                                       ("distilbert", "distilbert-base-uncased"))
                   if registry.get_choice(key).available()
                   and (h := get_model(role, key, optional=True)) is not None]  # fmt: skip
        with busy_slot(60, "timing the models") as ok:
            if ok and handles:
                texts = [r.text for r in read_rows(SAMPLE)][:64]
                st.session_state[k("real")] = db.real_models(handles, texts)
    if st.session_state.get(k("real")):
        real = pd.DataFrame(st.session_state[k("real")])
        real["parameters"] = real["parameters"].map("{:,}".format)
        st.dataframe(real, hide_index=True)
        st.caption("The real checkpoints on this machine: one batch of 64 built-in reviews, best "
                   "of 3, milliseconds per sentence.")  # fmt: skip

st.subheader("One layer in two, done on MiniLM")
handle = get_model("encoder")
n_layers = handle.model.config.num_hidden_layers
keep = st.multiselect(
    "Teacher layers the student keeps",
    list(range(n_layers)),
    default=db.every_other(n_layers),
    key=k("keep"),
    help="DistilBERT kept one BERT layer in two. Try the first or last half instead.",
)
st.plotly_chart(fig.kept_layers(n_layers, keep), key=k("layers"))

if not keep:
    st.info("Keep at least one layer.", icon=":material/layers:")
elif st.button("Measure teacher vs student", type="primary", key=k("go")):
    with busy_slot(60, "the measurement") as ok:
        if ok:
            st.session_state[k("result")] = (tuple(keep), measure(handle, tuple(sorted(keep))))
result = st.session_state.get(k("result"))
if result and result[0] == tuple(keep):
    res = result[1]
    t, s = res["teacher"], res["student"]
    st.dataframe(
        pd.DataFrame(
            [[f"teacher ({handle.choice.label})", t["layers"], f"{t['params']:,}", f"{t['ms']:.2f}",
              t["probe"]],
             ["student (selected layers)", s["layers"], f"{s['params']:,}", f"{s['ms']:.2f}",
              s["probe"]]],
            columns=["model", "layers", "parameters", "ms / sentence", "probe accuracy"],
        ),
        hide_index=True,
        column_config={"probe accuracy": st.column_config.NumberColumn(format="percent")},
    )  # fmt: skip
    c1, c2, c3 = st.columns(3)
    c1.metric("Speed-up", f"{res['speedup']:.2f}×")
    c2.metric("Probe accuracy kept", f"{res['probe_kept']:.0%}")
    c3.metric("Cosine(teacher, student)", f"{res['agreement']:.2f}")
    lesson(
        f"Probe: logistic regression on frozen mean-pooled vectors, 5-fold accuracy on the "
        f"{res['n']:,} built-in reviews. The student here is **not** distilled: it is only the "
        "initialisation. DistilBERT's training (soft targets + hidden-state cosine) is what "
        "recovers the gap; the Knowledge distillation page trains a student live."
    )
elif keep:
    st.caption("Press the button to measure latency and accuracy for this selection.")

show_code(db.base_configs, db.select_layers, db.probe_accuracy, db.latency_ms)
