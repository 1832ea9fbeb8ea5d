"""Project 4: a character-level GPT written from scratch, trained live, saved, reloaded, sampled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from models import jobs, network
from models.gpt.data import CharData, DataError, decode_text, fetch_hub_text
from models.gpt.model import (
    GPT,
    MODEL_PRESETS,
    Block,
    CausalSelfAttention,
    CheckpointError,
    checkpoint_zip,
    load_checkpoint_zip,
)
from models.gpt.trainer import live_train, plain_step, preset, sample_text
from models.textguard import guard_text
from ui import jobs as ui_jobs
from ui.widgets import empty_hint, guarded_text, show_code

KEY = "gpt_scratch"
TEXTS = Path(__file__).resolve().parents[1] / "assets" / "text"
MAX_UPLOAD_BYTES = 2_000_000  # ~2 MB of text: minutes of training on a CPU, plenty to learn
MAX_TEXT_CHARS = 2_000_000
MAX_CKPT_UPLOAD = 60_000_000

st.title("Project 4: GPT from scratch")

lesson, controls = st.columns([2, 3], gap="large")
with lesson:
    st.markdown(
        "A GPT is a stack of **blocks** over token + position embeddings. Each block is\n"
        "1. **causal self-attention** — every position mixes in the positions *before* it "
        "(a lower-triangular mask sets the future's scores to −∞ before the softmax);\n"
        "2. an **MLP** applied to each position on its own.\n\n"
        "Both sit on a residual stream with **LayerNorm before** each sub-layer (pre-LN, as in "
        "GPT-2), and the output head **shares its matrix** with the token embedding "
        "(weight tying). The model reads characters and is trained to predict the next one: "
        "the loss starts at ln(vocabulary size), i.e. guessing uniformly, and every drop below "
        "it is something learnt.\n\n"
        "Here the training loop is plain PyTorch (forward, backward, clip, AdamW) so the run "
        "can stop between any two steps. The command line trains **the same model with "
        "Lightning**, which handles devices, bf16 and multi-GPU/multi-node strategies:"
    )
    st.code(
        "python -m models.gpt train --data input.txt --out out/gpt --preset baby\n"
        "python -m models.gpt train --data input.txt --preset small --device cuda \\\n"
        "    --devices 8 --strategy ddp --compile\n"
        'python -m models.gpt sample --model out/gpt --prompt "MARA:" --tokens 300\n'
        "python -m models.gpt overhead --data input.txt --preset baby --iters 100",
        language="bash",
    )
    st.caption(
        "Presets follow nanoGPT: `baby` is its CPU run (4 layers × 4 heads × 128 wide, "
        "context 64), `small` its one-GPU Shakespeare run (6 × 6 × 384, context 256); `tiny` "
        "is smaller still so text appears within a minute here."
    )


def _choose_text() -> tuple[str | None, str]:
    """The training text the user picked, or None (with the reason already shown)."""
    source = st.radio(
        "Training text",
        ["Built-in play", "Paste text", "Upload a .txt file", "Hub dataset"],
        horizontal=True,
        key="gpt_source",
    )
    if source == "Built-in play":
        files = sorted(TEXTS.glob("*.txt"))
        path = st.selectbox("Text", files, format_func=lambda p: p.stem, key="gpt_builtin")
        return path.read_text(encoding="utf-8"), path.stem
    if source == "Paste text":
        guarded = guarded_text(
            "Paste a few thousand characters (more text, better model)",
            "",
            key="gpt_paste",
            max_chars=200_000,
            height=160,
        )
        if guarded.empty:
            empty_hint("or paste some text")
            return None, ""
        return guarded.text, "pasted text"
    if source == "Upload a .txt file":
        up = st.file_uploader("A UTF-8 .txt file (up to 2 MB)", type=["txt"], key="gpt_upload")
        if up is None:
            st.info("Upload a plain-text file to train on it.", icon=":material/upload_file:")
            return None, ""
        if up.size > MAX_UPLOAD_BYTES:
            st.error(f"{up.name} is {up.size:,} bytes; the limit here is {MAX_UPLOAD_BYTES:,}.")
            return None, ""
        try:
            text = decode_text(up.getvalue(), name=up.name)
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
            return None, ""
        guarded = guard_text(text, max_chars=MAX_TEXT_CHARS)
        for notice in guarded.notices:
            st.caption(f":material/info: {notice}")
        return guarded.text, up.name
    # Hub dataset
    if not network.is_online():
        st.warning(
            "Offline: Hub datasets are unavailable here. Use the built-in play, paste text or "
            "upload a file.",
            icon=":material/cloud_off:",
        )
        return None, ""
    name = guarded_text("Dataset", "roneneldan/TinyStories", key="gpt_hub_name", area=False)
    column = guarded_text("Text column", "text", key="gpt_hub_col", area=False)
    if st.button("Fetch the first 1 MB of text", key="gpt_hub_fetch"):
        with st.spinner("Streaming rows from the Hub…"):
            try:
                fetched = fetch_hub_text(name.text.strip(), column=column.text.strip())
                st.session_state["gpt_hub_text"] = (guard_text(fetched, MAX_TEXT_CHARS).text,
                                                    name.text.strip())  # fmt: skip
            except DataError as exc:
                st.error(str(exc), icon=":material/error:")
    return st.session_state.get("gpt_hub_text", (None, ""))


with controls:
    text, label = _choose_text()
    c1, c2, c3 = st.columns(3)
    name = c1.selectbox("Preset", ["tiny", "baby"], key="gpt_preset")
    budget = c2.slider("Time budget (s)", 10, 300, 60, step=5, key="gpt_budget")
    sample_every = c3.slider("Sample every N steps", 50, 1000, 200, step=50, key="gpt_every")
    data = None
    if text is not None:
        try:
            data = CharData.from_text(text, MODEL_PRESETS[name]["block_size"])
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
    if data is not None:
        model_cfg, train_cfg = preset(name, data.vocab_size)
        n_params = sum(p.numel() for p in GPT(model_cfg).parameters())
        st.caption(
            f"{label}: {len(text):,} characters, vocabulary of {data.vocab_size} · "
            f"train {len(data.train):,} / validation {len(data.val):,} · "
            f"{model_cfg.n_layer} layers × {model_cfg.n_head} heads × {model_cfg.n_embd} wide, "
            f"context {model_cfg.block_size}, {n_params:,} parameters · "
            f"batch {train_cfg.batch_size}, evaluate every {train_cfg.eval_interval} steps"
        )
        if st.button("Train", key="gpt_start", icon=":material/play_arrow:", type="primary"):

            def work(job: jobs.Job, data=data, model_cfg=model_cfg, train_cfg=train_cfg):
                return live_train(job, data, model_cfg, train_cfg, sample_every=sample_every)

            ui_jobs.start(KEY, f"GPT {name} on {label}", work, budget_s=budget)
            st.session_state.pop("gpt_loaded", None)


def _draw(job: jobs.Job) -> None:
    rows = job.snapshot()
    if not rows:
        return
    last = rows[-1]
    m = st.columns(4)
    m[0].metric("Step", last["iter"])
    m[1].metric("Validation loss", f"{last['val_loss']:.3f}")
    if "tokens_per_s" in last:
        m[2].metric("Tokens / s", f"{last['tokens_per_s']:,.0f}")
    if "mfu" in last:
        m[3].metric("MFU", f"{100 * last['mfu']:.1f} %", help="Of 989 TFLOP/s (H100/H200 bf16)")
    curves = pd.DataFrame(rows).set_index("iter")[["train_loss", "val_loss"]]
    st.line_chart(curves, x_label="step", y_label="loss (nats per character)")
    samples = [r for r in rows if r.get("sample")]
    if samples:
        st.markdown(f"**Sample at step {samples[-1]['iter']}** (temperature 0.8)")
        st.code(samples[-1]["sample"], language=None)
        if len(samples) > 1:
            with st.expander(f"All {len(samples)} samples"):
                for r in samples:
                    st.caption(f"step {r['iter']}")
                    st.code(r["sample"], language=None)


ui_jobs.live_job(KEY, _draw)

# --- the trained model: save, reload, sample -----------------------------------------------

job = ui_jobs.current(KEY)
trained = st.session_state.get("gpt_loaded")
if trained is None and job is not None and job.finished and job.result is not None:
    trained = (job.result.model, job.result.chars, f"trained {job.result.iters} steps")

st.subheader("Save, reload and sample")
left, right = st.columns(2)
with left:
    if trained is not None:
        model, chars, origin = trained
        cached = st.session_state.get("gpt_zip")
        if cached is None or cached[0] != id(model):  # zip once per model, not every rerun
            cached = (id(model), checkpoint_zip(model, chars))
            st.session_state["gpt_zip"] = cached
        st.download_button(
            "Download the checkpoint (.zip: safetensors + config + vocab)",
            data=cached[1],
            file_name="gpt_scratch.zip",
            mime="application/zip",
            key="gpt_download",
            icon=":material/download:",
        )
    up = st.file_uploader("Reload a checkpoint zip", type=["zip"], key="gpt_ckpt_upload")
    if up is not None:
        if up.size > MAX_CKPT_UPLOAD:
            st.error(f"{up.name} is {up.size:,} bytes; the limit is {MAX_CKPT_UPLOAD:,}.")
        else:
            try:
                model, chars = load_checkpoint_zip(up.getvalue())
                trained = (model, chars, f"loaded from {up.name}")
                st.session_state["gpt_loaded"] = trained
            except CheckpointError as exc:
                st.error(str(exc), icon=":material/error:")


@st.fragment
def _sampler(trained) -> None:
    model, chars, origin = trained
    st.caption(
        f"Model: {origin} · {model.config.n_layer} layers, context {model.config.block_size}"
    )
    prompt = guarded_text("Prompt", "\n", key="gpt_prompt", max_chars=500, height=68)
    unknown = sorted(set(prompt.text) - set(chars))
    if unknown:
        st.caption(f"Not in the vocabulary, dropped: {' '.join(map(repr, unknown))}")
    s1, s2, s3 = st.columns(3)
    temperature = s1.slider("Temperature", 0.0, 2.0, 0.8, 0.05, key="gpt_temp",
                            help="0 = always the most likely character")  # fmt: skip
    top_k = s2.slider("Top-k (0 = all)", 0, len(chars), 0, key="gpt_topk")
    tokens = s3.slider("Characters", 20, 1000, 300, step=20, key="gpt_tokens")
    if st.button("Sample", key="gpt_sample", icon=":material/auto_awesome:"):
        with jobs.slot(timeout=10) as got:
            if not got:
                st.warning("The machine is busy training; try again in a moment.")
                return
            out = sample_text(model, chars, prompt.text, tokens, temperature, top_k or None)
        st.code(out, language=None)


with right:
    if trained is None:
        st.info(
            "Train a model above (or reload a checkpoint) to sample from it.",
            icon=":material/model_training:",
        )
    else:
        _sampler(trained)

show_code(CausalSelfAttention, Block, GPT.forward, GPT.generate, plain_step)
