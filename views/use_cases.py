"""Use cases: translation, question answering, generation, classification and NER on your text.

Offline, two small embedded models do all five: MiniLM embeddings (extractive QA, zero-shot
classification) and SmolLM2-135M-Instruct prompted for the rest. With the network, task models
trained for one job (Marian, SQuAD, SST-2, CoNLL NER) can be picked per tab.
"""

from __future__ import annotations

import html
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from lessons import chat
from lessons import use_cases as uc
from models import loader, network, registry
from ui.models import get_model
from ui.widgets import empty_hint, guarded_text, show_code

MAX_TOKENS_KEY = "uc::max_new_tokens"  # tests set this low to stay fast
BUDGET_KEY = "uc::time_budget"
TASK_TOKENS = {"translate": 128, "qa": 64, "continue": 64, "summary": 96, "classify": 12, "ner": 96}
EMBEDDED = "embedded"


# ---- optional task models from the Hub ------------------------------------------------------


@dataclass(frozen=True)
class TaskModel:
    repo: str
    label: str
    kind: str  # "seq2seq" | "qa" | "seq-cls" | "token-cls"
    note: str

    def available(self) -> bool:
        return network.is_online() or registry.hub_cached(self.repo)


HUB_MODELS: dict[str, list[TaskModel]] = {
    "translate": [
        TaskModel("Helsinki-NLP/opus-mt-en-de", "Marian opus-mt en→de (Hub)", "seq2seq",
                  "An encoder-decoder trained on English→German only (74M params)."),
        TaskModel("Helsinki-NLP/opus-mt-en-fr", "Marian opus-mt en→fr (Hub)", "seq2seq",
                  "An encoder-decoder trained on English→French only (75M params)."),
    ],
    "qa": [
        TaskModel("distilbert/distilbert-base-cased-distilled-squad", "DistilBERT SQuAD (Hub)",
                  "qa", "Start/end logits over the passage tokens; returns the best span."),
    ],
    "sentiment": [
        TaskModel("distilbert/distilbert-base-uncased-finetuned-sst-2-english",
                  "DistilBERT SST-2 (Hub)", "seq-cls",
                  "A classification head trained on movie-review sentences."),
    ],
    "ner": [
        TaskModel("dslim/bert-base-NER", "BERT base NER (Hub)", "token-cls",
                  "Per-token BIO tags (PER, ORG, LOC, MISC) trained on CoNLL-2003; no dates."),
    ],
}  # fmt: skip
_BY_REPO = {m.repo: m for models in HUB_MODELS.values() for m in models}


@dataclass
class TaskHandle:  # the fields the lesson functions use, like models.loader.Loaded
    tokenizer: Any
    model: Any
    lock: threading.RLock


@st.cache_resource(show_spinner=False, max_entries=3)
def _load_task_model(repo: str, kind: str) -> TaskHandle:
    import transformers as tf

    cls = {
        "seq2seq": tf.AutoModelForSeq2SeqLM,
        "qa": tf.AutoModelForQuestionAnswering,
        "seq-cls": tf.AutoModelForSequenceClassification,
        "token-cls": tf.AutoModelForTokenClassification,
    }[kind]
    model = cls.from_pretrained(repo).eval().to(loader.device())
    return TaskHandle(tf.AutoTokenizer.from_pretrained(repo), model, threading.RLock())


def _backend_select(task: str, embedded_label: str) -> str:
    options = [EMBEDDED] + [m.repo for m in HUB_MODELS.get(task, [])]

    def fmt(key: str) -> str:
        if key == EMBEDDED:
            return embedded_label
        m = _BY_REPO[key]
        return m.label + ("" if m.available() else " — unavailable offline")

    return st.selectbox("Model", options, format_func=fmt, key=f"uc::{task}::backend")


def _task_handle(key: str) -> tuple[TaskHandle, TaskModel] | None:
    """The chosen Hub task model, or None (with a message saying why) for the embedded path."""
    if key == EMBEDDED:
        return None
    m = _BY_REPO[key]
    if not m.available():
        st.warning(
            f"{m.label} needs the Hugging Face Hub, which is unreachable "
            f"({network.detect().reason}), and it is not in the local cache. "
            "The embedded model answered instead.",
            icon=":material/wifi_off:",
        )
        return None
    try:
        with st.spinner(f"Loading {m.label}…"):
            return _load_task_model(m.repo, m.kind), m
    except Exception as exc:  # network drop, disk full, missing tokenizer package …
        st.error(
            f"Could not load {m.label}: {type(exc).__name__}: {exc}. "
            "The embedded model answered instead."
        )
        return None


# ---- cached model calls (keyed on the text and the model key, never on the handle) ----------


def _gen_cfg(task: str, sample: bool = False, temperature: float = 0.7) -> chat.GenConfig:
    cap = int(st.session_state.get(MAX_TOKENS_KEY, 128))
    return chat.GenConfig(
        max_new_tokens=min(TASK_TOKENS[task], cap),
        time_budget_s=float(st.session_state.get(BUDGET_KEY, 20)),
        do_sample=sample,
        temperature=temperature,
    )


@st.cache_data(show_spinner=False, max_entries=256)
def _chat_cached(
    model_key: str, messages: list[dict[str, str]], cfg: chat.GenConfig, _handle: Any
) -> chat.ChatResult:
    return chat.chat(_handle, messages, cfg)


@st.cache_data(show_spinner=False, max_entries=128)
def _complete_cached(
    model_key: str, prompt: str, cfg: chat.GenConfig, _handle: Any
) -> chat.ChatResult:
    return chat.complete(_handle, prompt, cfg)


def _ask(handle: Any, messages: list[dict[str, str]], cfg: chat.GenConfig) -> chat.ChatResult:
    try:
        r = _chat_cached(handle.choice.key, messages, cfg, handle)
    except ValueError as exc:  # e.g. a Hub model whose tokenizer has no chat template
        st.error(f"{handle.choice.label} cannot chat: {exc}")
        st.stop()
    if r.hit_time_budget:  # a busy machine cut it short: let the next Run try again
        _chat_cached.clear(handle.choice.key, messages, cfg, handle)
    return r


@st.cache_data(show_spinner=False, max_entries=128)
def _zero_shot_cached(
    model_key: str, text: str, labels: list[str], template: str, _handle: Any
) -> uc.ZeroShotResult:
    return uc.zero_shot(_handle, text, labels, uc.ZeroShotConfig(template=template))


@st.cache_data(show_spinner=False, max_entries=128)
def _rank_cached(
    model_key: str, question: str, passage: str, _handle: Any
) -> list[uc.RankedSentence]:
    return uc.rank_sentences(_handle, question, passage)


# ---- rendering helpers ----------------------------------------------------------------------


def _md(text: str) -> str:
    """Backslash-escape markdown so a typed label like '**x**' or '[a](b)' shows as typed."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~<>$:])", r"\\\1", text)


def _who(handle: Any) -> dict[str, str]:
    c = handle.choice
    return {"label": c.label, "source": "embedded, offline" if c.source == "embedded" else "Hub"}


def _answered_by(who: dict[str, str], r: chat.ChatResult | None = None) -> None:
    speed = ""
    if r is not None:
        speed = f" · {r.new_tokens} new tokens in {r.seconds:.1f} s ({r.tokens_per_s:.1f} tokens/s)"
    st.caption(f":material/smart_toy: Answered by **{who['label']}** ({who['source']}){speed}")
    if r is not None and r.hit_time_budget:
        st.warning(
            f"Stopped by the {st.session_state.get(BUDGET_KEY, 20)} s time budget after "
            f"{r.new_tokens} tokens: the answer is cut short. Raise the budget above or Run again.",
            icon=":material/timer:",
        )
    elif r is not None and r.stopped_by == "max_new_tokens":
        st.caption(f"Stopped at the {r.new_tokens}-token cap; the answer may be cut short.")


def _raw(r: chat.ChatResult) -> None:
    with st.expander("Raw model output and the prompt it saw", icon=":material/data_object:"):
        st.code(r.text or "(empty)", language=None, wrap_lines=True)
        st.caption(f"Prompt ({r.prompt_tokens} tokens, chat template applied):")
        st.code(r.prompt_text, language=None, wrap_lines=True)


def _store(task: str, **result: Any) -> None:
    st.session_state[f"uc::{task}::result"] = result


def _stored(task: str) -> dict | None:
    return st.session_state.get(f"uc::{task}::result")


def _run_button(task: str) -> bool:
    return st.button("Run", key=f"uc::{task}::run", type="primary", icon=":material/play_arrow:")


def _elapsed(res: dict) -> None:
    st.caption(f":material/schedule: {res['seconds']:.1f} s from Run to result.")


def _bar(labels: list[str], values: list[float], x_title: str, fmt: str = ".2f") -> go.Figure:
    names = [html.escape(s[:60]) for s in labels]  # plotly reads tags in text; escape them
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            text=[f"{v:{fmt}}" for v in values],
            textposition="auto",
            marker_color="#60a5fa",
        )
    )
    fig.update_layout(
        xaxis_title=x_title,
        yaxis={"title": "", "autorange": "reversed"},
        height=90 + 32 * len(labels),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
    )
    return fig


# ---- page -----------------------------------------------------------------------------------

st.title("What transformers are used for")
intro, limits = st.columns([3, 2])
intro.markdown(
    "Five jobs, each live on your text. Offline everything runs on two small embedded models: "
    "**MiniLM-L6** (an encoder: sentence embeddings) and **SmolLM2-135M-Instruct** (a decoder "
    "you talk to through its chat template). Each tab has its own **Run** button, says which "
    "model answered, and shows the raw output. With the network, each tab can use a model "
    "trained for that one task instead: compare them to see what scale and task data buy."
)
with limits:
    st.slider(
        "Max new tokens per answer",
        4,
        128,
        128,
        key=MAX_TOKENS_KEY,
        help="Each task has its own cap (≤ 128); this lowers all of them.",
    )
    st.slider(
        "Time budget per answer (s)",
        5,
        60,
        20,
        key=BUDGET_KEY,
        help="Generation stops after this long, with a notice.",
    )

tabs = st.tabs(
    [
        "Machine translation",
        "Question answering",
        "Text generation",
        "Text classification",
        "Named entity recognition",
    ]
)

# ---- 1. translation -------------------------------------------------------------------------
with tabs[0]:
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "**Encoder-decoder** models were built for this (the 2017 Transformer paper): the "
            "encoder reads the source, the decoder writes the target token by token, attending "
            "to the source. A chat model does it by being **asked**: the instruction and the "
            "text are one prompt, the translation is the continuation."
        )
        st.caption(
            ":material/warning: SmolLM2-135M saw mostly English: its French or German is often "
            "wrong, drifts or invents content. Short Python → JavaScript functions come out "
            "better. A Marian model (Hub), trained on one language pair, is far better."
        )
    with left:
        mode = st.radio("Translate", ["Text", "Code"], horizontal=True, key="uc::tr::mode")
        if mode == "Text":
            text = guarded_text(
                "Text",
                "The weather is nice today, so we are going to the beach.",
                key="uc::tr::text",
                height=100,
            )
            c1, c2 = st.columns(2)
            src = c1.selectbox("From", uc.LANGUAGES, index=0, key="uc::tr::src")
            tgt = c2.selectbox("To", uc.LANGUAGES, index=1, key="uc::tr::tgt")
            backend = _backend_select("translate", "SmolLM2 / sidebar chat model, prompted")
        else:
            text = guarded_text(
                "Code",
                "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
                key="uc::tr::code",
                height=140,
            )
            c1, c2 = st.columns(2)
            src = c1.selectbox("From", uc.CODE_LANGUAGES, index=0, key="uc::tr::csrc")
            tgt = c2.selectbox("To", uc.CODE_LANGUAGES, index=1, key="uc::tr::ctgt")
            backend = EMBEDDED
        run = _run_button("translate")
    if text.empty:
        empty_hint("some text to translate")
    elif run:
        t0 = time.perf_counter()
        hub = _task_handle(backend) if mode == "Text" else None
        if hub:
            th, m = hub
            out = uc.seq2seq_generate(th, text.text, _gen_cfg("translate").max_new_tokens)
            who = {"label": m.label, "source": "Hub"}
            _store(
                "translate",
                mode=mode,
                out=out,
                who=who,
                r=None,
                hub_note=m.note,
                seconds=time.perf_counter() - t0,
            )
        else:
            handle = get_model("chat")
            msgs = (uc.translation_messages if mode == "Text" else uc.code_translation_messages)(
                text.text, src, tgt
            )
            r = _ask(handle, msgs, _gen_cfg("translate"))
            _store(
                "translate",
                mode=mode,
                out=r.text,
                who=_who(handle),
                r=r,
                hub_note=None,
                seconds=time.perf_counter() - t0,
            )
    res = _stored("translate")
    if res and not text.empty:
        st.markdown(f"**{res['mode']} translation**")
        if res["mode"] == "Code":
            st.code(res["out"] or "(empty answer)", wrap_lines=True)
        else:
            st.code(res["out"] or "(empty answer)", language=None, wrap_lines=True)
        _answered_by(res["who"], res["r"])
        if res["hub_note"]:
            st.caption(res["hub_note"] + " It ignores the From/To boxes.")
        _elapsed(res)
        if res["r"] is not None:
            _raw(res["r"])
    show_code(uc.translation_messages, uc.code_translation_messages, chat.chat, chat.generate_ids)

# ---- 2. question answering ------------------------------------------------------------------
with tabs[1]:
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "**Extractive** QA points at the answer inside the passage. BERT-style readers "
            "(SQuAD) score every token as answer start and end. Offline we do a coarser version: "
            "embed the question and each passage sentence with MiniLM (mean pooling, unit "
            "length) and pick the sentence with the highest **cosine** similarity. "
            "**Generative** QA lets the instruct model write an answer from the passage."
        )
        st.caption(
            ":material/warning: Sentence ranking returns a whole sentence and can be fooled by "
            "word overlap; SmolLM2 sometimes answers from general knowledge instead of the "
            "passage, or repeats the question."
        )
    with left:
        passage = guarded_text(
            "Passage",
            "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was designed "
            "by the engineering company of Gustave Eiffel and completed in 1889 for the World's "
            "Fair. The tower is 330 metres tall, about the height of an 81-storey building. "
            "It was the tallest man-made structure in the world until 1930.",
            key="uc::qa::passage",
            height=140,
            max_chars=4000,
        )
        question = guarded_text(
            "Question",
            "How tall is the tower?",
            key="uc::qa::question",
            area=False,
            max_chars=300,
        )
        backend = _backend_select("qa", "MiniLM sentence ranking (encoder role)")
        run = _run_button("qa")
    if passage.empty or question.empty:
        empty_hint("a passage and a question")
    elif run:
        t0 = time.perf_counter()
        hub = _task_handle(backend)
        span, span_who, ranked, enc_who = None, None, None, None
        if hub:
            th, m = hub
            span, span_who = uc.squad_span(th, question.text, passage.text), m.label
        else:
            enc = get_model("encoder")
            ranked = _rank_cached(enc.choice.key, question.text, passage.text, enc)
            enc_who = _who(enc)
        lm = get_model("chat")
        r = _ask(lm, uc.qa_messages(passage.text, question.text), _gen_cfg("qa"))
        _store(
            "qa",
            passage=passage.text,
            span=span,
            span_who=span_who,
            ranked=ranked,
            enc_who=enc_who,
            r=r,
            lm_who=_who(lm),
            seconds=time.perf_counter() - t0,
        )
    res = _stored("qa")
    if res and not (passage.empty or question.empty):
        ext, gen = st.columns(2)
        with ext:
            st.markdown("**Extractive answer**")
            if res["span"] is not None:
                st.html(uc.highlight_html(res["passage"], [res["span"]], label="answer"))
                st.caption(f":material/smart_toy: Answered by **{res['span_who']}** (Hub)")
            elif not res["ranked"]:
                st.info("The passage has no sentences with letters or digits to rank.")
            else:
                best = res["ranked"][0]
                st.html(uc.highlight_html(res["passage"], [best.span], label="best"))
                _answered_by(res["enc_who"])
                top = res["ranked"][:6]
                st.plotly_chart(
                    _bar(
                        [t.span.text for t in top],
                        [t.score for t in top],
                        "cosine similarity to the question (−1 … 1)",
                    ),
                    key="uc::qa::chart",
                )
        with gen:
            st.markdown("**Generative answer**")
            st.code(res["r"].text or "(empty answer)", language=None, wrap_lines=True)
            _answered_by(res["lm_who"], res["r"])
            _raw(res["r"])
        _elapsed(res)
    show_code(uc.mean_pool, uc.embed, uc.split_sentences, uc.rank_sentences, uc.qa_messages)

# ---- 3. text generation ---------------------------------------------------------------------
with tabs[2]:
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "A **decoder** predicts the next token, appends it and repeats. *Continue* feeds "
            "your text raw (no chat template), which is what a base LM does; *Summarize* wraps "
            "the email in an instruction through the chat template. Greedy decoding always "
            "takes the likeliest token; sampling draws from the distribution (temperature)."
        )
        st.caption(
            ":material/warning: A 135M model's continuations wander and repeat; its summaries "
            "can drop key facts or add ones the email never said."
        )
    with left:
        mode = st.radio(
            "Task",
            ["Continue a prompt", "Summarize an email"],
            horizontal=True,
            key="uc::gen::mode",
        )
        if mode == "Continue a prompt":
            text = guarded_text(
                "Prompt",
                "The best way to learn a new language is",
                key="uc::gen::prompt",
                height=80,
            )
            c1, c2 = st.columns(2)
            sample = c1.toggle("Sample", value=False, key="uc::gen::sample")
            temp = c2.slider(
                "Temperature", 0.1, 1.5, 0.7, 0.1, key="uc::gen::temp", disabled=not sample
            )
        else:
            text = guarded_text(
                "Email",
                "Hi team,\n\nThe quarterly review moves from Tuesday to Thursday at 10:00 because "
                "the client can't make it earlier. Please send me your slides by Wednesday noon "
                "so I can merge them. Lunch will be provided.\n\nThanks,\nMaria",
                key="uc::gen::email",
                height=160,
            )
            sample, temp = False, 0.7
        st.caption("Model: the sidebar's *Causal chat LM*.")
        run = _run_button("generate")
    if text.empty:
        empty_hint("a prompt or an email")
    elif run:
        t0 = time.perf_counter()
        handle = get_model("chat")
        if mode == "Continue a prompt":
            cfg = _gen_cfg("continue", sample, temp)
            r = _complete_cached(handle.choice.key, text.text, cfg, handle)
            if r.hit_time_budget:
                _complete_cached.clear(handle.choice.key, text.text, cfg, handle)
        else:
            r = _ask(handle, uc.summary_messages(text.text), _gen_cfg("summary"))
        _store(
            "generate",
            mode=mode,
            prompt=text.text,
            r=r,
            who=_who(handle),
            seconds=time.perf_counter() - t0,
        )
    res = _stored("generate")
    if res and not text.empty:
        if res["mode"] == "Continue a prompt":
            st.html(
                '<div style="white-space:pre-wrap;line-height:1.6">'
                f"<span style='color:#6b7280'>{html.escape(res['prompt'])}</span> "
                f"<b>{html.escape(res['r'].text)}</b></div>"
            )
        else:
            st.markdown("**Summary**")
            st.code(res["r"].text or "(empty answer)", language=None, wrap_lines=True)
        _answered_by(res["who"], res["r"])
        _elapsed(res)
        _raw(res["r"])
    show_code(chat.encode_plain, chat.complete, uc.summary_messages, chat.TimeBudget)

# ---- 4. text classification -----------------------------------------------------------------
ZS_DEFAULTS = {
    "Sentiment": ("I absolutely loved this movie, the acting was wonderful!", "positive, negative",
                  "The sentiment of this text is {label}."),
    "Topic or spam": ("Congratulations! You won a free iPhone. Click here to claim your prize now!",
                      "spam, personal message, work", "This text is about {label}."),
}  # fmt: skip


@st.fragment
def _zero_shot_chart(res: uc.ZeroShotResult) -> None:
    """Temperature only re-scales stored cosines: no model runs when it moves."""
    t = st.slider(
        "Softmax temperature T",
        0.01,
        0.5,
        0.05,
        0.01,
        key="uc::cls::temp",
        help="probability = softmax(cosine / T) over your labels.",
    )
    probs = uc.softmax_t(res.cosines, t)
    best = res.labels[max(range(len(probs)), key=probs.__getitem__)]
    st.markdown(f"MiniLM zero-shot: **{_md(best)}**")
    st.plotly_chart(
        _bar(res.labels, probs, "probability (softmax of cosine / T)", ".0%"), key="uc::cls::chart"
    )
    st.caption(
        "Cosines: "
        + ", ".join(f"{_md(lab)} {c:+.3f}" for lab, c in zip(res.labels, res.cosines, strict=True))
    )


with tabs[3]:
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "A classifier is usually an **encoder** plus a small head trained on labelled "
            "examples. With no training at all (**zero-shot**), we embed the text and one "
            "sentence per label, *“This text is about {label}.”*, and softmax the cosine "
            "similarities. The instruct model is also asked to pick a label."
        )
        st.caption(
            ":material/warning: MiniLM's cosines differ by a few hundredths, so the answer "
            "depends on the label wording and the template, and negation ('not good') is often "
            "missed. SmolLM2 sometimes names no label at all; the raw answer is shown."
        )
    with left:
        mode = st.radio("Task", list(ZS_DEFAULTS), horizontal=True, key="uc::cls::mode")
        d_text, d_labels, d_tpl = ZS_DEFAULTS[mode]
        k = "sent" if mode == "Sentiment" else "topic"
        text = guarded_text("Text", d_text, key=f"uc::cls::{k}::text", height=90)
        labels_in = guarded_text(
            "Labels (comma-separated)",
            d_labels,
            key=f"uc::cls::{k}::labels",
            area=False,
            max_chars=400,
        )
        tpl_in = guarded_text(
            "Template",
            d_tpl,
            key=f"uc::cls::{k}::tpl",
            area=False,
            max_chars=200,
            help="{label} is replaced by each label.",
        )
        backend = (
            _backend_select("sentiment", "MiniLM zero-shot (encoder role)")
            if mode == "Sentiment"
            else EMBEDDED
        )
        run = _run_button("classify")
    labels = uc.parse_labels(labels_in.text)
    template = tpl_in.text.strip() or d_tpl
    if text.empty:
        empty_hint("a text to classify")
    elif not labels:
        empty_hint("at least one label (e.g. 'spam, work')")
    elif run:
        t0 = time.perf_counter()
        hub = _task_handle(backend)
        hub_scores, hub_who = None, None
        if hub:
            th, m = hub
            hub_scores, hub_who = uc.sequence_labels(th, text.text), m.label
        enc = get_model("encoder")
        zs = _zero_shot_cached(enc.choice.key, text.text, labels, template, enc)
        lm = get_model("chat")
        r = _ask(lm, uc.classify_messages(text.text, labels), _gen_cfg("classify"))
        _store(
            "classify",
            zs=zs,
            enc_who=_who(enc),
            r=r,
            lm_who=_who(lm),
            picked=uc.pick_label(r.text, labels),
            hub_scores=hub_scores,
            hub_who=hub_who,
            seconds=time.perf_counter() - t0,
        )
    res = _stored("classify")
    if res and not text.empty and labels:
        a, b = st.columns(2)
        with a:
            _zero_shot_chart(res["zs"])
            _answered_by(res["enc_who"])
            if res["hub_scores"]:
                st.markdown(
                    "**Task model:** "
                    + ", ".join(f"{_md(n)} {p:.0%}" for n, p in res["hub_scores"])
                )
                st.caption(f":material/smart_toy: Answered by **{res['hub_who']}** (Hub)")
        with b:
            if res["picked"]:
                st.markdown(f"Instruct model picks: **{_md(res['picked'])}**")
            else:
                st.markdown("Instruct model named **none** of your labels.")
            st.code(res["r"].text or "(empty answer)", language=None, wrap_lines=True)
            _answered_by(res["lm_who"], res["r"])
            _raw(res["r"])
        _elapsed(res)
    show_code(uc.hypothesis, uc.zero_shot, uc.softmax_t, uc.classify_messages, uc.pick_label)

# ---- 5. named entity recognition ------------------------------------------------------------
with tabs[4]:
    left, right = st.columns([3, 2])
    with right:
        st.markdown(
            "NER labels spans of text: **people, organisations, locations, dates**. Encoder "
            "models tag every token (B-PER, I-PER, O …). Offline we ask SmolLM2 for "
            "`TYPE: text` lines after one worked example, parse them (JSON too), find each "
            "entity in your text to get character offsets, and add dates from a regex."
        )
        st.caption(
            ":material/warning: SmolLM2 misses and mislabels entities, invents some that are "
            "not in the text (listed below) and sometimes copies the whole sentence."
        )
        legend = "".join(
            f'<mark style="background:{c};padding:1px 4px;margin-right:4px">{t}</mark>'
            for t, c in uc.ENTITY_COLORS.items()
        )
        st.html(legend)
    with left:
        text = guarded_text(
            "Text",
            "Tim Cook announced on 12 March 2024 that Apple will open a new office in Berlin. "
            "Angela Merkel visited the site with officials from Siemens on Monday.",
            key="uc::ner::text",
            height=110,
        )
        backend = _backend_select("ner", "SmolLM2 / sidebar chat model, prompted")
        run = _run_button("ner")
    if text.empty:
        empty_hint("a text with names, places or dates")
    elif run:
        t0 = time.perf_counter()
        hub = _task_handle(backend)
        if hub:
            th, m = hub
            spans = uc.token_entities(th, text.text)
            matched = uc.MatchedEntities(spans, [], [])
            _store(
                "ner",
                text=text.text,
                matched=matched,
                parsed=None,
                r=None,
                who={"label": m.label, "source": "Hub"},
                seconds=time.perf_counter() - t0,
            )
        else:
            handle = get_model("chat")
            r = _ask(handle, uc.ner_messages(text.text), _gen_cfg("ner"))
            parsed = uc.parse_entities(r.text)
            matched = uc.match_entities(text.text, parsed.entities)
            _store(
                "ner",
                text=text.text,
                matched=matched,
                parsed=parsed,
                r=r,
                who=_who(handle),
                seconds=time.perf_counter() - t0,
            )
    res = _stored("ner")
    if res and not text.empty:
        m = res["matched"]
        st.html(uc.highlight_html(res["text"], m.spans))
        _answered_by(res["who"], res["r"])
        if any(s.source == "regex" for s in m.spans):
            st.caption("Some DATE spans come from the date regex, not the model.")
        if m.spans:
            st.dataframe(
                [
                    {
                        "entity": s.text_in(res["text"]),
                        "type": s.label,
                        "found by": s.source,
                        "chars": f"{s.start}–{s.end}",
                    }
                    for s in m.spans
                ],
                hide_index=True,
            )
        else:
            st.info("No entity from the model was found in the text.")
        parsed = res["parsed"]
        if parsed is not None:
            st.caption(f"Parsed the answer as: {parsed.format}.")
            for p in parsed.problems:
                st.caption(f":material/error: {p}")
            if m.not_found:
                st.caption(
                    "Named by the model but **not in your text** (not highlighted): "
                    + ", ".join(f"{_md(e.text)} ({e.label})" for e in m.not_found)
                )
            if m.implausible:
                st.caption(
                    "Too long to be a name, skipped: "
                    + ", ".join(f"{_md(e.text[:60])} ({e.label})" for e in m.implausible)
                )
        _elapsed(res)
        if res["r"] is not None:
            _raw(res["r"])
    show_code(uc.ner_messages, uc.parse_entities, uc.match_entities, uc.highlight_html)
