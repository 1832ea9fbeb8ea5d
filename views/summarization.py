"""Project 2: extractive summarization with BERT sentence embeddings, why each sentence won, and
abstractive summaries beside it, each read against the article."""

from __future__ import annotations

import time

import streamlit as st

from figures import summarization as fig
from lessons import abstractive as ab
from lessons import extractive as ex
from lessons.chat import GenConfig
from models import network, registry
from ui.models import get_model
from ui.page import header, lazy_tabs, lesson, on_handle, page_keys, presenter, store, stored
from ui.training import busy_slot
from ui.widgets import empty_hint, guarded_text, show_code

k = page_keys("sum")
OWN_TEXT = "Your own text"
LIMITS = ex.ArticleLimits()
SUMMARIZERS = registry.choices("summarizer")
LESSON = (
    "**Extractive** summarization copies the most important sentences. A BERT-style encoder (here "
    "**MiniLM-L6**: mean of the token vectors, unit length) turns each sentence into a vector; "
    "the **cosine** between two vectors says how much two sentences talk about the same thing.\n\n"
    "- **PageRank** (TextRank / LexRank): sentences are nodes, cosines are edges; a random walk "
    "that hops to similar sentences visits most often the ones the rest of the article agrees "
    "with.\n"
    "- **Centroid**: cosine with the article's mean vector. On a dense graph it ranks almost like "
    "PageRank; a LexRank **threshold** (drop weak edges) makes them differ.\n"
    "- **Clustering**: k-means on the vectors, one cluster per summary sentence; the sentence "
    "nearest each centroid speaks for its cluster, so the summary covers k topics.\n\n"
    "**ROUGE** counts overlapping words (1), word pairs (2) and the longest common subsequence (L) "
    "with a human reference. The honest baseline is **lead-k**, the first k sentences: news-style "
    "text puts the gist first, and it is hard to beat."
)


@on_handle(max_entries=64)
def embeddings(handle, sentences: tuple[str, ...]):
    return ex.embed(handle, list(sentences))  # (S, C) unit vectors


controls = header("Project 2: summarization with BERT", LESSON)
examples = ex.load_examples()
titles = [e.title for e in examples]
with controls:
    choice = st.selectbox("Article", [*titles, OWN_TEXT], key=k("example"))
    idx = titles.index(choice) if choice in titles else len(titles)
    example = examples[idx] if idx < len(examples) else None
    stage = presenter()  # a projector: article and reference side by side, shorter figures
    box_a, box_r = st.columns([3, 2]) if stage else (st.container(), st.container())
    with box_a:
        article = guarded_text(
            "Article",
            example.article if example else "",
            key=k(f"article::{idx}"),
            max_chars=LIMITS.max_chars,
            height=140 if stage else 220,
        )
    with box_r:
        reference = guarded_text(
            "Reference summary (optional; enables ROUGE)",
            example.reference if example else "",
            key=k(f"reference::{idx}"),
            height=140 if stage else 80,
        )
    c1, c2 = st.columns(2)
    pick = c1.selectbox if stage else c1.radio
    method = pick("Method", ex.METHODS, format_func=ex.METHOD_LABELS.get, key=k("method"))
    mode = c2.radio(
        "Summary length",
        ["sentences", "percent"],
        format_func={"sentences": "Number of sentences", "percent": "% of the article"}.get,
        key=k("length_mode"),
        horizontal=True,
    )
    if mode == "sentences":
        n_sent, pct = c2.slider("Sentences", 1, 10, 3, key=k("n_sentences")), 20
    else:
        n_sent, pct = 3, c2.slider("% of the sentences", 5, 60, 15, step=5, key=k("percent"))
    threshold = 0.0
    if method == "pagerank":
        threshold = c2.slider("LexRank threshold (drop edges below)", 0.0, 0.6, 0.0, step=0.05,
                              key=k("threshold"))  # fmt: skip
    if not stage:
        st.caption(
            f"Limits: {LIMITS.max_chars:,} characters and {LIMITS.max_sentences:,} sentences; "
            "MiniLM reads at most 256 tokens per sentence."
        )

spans, notices = ex.prepare_article(article.text, LIMITS)
for notice in notices:
    st.caption(f":material/info: {notice}")
result = None
if article.empty:
    empty_hint("or pick an article")
elif len(spans) < 2:
    st.warning(
        f"Found {len(spans)} sentence{'s' if len(spans) != 1 else ''}: a summary needs at least 2. "
        "End sentences with . ! or ? or put them on separate lines.",
        icon=":material/short_text:",
    )
else:
    encoder = get_model("encoder")
    t0 = time.perf_counter()
    emb = embeddings(encoder, tuple(s.text for s in spans))  # (S, C)
    cfg = ex.SummaryConfig(
        method=method,
        length=ex.LengthConfig(mode=mode, sentences=n_sent, percent=pct),
        pagerank=ex.PageRankConfig(threshold=threshold),
    )
    result = ex.summarize_embeddings(spans, emb, cfg)
    seconds = time.perf_counter() - t0


def _summary_column(a: ab.Abstract) -> None:
    """One summary, whoever wrote it: box, ROUGE, cost, what was cut, what does not check out."""
    st.markdown(f"**{a.who}** · {a.kind}")
    st.html(fig.box_html(a.text, fig.KIND_COLORS[a.kind], 150 if stage else None))
    if not reference.empty and a.text:
        st.caption(fig.rouge_caption(ex.rouge(reference.text, a.text)))
    if a.note:
        st.info(a.note, icon=":material/wifi_off:")
    if (line := fig.generation_caption(a)) is not None:
        st.caption(line)
    if a.kind == "prompted LM":
        st.caption(
            ":material/warning: What a 135M model does when asked: it pads, repeats, and may "
            "state numbers and names the article never gave. Flags below; read them against "
            "the highlighted article."
        )
    if a.flags:
        st.dataframe(
            fig.flag_rows(a.flags),
            hide_index=True,
            height=min(145 if stage else 250, 38 + 35 * len(a.flags)),
        )
    elif a.kind in ("prompted LM", "seq2seq"):
        st.caption("No name or number that contradicts the article.")
    if a.prompt:
        with st.expander("The prompt it saw", icon=":material/data_object:"):
            st.code(a.prompt, language=None, wrap_lines=True)


def _abstractive(result: ex.ExtractiveResult) -> None:
    n = len(result.picked)
    stage = presenter()  # a projector: the lesson folded above, the controls in one row
    left, right = (st.container(), st.container()) if stage else st.columns([3, 2])
    with left:
        lesson(
            "**Abstractive** models write new sentences. Offline, **SmolLM2-135M-Instruct** is "
            "*asked* to summarize (chat template, greedy). With the Hub, **DistilBART / "
            "BART-CNN**, encoder-decoders trained on news summaries, write one too; offline the "
            "extractive summary stands in for them. Output is trimmed to its last whole sentence, "
            "and every name and number is read against the article: its unit, rate and period.",
            label="Abstractive summaries",
        )
    with right:
        c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom") if stage else (st, st, st)
        key = c1.selectbox(
            "Summarizer",
            [c.key for c in SUMMARIZERS],
            format_func=lambda c: (
                registry.get_choice(c).label
                + ("" if registry.get_choice(c).available() else " · unavailable offline")
            ),
            key=k("summarizer"),
        )
        max_new = c2.slider("Max new tokens", 4, 320, ab.token_cap(3), key=k("max_new_tokens"),
                            help=f"{ab.TOKENS_PER_SENTENCE} per sentence plus 40 fits whole "
                            "sentences; a cut sentence is trimmed")  # fmt: skip
        run = c3.button("Write abstractive summaries", key=k("abstract::run"), type="primary",
                        icon=":material/edit_note:")  # fmt: skip
    text = " ".join(s.text for s in spans)  # the capped article the extractor saw
    digest = ab.digest(text, str(n), key)
    if run:
        with busy_slot(90, "the summaries") as ok:
            if ok:
                mine = ab.extractive(result.summary, f"Extractive ({method})")
                gen = GenConfig(max_new_tokens=max_new, time_budget_s=45.0)
                llm = ab.prompted(get_model("chat"), text, n, gen)
                choice = registry.get_choice(key)
                # Unavailable (offline): straight to the labelled stand-in, no second notice.
                handle = get_model("summarizer", key, optional=True) if choice.available() else None
                if handle is not None:
                    seq = ab.seq2seq(handle, text, max_new)
                else:
                    why = "failed to load" if choice.available() else f"{network.detect().reason}"
                    seq = ab.stand_in(result.summary, mine.who, choice.label, why)
                store(k("abstract"), {"digest": digest, "results": [mine, llm, seq]})
    res = stored(k("abstract"))
    if res and res["digest"] != digest:
        st.caption("The article, length or summarizer changed: press the button again.")
    elif res:
        shown = res["results"][1:] if stage else res["results"]  # the extractive one is above
        for col, a in zip(st.columns(len(shown)), shown, strict=True):
            with col:
                _summary_column(a)
    else:
        st.info("Press the button to write the summaries.", icon=":material/edit:")


if result is not None:
    st.subheader(f"Extractive summary: {len(result.picked):,} of {len(spans):,} sentences")
    st.html(fig.box_html(result.summary, max_height=100) if stage else fig.box_html(result.summary))
    if not stage:  # a projector skips this note
        st.caption(
            f":material/schedule: {seconds:.2f} s from input to summary (embeddings are cached: "
            "changing method or length only re-ranks) · picked "
            + ", ".join(f"S{i + 1}" for i in result.picked)
            + " · shown in article order."
        )
    n = len(result.picked)
    if not reference.empty and not (stage and stored(k("tabs")) == "Abstractive"):
        st.dataframe(
            ex.rouge_rows(reference.text, {f"Extractive ({method})": result.summary,
                                           f"Lead-{n} baseline": ex.lead_k(spans, n)}),
            hide_index=True,
        )  # fmt: skip
        lesson(
            "ROUGE F1 with Porter stemming. Lead-k often wins on news-style articles; centrality "
            "picks what is *typical*, which is not always what a human summary says."
        )
    elif not stage:
        st.caption("Paste a reference summary above to score this with ROUGE.")
    tabs = lazy_tabs(
        ["Article, highlighted", "Scores", "Similarity", "Embedding map", "Abstractive"], k("tabs")
    )
    if tabs[0].open:
        with tabs[0]:
            st.html(fig.highlighted_html(result, article.text, 220 if stage else 420))
            st.caption(
                "Yellow = picked. Hover a sentence for its score."
                + (" The underline is its k-means cluster." if result.labels is not None else "")
            )
    if tabs[1].open:
        with tabs[1]:
            st.plotly_chart(fig.score_bars(result, 240 if stage else 320), key=k("bars"))
            lesson(fig.SCORE_NOTES[method])
    if tabs[2].open:
        with tabs[2]:
            st.plotly_chart(fig.similarity(result, 330 if stage else 520), key=k("heat"))
            lesson(
                "Row i, column j: cosine(S_i, S_j). Central sentences have dark rows everywhere; "
                "an off-topic one is a pale row."
            )
    if tabs[3].open:
        with tabs[3]:
            st.plotly_chart(
                fig.embedding_map(result, ex.pca_2d(emb).tolist(), 300 if stage else 420),
                key=k("pca"),
            )
            lesson(
                "The 384-d sentence vectors on their two main directions (PCA via SVD). "
                + ("Colours are k-means clusters; " if result.labels is not None else "")
                + "stars are the picked sentences."
            )
    if tabs[4].open:
        with tabs[4]:
            _abstractive(result)

show_code(ex.split_sentences, ex.embed, ex.pagerank, ex.centroid_scores, ex.cluster_pick,
          ex.summarize_embeddings, ex.pca_2d, ex.rouge, ab.prompted, ab.seq2seq,
          ab.trim_to_sentence, ab.check_facts)  # fmt: skip
