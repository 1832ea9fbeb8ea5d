"""Project 2: extractive summarization with BERT sentence embeddings, and why each sentence won.

MiniLM embeds every sentence; centrality (PageRank / centroid) or k-means clustering picks the
summary; heatmap, score bars, a highlighted article and a 2-D map show the reasons. ROUGE scores
it against a reference and the lead-k baseline; an instruct LM (offline) and a BART summarizer
(with the Hub) write abstractive summaries beside it.
"""

from __future__ import annotations

import hashlib
import html
import threading
import time
from types import SimpleNamespace
from typing import Any

import plotly.graph_objects as go
import streamlit as st
import torch

from lessons import chat
from lessons import extractive as ex
from lessons import use_cases as uc
from models import jobs, loader, network, registry
from ui.models import get_model
from ui.widgets import PALETTE, empty_hint, guarded_text, show_code

OWN_TEXT = "Your own text"
MAX_TOKENS_KEY = "sum::max_new_tokens"  # tests set this low to stay fast
BUDGET_KEY = "sum::budget"
RESULT_KEY = "sum::abstract"
LIMITS = ex.ArticleLimits()
HUB_SUMMARIZERS = {
    "sshleifer/distilbart-cnn-12-6": "DistilBART CNN 12-6 (306M, Hub)",
    "facebook/bart-large-cnn": "BART large CNN (406M, Hub)",
}


# ---- cached work (keyed on text and model key, never on the handle) ---------------------------


@st.cache_data(show_spinner=False, max_entries=64)
def _embed_cached(model_key: str, sentences: tuple[str, ...], _handle: Any) -> torch.Tensor:
    return uc.embed(_handle, list(sentences))  # (S, C)


def _hub_available(repo: str) -> bool:
    return network.is_online() or registry.hub_cached(repo)


@st.cache_resource(show_spinner=False, max_entries=1)
def _load_summarizer(repo: str) -> SimpleNamespace:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(repo).eval().to(loader.device())
    return SimpleNamespace(
        tokenizer=AutoTokenizer.from_pretrained(repo), model=model, lock=threading.RLock()
    )


# ---- rendering helpers ------------------------------------------------------------------------


def _box(text: str) -> None:
    st.html(
        '<div style="border-left:4px solid #60a5fa;padding:6px 12px;background:#f8fafc;'
        f'white-space:pre-wrap">{html.escape(text) or "<i>(empty)</i>"}</div>'
    )


def _highlighted(result: ex.ExtractiveResult, article: str) -> str:
    """The article with picked sentences highlighted; every piece of typed text is escaped."""
    picked = set(result.picked)
    out, pos = [], 0
    for i, span in enumerate(result.spans):
        out.append(html.escape(article[pos : span.start]))
        score = float(result.scores[i])
        style = "background:#fde68a;font-weight:600" if i in picked else "color:#374151"
        if result.labels is not None:
            label = int(result.labels[i])
            border = PALETTE[label % len(PALETTE)]
            style += f";border-bottom:3px solid {border}"
        out.append(
            f'<span title="S{i + 1} · score {score:.4f}" style="{style};border-radius:3px">'
            f'<sup style="color:#6b7280">S{i + 1}</sup>{html.escape(span.text)}</span>'
        )
        pos = span.end
    end = result.spans[-1].end if result.spans else 0
    out.append(html.escape(article[end : end + 400]))  # past the sentence cap: a little context
    return (
        '<div style="white-space:pre-wrap;line-height:1.7;max-height:420px;overflow-y:auto">'
        + "".join(out)
        + "</div>"
    )


def _hover(spans: list[Any]) -> list[str]:
    return [html.escape(s.text[:90] + ("…" if len(s.text) > 90 else "")) for s in spans]


def _score_bars(result: ex.ExtractiveResult, score_name: str) -> go.Figure:
    names = [f"S{i + 1}" for i in range(len(result.spans))]
    picked = set(result.picked)
    fig = go.Figure(
        go.Bar(
            x=names,
            y=result.scores.tolist(),
            marker_color=["#f59e0b" if i in picked else "#93c5fd" for i in range(len(names))],
            hovertext=_hover(result.spans),
            hoverinfo="text+y",
        )
    )
    fig.update_layout(
        xaxis_title="sentence (article order; orange = picked)",
        yaxis_title=score_name,
        height=320,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def _heatmap(result: ex.ExtractiveResult) -> go.Figure:
    names = [f"S{i + 1}{' ★' if i in result.picked else ''}" for i in range(len(result.spans))]
    fig = go.Figure(
        go.Heatmap(
            z=result.sim.tolist(),
            x=names,
            y=names,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "cosine"},
            hovertemplate="%{y} · %{x}: cosine %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title="sentence",
        yaxis_title="sentence (★ = picked)",
        yaxis={"autorange": "reversed"},
        height=520,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def _pca_map(result: ex.ExtractiveResult, emb: torch.Tensor) -> go.Figure:
    xy = ex.pca_2d(emb)  # (S, 2)
    picked = set(result.picked)
    if result.labels is not None:
        colors = [PALETTE[int(c) % len(PALETTE)] for c in result.labels]
    else:
        colors = ["#f59e0b" if i in picked else "#93c5fd" for i in range(len(result.spans))]
    fig = go.Figure(
        go.Scatter(
            x=xy[:, 0].tolist(),
            y=xy[:, 1].tolist(),
            mode="markers+text",
            text=[f"S{i + 1}" for i in range(len(result.spans))],
            textposition="top center",
            hovertext=_hover(result.spans),
            hoverinfo="text",
            marker={
                "size": [18 if i in picked else 10 for i in range(len(result.spans))],
                "symbol": ["star" if i in picked else "circle" for i in range(len(result.spans))],
                "color": colors,
                "line": {"width": 1, "color": "#1f2937"},
            },
        )
    )
    fig.update_layout(
        xaxis_title="principal component 1",
        yaxis_title="principal component 2",
        height=420,
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


def _rouge_row(name: str, reference: str, text: str) -> dict[str, Any]:
    scores = ex.rouge(reference, text)
    row: dict[str, Any] = {"summary": name, "words": len(text.split())}
    row.update({t.replace("rouge", "ROUGE-"): round(s.f1, 3) for t, s in scores.items()})
    return row


def _rouge_caption(reference: str, text: str) -> None:
    if reference and text:
        s = ex.rouge(reference, text)
        st.caption(
            f"ROUGE F1 — 1: {s['rouge1'].f1:.3f} · 2: {s['rouge2'].f1:.3f} · "
            f"L: {s['rougeL'].f1:.3f}"
        )


def _invented(summary: str, article: str) -> None:
    missing = ex.unsupported(summary, article)
    if missing:
        st.caption(
            ":material/warning: Not in the article (possibly invented): "
            + ", ".join(f"`{w[:30]}`" for w in missing[:12])
        )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


# ---- page -------------------------------------------------------------------------------------

st.title("Project 2: summarization with BERT")
lesson, controls = st.columns([2, 3])
with lesson:
    st.markdown(
        "**Extractive** summarization copies the most important sentences. A BERT-style "
        "encoder (here **MiniLM-L6**: mean of the token vectors, unit length) turns each "
        "sentence into a vector; the **cosine** between two vectors says how much two sentences "
        "talk about the same thing.\n\n"
        "- **PageRank** (TextRank / LexRank): sentences are nodes, cosines are edges; a random "
        "walk that hops to similar sentences visits most often the ones the rest of the article "
        "agrees with.\n"
        "- **Centroid**: cosine with the article's mean vector. On a dense graph it ranks almost "
        "like PageRank; a LexRank **threshold** (drop weak edges) makes them differ.\n"
        "- **Clustering**: k-means on the vectors, one cluster per summary sentence; the sentence "
        "nearest each centroid speaks for its cluster, so the summary covers k topics.\n\n"
        "**ROUGE** counts overlapping words (1), word pairs (2) and the longest common "
        "subsequence (L) with a human reference. The honest baseline is **lead-k**, the first k "
        "sentences: news-style text puts the gist first, and it is hard to beat."
    )
    st.caption(
        f"Limits: {LIMITS.max_chars:,} characters and {LIMITS.max_sentences} sentences; MiniLM "
        "reads at most 256 tokens per sentence."
    )

examples = ex.load_examples()
titles = [e.title for e in examples]
with controls:
    choice = st.selectbox("Article", [*titles, OWN_TEXT], key="sum::example")
    idx = titles.index(choice) if choice in titles else len(titles)
    example = examples[idx] if idx < len(examples) else None
    article = guarded_text(
        "Article",
        example.article if example else "",
        key=f"sum::article::{idx}",
        max_chars=LIMITS.max_chars,
        height=220,
    )
    reference = guarded_text(
        "Reference summary (optional; enables ROUGE)",
        example.reference if example else "",
        key=f"sum::reference::{idx}",
        height=90,
    )
    c1, c2 = st.columns(2)
    method = c1.radio("Method", ex.METHODS, format_func=ex.METHOD_LABELS.get, key="sum::method")
    length_mode = c2.radio(
        "Summary length",
        ["sentences", "percent"],
        format_func={"sentences": "Number of sentences", "percent": "% of the article"}.get,
        key="sum::length_mode",
        horizontal=True,
    )
    if length_mode == "sentences":
        n_sent = c2.slider("Sentences", 1, 10, 3, key="sum::n_sentences")
        pct = 20
    else:
        pct = c2.slider("% of the article's sentences", 5, 60, 15, step=5, key="sum::percent")
        n_sent = 3
    threshold = 0.0
    if method == "pagerank":
        threshold = c2.slider(
            "LexRank threshold (drop edges with cosine below)",
            0.0,
            0.6,
            0.0,
            step=0.05,
            key="sum::threshold",
        )

spans, notices = ex.prepare_article(article.text, LIMITS)
for notice in notices:
    st.caption(f":material/info: {notice}")

result: ex.ExtractiveResult | None = None
emb = None
if article.empty:
    empty_hint("or pick an article")
elif len(spans) < 2:
    st.warning(
        f"Found {len(spans)} sentence{'s' if len(spans) != 1 else ''}: a summary needs at "
        "least 2. End sentences with . ! or ? or put them on separate lines.",
        icon=":material/short_text:",
    )
else:
    encoder = get_model("encoder")
    t0 = time.perf_counter()
    emb = _embed_cached(encoder.choice.key, tuple(s.text for s in spans), encoder)  # (S, C)
    cfg = ex.SummaryConfig(
        method=method,
        length=ex.LengthConfig(mode=length_mode, sentences=n_sent, percent=pct),
        pagerank=ex.PageRankConfig(threshold=threshold),
    )
    result = ex.summarize_embeddings(spans, emb, cfg)
    seconds = time.perf_counter() - t0

if result is not None:
    k = len(result.picked)
    st.subheader(f"Extractive summary: {k} of {len(spans)} sentences")
    _box(result.summary)
    st.caption(
        f":material/schedule: {seconds:.2f} s from input to summary (embedding is cached: "
        f"changing method or length only re-ranks) · picked "
        + ", ".join(f"S{i + 1}" for i in result.picked)
        + " · shown in article order."
    )
    baseline = ex.lead_k(spans, k)
    if not reference.empty:
        rows = [
            _rouge_row(f"Extractive ({method})", reference.text, result.summary),
            _rouge_row(f"Lead-{k} baseline", reference.text, baseline),
        ]
        st.dataframe(rows, hide_index=True)
        st.caption(
            "ROUGE F1 with Porter stemming. Lead-k often wins on news-style articles; "
            "centrality picks what is *typical*, which is not always what a human summary says."
        )
    else:
        st.caption("Paste a reference summary above to score this with ROUGE.")

    st.subheader("Why each sentence was picked")
    score_name = {
        "pagerank": "PageRank score",
        "centroid": "cosine with the centroid",
        "clustering": "cosine with its cluster's centroid",
    }[method]
    tabs = st.tabs(["Article, highlighted", "Scores", "Similarity heatmap", "Embedding map"])
    with tabs[0]:
        st.html(_highlighted(result, article.text))
        st.caption(
            "Yellow = picked. Hover a sentence for its score."
            + (" The underline color is its k-means cluster." if result.labels is not None else "")
        )
    with tabs[1]:
        st.plotly_chart(_score_bars(result, score_name), key="sum::bars")
        st.caption(
            {
                "pagerank": "Stationary probability of the random walk (sums to 1): the top k win.",
                "centroid": "The top k cosines with the article's mean vector win.",
                "clustering": "Within each cluster, the sentence with the highest cosine to its "
                "centroid wins, even if other clusters have higher scores.",
            }[method]
        )
    with tabs[2]:
        st.plotly_chart(_heatmap(result), key="sum::heatmap")
        st.caption(
            "Row i, column j: cosine(S_i, S_j). Central sentences have light-blue rows "
            "everywhere; an off-topic one is a pale row."
        )
    with tabs[3]:
        st.plotly_chart(_pca_map(result, emb), key="sum::pca")
        st.caption(
            "The 384-d sentence vectors projected on their two main directions (PCA via SVD). "
            + (
                "Colors are k-means clusters; stars are the picked sentences."
                if result.labels is not None
                else "Stars are picked; switch to clustering to color the clusters."
            )
        )

    # ---- abstractive --------------------------------------------------------------------------
    st.subheader("Abstractive summaries, side by side")
    a_lesson, a_controls = st.columns([3, 2])
    a_lesson.markdown(
        "**Abstractive** models write new sentences. Offline, **SmolLM2-135M-Instruct** is "
        "*asked* to summarize (chat template, greedy, bounded tokens and time). With the Hub, "
        "**BART-CNN** (an encoder-decoder trained on news summaries) writes one too."
    )
    a_lesson.caption(
        ":material/warning: A 135M model often copies the first sentences, repeats itself, or "
        "states names and numbers the article never gave. Names and numbers that do not occur in "
        "the article are flagged below each summary; read them against the highlighted article."
    )
    with a_controls:
        max_new = st.slider("Max new tokens", 4, 160, 96, key=MAX_TOKENS_KEY)
        budget = st.slider("Time budget (s)", 5, 60, 45, key=BUDGET_KEY)
        hub_repo = st.selectbox(
            "Hub summarizer",
            list(HUB_SUMMARIZERS),
            format_func=lambda r: (
                HUB_SUMMARIZERS[r] + ("" if _hub_available(r) else " — unavailable offline")
            ),
            key="sum::hub_repo",
        )
        run = st.button(
            "Write abstractive summaries",
            key="sum::abstract::run",
            type="primary",
            icon=":material/edit_note:",
        )
    digest = _digest(article.text, str(k))
    if run:
        llm = get_model("chat")
        stored: dict[str, Any] = {"digest": digest, "llm": None, "hub": None, "hub_note": None}
        stored["hub_label"] = HUB_SUMMARIZERS[hub_repo]
        with jobs.slot(timeout=60) as ok:
            if not ok:
                st.warning(
                    "The machine is busy with another job; try again in a moment.",
                    icon=":material/hourglass:",
                )
            else:
                text = " ".join(s.text for s in spans)  # the capped article the extractor saw
                t0 = time.perf_counter()
                stored["llm"] = ex.abstractive_llm(
                    llm, text, k, chat.GenConfig(max_new_tokens=max_new, time_budget_s=budget)
                )
                stored["llm_who"] = llm.choice.label
                stored["llm_seconds"] = time.perf_counter() - t0
                if not _hub_available(hub_repo):
                    stored["hub_note"] = (
                        f"{HUB_SUMMARIZERS[hub_repo]} is unavailable offline: it needs the "
                        f"Hugging Face Hub ({network.detect().reason}) and is not in the local "
                        "cache."
                    )
                else:
                    try:
                        t1 = time.perf_counter()
                        with st.spinner(f"Loading {HUB_SUMMARIZERS[hub_repo]}…"):
                            handle = _load_summarizer(hub_repo)
                        stored["hub"] = ex.abstractive_seq2seq(handle, text, max_new)
                        stored["hub_seconds"] = time.perf_counter() - t1
                    except Exception as exc:  # network drop, disk full, missing package …
                        stored["hub_note"] = (
                            f"Could not run {HUB_SUMMARIZERS[hub_repo]}: "
                            f"{type(exc).__name__}: {exc}"
                        )
                st.session_state[RESULT_KEY] = stored
    res = st.session_state.get(RESULT_KEY)
    if res and res["digest"] != digest:
        st.caption("The article or length changed: press the button for new abstractive summaries.")
    elif res and res["llm"] is not None:
        cols = st.columns(3)
        with cols[0]:
            st.markdown(f"**Extractive ({method})**")
            _box(result.summary)
            _rouge_caption(reference.text if not reference.empty else "", result.summary)
        with cols[1]:
            r: chat.ChatResult = res["llm"]
            st.markdown(f"**{res['llm_who']}** (prompted)")
            _box(r.text)
            _rouge_caption(reference.text if not reference.empty else "", r.text)
            st.caption(
                f"{r.new_tokens} new tokens in {r.seconds:.1f} s ({r.tokens_per_s:.1f} tokens/s), "
                f"stopped by {r.stopped_by.replace('_', ' ')}; {res['llm_seconds']:.1f} s from "
                "click to result."
            )
            if r.hit_time_budget:
                st.warning("Cut short by the time budget.", icon=":material/timer:")
            _invented(r.text, article.text)
            with st.expander("The prompt it saw", icon=":material/data_object:"):
                st.code(r.prompt_text, language=None, wrap_lines=True)
        with cols[2]:
            st.markdown(f"**{res['hub_label']}**")
            if res["hub"] is not None:
                _box(res["hub"])
                _rouge_caption(reference.text if not reference.empty else "", res["hub"])
                st.caption(f"{res['hub_seconds']:.1f} s (including the first load).")
                _invented(res["hub"], article.text)
            else:
                st.info(res["hub_note"], icon=":material/wifi_off:")

show_code(
    ex.split_sentences,
    uc.embed,
    ex.pagerank,
    ex.centroid_scores,
    ex.kmeans,
    ex.cluster_pick,
    ex.summarize_embeddings,
    ex.pca_2d,
    ex.rouge,
    ex.abstractive_llm,
    ex.abstractive_seq2seq,
    ex.unsupported,
)
