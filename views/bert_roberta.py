"""BERT & RoBERTa: what changed between them (masking, NSP, tokenizer, data), shown live."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lessons import embeddings as emb
from lessons import fill_mask as fm
from lessons import masking, tokenization
from models import registry
from models import sentiment as sent
from models.sentiment_data import read_rows
from ui import jobs as ui_jobs
from ui.models import get_model, get_tokenizer
from ui.widgets import empty_hint, guarded_text, show_code, token_spans_html

SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sentiment" / "sample.jsonl"
FT_JOBS = {"scratch": "bert_ft_scratch", "minilm": "bert_ft_minilm"}
FT_NAMES = {"scratch": "From scratch (random init)", "minilm": "MiniLM fine-tune (pre-trained)"}
MAX_SENTENCES = 8
LAYOUT = dict(margin=dict(l=10, r=10, t=40, b=10), height=340)
ACTION_LABELS = {masking.MASKED: "MASK", masking.RANDOM: "rand", masking.UNCHANGED: "same"}

COMPARISON = pd.DataFrame(
    {
        "BERT (Devlin et al., 2018)": [
            "BooksCorpus + English Wikipedia, 16 GB",
            "static: masked once during preprocessing",
            "yes: 50% real next sentence, 50% random",
            "WordPiece, 30,522 pieces",
            "256 sequences × 1M steps",
            "arXiv:1810.04805",
        ],
        "RoBERTa (Liu et al., 2019)": [
            "Books, Wikipedia, CC-News, OpenWebText, Stories: 160 GB",
            "dynamic: a new mask every time a sequence is fed",
            "no: NSP removed, inputs are full sentences packed to 512 tokens",
            "byte-level BPE, 50,265 pieces (no unknown token)",
            "8,000 sequences × 500K steps",
            "arXiv:1907.11692",
        ],
    },
    index=["Data", "Masking", "Next-sentence prediction", "Tokenizer", "Batch × steps", "Source"],
)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()][:MAX_SENTENCES]


def _heatmap(matrix: np.ndarray, names: list[str], title: str) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=names,
            y=names,
            zmin=-1 if matrix.min() < 0 else 0,
            zmax=1,
            colorscale="Viridis",
            texttemplate="%{z:.2f}",
            colorbar=dict(title="cosine"),
        )
    )
    fig.update_layout(title=title, **LAYOUT)
    fig.update_xaxes(title_text="sentence")
    fig.update_yaxes(title_text="sentence", autorange="reversed")
    return fig


# --- cached computations ---------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def _tokens(key: str, text: str, _handle) -> tuple[list[tokenization.Span], dict]:
    with _handle.lock:
        tok = _handle.tokenizer
        tokens = tokenization.tokenize(tok, text, split_special_tokens=True)
        s = tokenization.stats(text, tokens, tok.unk_token_id)
    spans = tokenization.align(text, tokens, show_special=True)
    return spans, {"tokens": s.content_tokens, "unknown": s.unknown, "vocab": len(tok)}


@st.cache_data(show_spinner="Running the encoder on your sentences…", max_entries=16)
def _word_vectors(key: str, sentences: tuple[str, ...], word: str, _handle) -> dict:
    wv = emb.word_vectors(_handle, list(sentences), word)
    return {
        "sentences": wv.sentences,
        "pieces": wv.pieces,
        "missing": wv.missing,
        "contextual": emb.cosine_matrix(wv.contextual).numpy() if wv.sentences else None,
        "static": emb.cosine_matrix(wv.static).numpy() if wv.sentences else None,
    }


@st.cache_data(show_spinner="Embedding your sentences…", max_entries=16)
def _similarity(key: str, sentences: tuple[str, ...], _handle) -> np.ndarray:
    return emb.sentence_similarity(_handle, list(sentences)).numpy()


@st.cache_data(show_spinner=False, max_entries=16)
def _mask_demo(text: str, epochs: int, copies: int, selection: str, seed: int, _handle) -> dict:
    with _handle.lock:
        tok = _handle.tokenizer
        enc = tok(
            text,
            split_special_tokens=True,
            truncation=True,
            max_length=48,
            return_special_tokens_mask=True,
            return_tensors="pt",
        )
    ids = enc["input_ids"][0]  # (T,)
    special = enc["special_tokens_mask"][0].bool()  # (T,)
    cfg = masking.MaskConfig(selection=selection)
    args = (ids, special, len(tok), tok.mask_token_id)
    out: dict = {"original": tok.convert_ids_to_tokens(ids.tolist())}
    for strategy in ("static", "dynamic"):
        sched = masking.ScheduleConfig(strategy, epochs, copies, seed)
        masks = masking.epoch_masks(*args, sched, cfg)
        out[strategy] = {
            "rows": [
                (tok.convert_ids_to_tokens(m.input_ids.tolist()), m.action.tolist()) for m in masks
            ],
            "coverage": masking.coverage(masks, special),
        }
    out["stats"] = masking.measure(*args, draws=2_000, seed=seed, cfg=cfg)
    return out


@st.cache_resource(show_spinner="Loading the masked-LM model from the Hub…", max_entries=2)
def _mlm(key: str) -> tuple:
    tok, model = fm.load_mlm(key)
    return tok, model, threading.RLock()  # one lock per shared model


@st.cache_data(show_spinner=False)
def _sample_rows() -> list:
    return read_rows(SAMPLE)


def _mask_rows_html(rows: list, original: list[str]) -> str:
    parts = []
    for epoch, (pieces, action) in enumerate(rows, start=1):
        labels = [ACTION_LABELS.get(a, "") for a in action]
        titles = [f"original: {o}" for o in original]
        muted = [i for i, a in enumerate(action) if a == masking.NOT_SELECTED]
        row = token_spans_html(pieces, titles, muted=muted, labels=labels)
        # Pieces carry no spaces between them: give the browser a place to wrap long rows.
        row = row.replace("</span><span", "</span>\u200b<span")
        parts.append(f'<div style="font-size:0.8em;color:#6b7280">epoch {epoch}</div>{row}')
    return "".join(parts)


def _curve(job) -> None:
    points = [m for m in job.snapshot() if "val_acc" in m]
    if not points:
        st.caption("The first evaluation appears after about a sixteenth of the budget.")
        return
    df = pd.DataFrame(points)
    fig = go.Figure()
    for split_name, dash in (("train", "dot"), ("val", "solid")):
        fig.add_trace(
            go.Scatter(
                x=df["elapsed_s"],
                y=df[f"{split_name}_acc"],
                name=f"{split_name} accuracy",
                line=dict(dash=dash, color="#dc2626"),
                mode="lines+markers",
            )
        )
    fig.update_layout(**{**LAYOUT, "height": 260})
    fig.update_xaxes(title_text="seconds of training")
    fig.update_yaxes(title_text="accuracy", range=[0, 1])
    st.plotly_chart(fig, width="stretch")
    last = points[-1]
    st.caption(f"step {last['step']} · val accuracy {last['val_acc']:.1%}")


# --- page ----------------------------------------------------------------------------------

st.title("BERT & RoBERTa")
lesson, table = st.columns([2, 3], gap="large")
with lesson:
    st.markdown(
        "**BERT** (2018) pre-trains a Transformer *encoder* on two tasks: guess the 15% of tokens "
        "that were hidden (**masked language modelling**) and tell whether sentence B really "
        "followed sentence A (**next-sentence prediction**). Every token sees the whole "
        "sentence, left and right, so its output vector depends on its context.\n\n"
        "**RoBERTa** (2019) kept the architecture and changed the *recipe*: 10× the data, a new "
        "mask each time a sequence is seen, no NSP, a byte-level BPE vocabulary, much larger "
        "batches and longer training. Same model, better numbers on every benchmark it tried. "
        "Each row of the table is demonstrated below."
    )
with table:
    st.table(COMPARISON)

# --- tokenizers ----------------------------------------------------------------------------
st.header("WordPiece vs byte-level BPE")
left, right = st.columns([2, 3], gap="large")
with left:
    st.markdown(
        "BERT's **WordPiece** splits words into pieces from a 30k vocabulary (`##` marks a "
        "continuation); a character it has never seen becomes **[UNK]**: that text is lost. "
        "RoBERTa's **byte-level BPE** starts from the 256 bytes, so every string can be spelled "
        "(`Ġ` marks a leading space): no unknown token exists.\n\n"
        "MiniLM uses bert-base-uncased's WordPiece vocabulary. RoBERTa's own tokenizer needs "
        "the Hub; offline, SmolLM2's byte-level BPE shows the same behaviour."
    )
    text = guarded_text(
        "Text to tokenize",
        "Tokenizers 🤗 don't agree: naïve café-goers say “supercalifragilistic” 🚀!",
        key="bert_tok_text",
        max_chars=500,
        height=90,
    )
with right:
    if text.empty:
        empty_hint("a sentence (try emoji or another script)")
    else:
        bpe_key = "roberta-base" if registry.get_choice("roberta-base").available() else None
        keys = ["minilm-embedded", bpe_key or "smollm2-embedded"]
        cols = st.columns(2)
        for col, key in zip(cols, keys, strict=True):
            with col:
                handle = get_tokenizer(key)
                spans, s = _tokens(key, text.text, _handle=handle)
                st.markdown(f"**{handle.choice.label}** · {handle.choice.tokenizer_algo}")
                c1, c2 = st.columns(2)
                c1.metric("Tokens", s["tokens"])
                c2.metric("Unknown [UNK]", s["unknown"])
                muted = [i for i, sp in enumerate(spans) if sp.kind != "token"]
                st.html(token_spans_html([sp.text for sp in spans], muted=muted, show_ws=True))
                st.caption(f"vocabulary {s['vocab']:,} · grey: gaps and added special tokens")

# --- contextual embeddings -----------------------------------------------------------------
handle = get_model("encoder")
st.header("Contextual embeddings: one word, many vectors")
left, right = st.columns([2, 3], gap="large")
with left:
    st.markdown(
        "The **input** vector of a word is a row of the embedding table: the same in every "
        "sentence. The **output** vector (last layer) has attended to its neighbours, so *bank* "
        "by a river and *bank* with an account move apart. Words split into pieces get the "
        "mean of their pieces."
    )
    word = guarded_text("Word", "bank", key="bert_word", area=False, max_chars=40)
    sentences_in = guarded_text(
        f"Sentences containing it (one per line, up to {MAX_SENTENCES})",
        "We had a picnic on the river bank.\nI opened a savings account at the bank.\n"
        "The bank raised its interest rates.\nYou can bank on me.",
        key="bert_word_sentences",
        max_chars=1_500,
        height=140,
    )
with right:
    sentences = _lines(sentences_in.text)
    if word.empty or not sentences:
        empty_hint("a word and a few sentences that use it")
    else:
        out = _word_vectors(handle.choice.key, tuple(sentences), word.text, _handle=handle)
        if out["missing"]:
            st.caption(
                f":material/info: {len(out['missing'])} sentence(s) do not contain the word "
                "(whole word, any case) and are left out."
            )
        if not out["sentences"]:
            st.warning("The word appears in none of the sentences.", icon=":material/search:")
        else:
            names = [f"S{i + 1}" for i in range(len(out["sentences"]))]
            st.dataframe(
                pd.DataFrame(
                    {
                        "sentence": out["sentences"],
                        "pieces of the word": [" ".join(p) for p in out["pieces"]],
                    },
                    index=names,
                ),
                width="stretch",
            )
            c1, c2 = st.columns(2)
            c1.plotly_chart(
                _heatmap(out["contextual"], names, "Output (contextual) vectors"),
                width="stretch",
            )
            c2.plotly_chart(
                _heatmap(out["static"], names, "Input (static) embeddings"), width="stretch"
            )
            n = len(names)
            if n > 1:
                off = out["contextual"][~np.eye(n, dtype=bool)]
                st.caption(
                    f"Contextual cosine between sentences: {off.min():.2f} to {off.max():.2f}; "
                    "the input embeddings are identical (1.00) wherever the word has the same "
                    f"pieces. Model: {handle.choice.label}, last of its "
                    f"{handle.model.config.num_hidden_layers} layers."
                )

st.subheader("Sentence similarity")
left, right = st.columns([2, 3], gap="large")
with left:
    st.markdown(
        "Average all the output vectors of a sentence (**mean pooling**) and you get one vector "
        "per sentence. MiniLM was trained so that paraphrases land close together: the cosine "
        "ranks meaning, not shared words."
    )
    sim_in = guarded_text(
        f"Sentences (one per line, up to {MAX_SENTENCES})",
        "A man is playing a guitar.\nSomeone strums an acoustic guitar.\n"
        "The stock market fell sharply today.\nShares dropped at the close of trading.",
        key="bert_sim_sentences",
        max_chars=1_500,
        height=140,
    )
with right:
    sim_sentences = _lines(sim_in.text)
    if len(sim_sentences) < 2:
        empty_hint("at least two sentences, one per line")
    else:
        names = [f"S{i + 1}" for i in range(len(sim_sentences))]
        matrix = _similarity(handle.choice.key, tuple(sim_sentences), _handle=handle)
        st.plotly_chart(
            _heatmap(matrix, names, "Cosine of mean-pooled embeddings"), width="stretch"
        )
        st.dataframe(pd.DataFrame({"sentence": sim_sentences}, index=names), width="stretch")

# --- masking -------------------------------------------------------------------------------
st.header("Masking: 80 / 10 / 10, static vs dynamic")
left, right = st.columns([2, 3], gap="large")
with left:
    st.markdown(
        "BERT picks **15%** of the tokens as targets; of those **80%** become `[MASK]`, **10%** "
        "a random token and **10%** stay as they are (the model must check every token, since "
        "fine-tuning text has no `[MASK]`). Special tokens are never picked.\n\n"
        "**Static** (BERT): the data is masked once during preprocessing, so every epoch shows "
        "the same mask (RoBERTa's static baseline used 10 copies, each seen 4 times). "
        "**Dynamic** (RoBERTa): a fresh mask every epoch, so far more positions get trained."
    )
    mask_text = guarded_text(
        "Sentence (first 48 tokens)",
        "The quick brown fox jumps over the lazy dog while the farmer sleeps under an old tree.",
        key="bert_mask_text",
        max_chars=400,
        height=80,
    )
    c1, c2 = st.columns(2)
    epochs = c1.slider("Epochs", 4, 8, 6, key="bert_mask_epochs")
    copies = c2.select_slider("Static copies", [1, 2, 4], value=1, key="bert_mask_copies")
    selection = st.radio(
        "Selection",
        ["exact", "bernoulli"],
        format_func=lambda s: {
            "exact": "exactly 15% per sequence (BERT's script)",
            "bernoulli": "each token with p = 15% (Hugging Face collator)",
        }[s],
        key="bert_mask_selection",
    )
    seed = st.number_input("Seed", 0, 10_000, 0, key="bert_mask_seed")
with right:
    if mask_text.empty:
        empty_hint("a sentence to mask")
    else:
        tok_handle = get_tokenizer("minilm-embedded")
        demo = _mask_demo(mask_text.text, epochs, copies, selection, int(seed), _handle=tok_handle)
        for strategy in ("static", "dynamic"):
            cov = demo[strategy]["coverage"]
            st.markdown(f"**{strategy.capitalize()}** · one row per epoch")
            st.html(_mask_rows_html(demo[strategy]["rows"], demo["original"]))
            st.caption(
                f"{cov.distinct_masks} distinct mask(s) in {epochs} epochs · "
                f"{cov.ever_target:.0%} of positions were a target at least once · "
                "grey: not a target; labels: MASK, rand(om) or same (unchanged)"
            )
        fig = go.Figure()
        for strategy, colour in (("static", "#2563eb"), ("dynamic", "#dc2626")):
            fig.add_trace(
                go.Bar(
                    x=list(range(len(demo["original"]))),
                    y=demo[strategy]["coverage"].times_target,
                    name=strategy,
                    marker_color=colour,
                )
            )
        fig.update_layout(barmode="group", title="How often each position was a target", **LAYOUT)
        fig.update_xaxes(title_text="token position (0 = [CLS])")
        fig.update_yaxes(title_text="epochs as a target")
        st.plotly_chart(fig, width="stretch")
        s = demo["stats"]
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Targets", f"{s.selected:.1%}", help="of maskable tokens, over 2,000 draws")
        m2.metric("→ [MASK]", f"{s.masked:.1%}")
        m3.metric("→ random", f"{s.random:.1%}")
        m4.metric("→ unchanged", f"{s.unchanged:.1%}")
        st.caption(
            f"Measured over {s.draws:,} masks of this sentence; special tokens picked: "
            f"{s.special_selected}. With exact selection a short sentence gets round(15% of n) "
            "targets, so its share can differ from 15%."
        )

# --- fill-mask -----------------------------------------------------------------------------
st.header("Fill-mask: BERT and RoBERTa side by side")
reasons = {k: fm.unavailable_reason(k) for k in fm.MLM_KEYS}
if all(reasons.values()):
    st.info(reasons[fm.MLM_KEYS[0]], icon=":material/wifi_off:")
else:
    fill_text = guarded_text(
        "A sentence with [MASK]",
        "The capital of France is [MASK].",
        key="bert_fill_text",
        area=False,
        max_chars=500,
    )
    if fill_text.empty:
        empty_hint("a sentence with [MASK] in it")
    else:
        for col, key in zip(st.columns(len(fm.MLM_KEYS)), fm.MLM_KEYS, strict=True):
            with col:
                st.markdown(f"**{registry.get_choice(key).label}**")
                if reasons[key]:
                    st.info(reasons[key], icon=":material/wifi_off:")
                    continue
                try:
                    tok, model, lock = _mlm(key)
                    with lock:
                        guesses = fm.fill_mask(tok, model, fill_text.text)
                except fm.FillMaskError as exc:
                    st.warning(str(exc), icon=":material/error:")
                    continue
                for n, row in enumerate(guesses, start=1):
                    st.dataframe(
                        pd.DataFrame(
                            {"guess": [g.token for g in row], "probability": [g.prob for g in row]}
                        ),
                        hide_index=True,
                        key=f"bert_fill_{key}_{n}",
                        column_config={
                            "probability": st.column_config.ProgressColumn(
                                f"P at mask {n}", min_value=0.0, max_value=1.0
                            )
                        },
                    )

# --- fine-tuning ---------------------------------------------------------------------------
st.header("Why pre-training matters: fine-tune MiniLM vs train from scratch")
left, right = st.columns([2, 3], gap="large")
with left:
    st.markdown(
        "The payoff of BERT-style pre-training: a pre-trained encoder needs little labelled "
        "data. Both runs below get the **same 300 built-in reviews**, the **same validation "
        "split** and the **same time budget**: a small transformer from random weights, and "
        "MiniLM with a new 2-class head (mean pooling, learning rate 5e-5). They queue for the "
        "compute slot and run one after the other."
    )
with right:
    budget = st.slider("Time budget per run (seconds)", 10, 180, 30, step=5, key="bert_ft_budget")
    st.caption(
        "A MiniLM step costs about 25× a from-scratch step (measured on 2 CPU cores: ~7 vs "
        "~170 examples/s). Its learning rate warms up over 30 steps, so on a CPU give it a few "
        "minutes to overtake; on a GPU, seconds."
    )
    if st.button("Train both", type="primary", icon=":material/play_arrow:", key="bert_ft_go"):
        rows = _sample_rows()
        for arch in ("scratch", "minilm"):

            def work(job, arch=arch, rows=rows, budget=budget):
                def progress(frac: float) -> None:
                    job.report(progress=frac, message=f"training {arch}")

                # A second under the job's hard limit: the run ends on its own, with results.
                return sent.run_training(
                    rows, arch, "small", budget - 1, job.check, lambda r: job.log(**r), progress
                )

            ui_jobs.start(FT_JOBS[arch], f"bert-finetune-{arch}", work, budget_s=budget)

ft_jobs = {arch: ui_jobs.current(key) for arch, key in FT_JOBS.items()}
if not any(ft_jobs.values()):
    st.info("Pick a budget and press Train both.", icon=":material/play_arrow:")
else:
    cols = st.columns(2)
    for col, (arch, key) in zip(cols, FT_JOBS.items(), strict=True):
        with col:
            st.markdown(f"**{FT_NAMES[arch]}**")
            ui_jobs.live_job(key, _curve)
    done = {a: j.result for a, j in ft_jobs.items() if j and isinstance(j.result, sent.Trained)}
    if len(done) == 2:
        fig = go.Figure()
        for arch, trained in done.items():
            hist = pd.DataFrame(trained.fit.history)
            fig.add_trace(
                go.Scatter(
                    x=hist["elapsed_s"],
                    y=hist["val_acc"],
                    name=FT_NAMES[arch],
                    mode="lines+markers",
                )
            )
        fig.update_layout(title="Validation accuracy, same split, same budget", **LAYOUT)
        fig.update_xaxes(title_text="seconds of training")
        fig.update_yaxes(title_text="validation accuracy", range=[0, 1])
        st.plotly_chart(fig, width="stretch")
        metric_cols = st.columns(6)
        for n, (arch, trained) in enumerate(done.items()):
            best = trained.fit.best or {}
            metric_cols[3 * n].metric(f"{arch}: best val accuracy", f"{best.get('val_acc', 0):.1%}")
            metric_cols[3 * n + 1].metric(f"{arch}: steps", f"{trained.fit.steps:,}")
            metric_cols[3 * n + 2].metric(
                f"{arch}: examples / s", f"{trained.fit.examples_per_s:,.0f}"
            )

show_code(
    masking.mask_tokens,
    masking.epoch_masks,
    masking.measure,
    emb.word_vectors,
    emb.sentence_similarity,
    fm.fill_mask,
    sent.run_training,
)
