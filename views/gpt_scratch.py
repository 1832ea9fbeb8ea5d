"""Project 4: a character-level GPT written from scratch. The page opens on the model that
`make prepare` trained with the project's own command and samples from it at once; Train trains
more live; checkpoints download and reload."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from figures import gpt_scratch as fig
from lessons import char_lm
from models import network
from models.gpt import model as gm
from models.gpt import prepared
from models.gpt.data import CharData, DataError, decode_text, fetch_hub_text
from models.gpt.model import GPT, MODEL_PRESETS, Block, CausalSelfAttention
from models.gpt.trainer import live_train, plain_step, preset, resume_config
from models.handle import private_copy
from models.textguard import guard_text
from ui.models import get_model
from ui.page import header, lazy_tabs, on_handle, page_keys, store, stored
from ui.training import busy_slot, prepared_note, training_panel
from ui.widgets import empty_hint, guarded_text, show_code

k = page_keys("gpt_scratch")
TEXTS = Path(__file__).resolve().parents[1] / "assets" / "text"
PLAY = prepared.DATA.read_text(encoding="utf-8")
MAX_UPLOAD, MAX_TEXT, MAX_CKPT = 2_000_000, 2_000_000, 60_000_000
LESSON = (
    "A GPT is a stack of **blocks** over token + position embeddings. Each block is "
    "**causal self-attention** (every position mixes in the positions *before* it: a "
    "lower-triangular mask sets the future's scores to −∞ before the softmax), then an **MLP** "
    "on each position alone; both sit on a residual stream with **LayerNorm before** each "
    "sub-layer (pre-LN, as in GPT-2), and the output head **shares its matrix** with the token "
    "embedding. It reads characters and learns to predict the next one: the loss starts at "
    "**ln V** (a uniform guess over the V characters) and every drop below it is learnt.\n\n"
    "The page trains with a plain PyTorch loop (it can stop between any two steps); the command "
    "line trains **the same model with Lightning** (devices, bf16, DDP across GPUs and nodes):\n"
    "```bash\npython -m models.gpt train --data input.txt --out out/gpt --preset baby\n"
    "python -m models.gpt train --data input.txt --preset small --device cuda --devices 8 "
    '--strategy ddp\npython -m models.gpt sample --model out/gpt --prompt "MARA:" --tokens 300\n'
    "python -m models.gpt overhead --data input.txt --preset baby --iters 100\n```\n"
    "Presets follow nanoGPT: `baby` is its CPU run (4 layers × 4 heads × 128 wide, context 64), "
    "`small` its one-GPU Shakespeare run (6 × 6 × 384, context 256); `tiny` is smaller still."
)


@on_handle(max_entries=4)
def measured(handle, text: str) -> tuple[char_lm.Assessment, char_lm.Assessment]:
    return char_lm.compare(handle.model, handle.tokenizer, text)  # 3 seeds, trained vs untrained


@on_handle(max_entries=64)
def sampled(handle, prompt: str, n: int, temp: float, top_k: int, seed: int, fresh: bool) -> str:
    model = char_lm.untrained_like(handle.model) if fresh else handle.model
    return char_lm.sample(model, handle.tokenizer, prompt, n, temp, top_k, seed)


controls = header("Project 4: GPT from scratch", LESSON)
with controls:
    prompt = guarded_text("Prompt", "MARA:\n", key=k("prompt"), max_chars=500, height=68)
    s1, s2, s3 = st.columns(3)
    temp = s1.slider("Temperature", 0.0, 2.0, 0.8, 0.05, key=k("temp"), help="0 = greedy")
    top_k = s2.slider("Top-k (0 = all)", 0, 60, 0, key=k("top_k"))
    n_chars = s3.slider("Characters", 20, 1000, 200, step=20, key=k("chars"))


def sampler(model: GPT, chars: list[str], key: str, lock=None) -> None:
    """Sample from a model the session owns (trained live or reloaded), on a button press."""
    unknown = sorted(set(prompt.text) - set(chars))
    if unknown:
        st.caption(f"Not in this model's vocabulary, dropped: {' '.join(map(repr, unknown[:20]))}")
    if st.button("Sample", key=k(f"sample::{key}"), icon=":material/auto_awesome:"):
        with busy_slot(10, "sampling") as ok:
            if ok:
                out = char_lm.sample(model, chars, prompt.text, n_chars, temp, top_k, None, lock)
                store(k(f"out::{key}"), out)
    if (out := stored(k(f"out::{key}"))) is not None:
        st.code(out, language=None, wrap_lines=True)


def choose_text() -> tuple[str | None, str]:
    """The training text the user picked, or None (with the reason shown)."""
    kinds = ["Built-in text", "Paste text", "Upload a .txt file", "Hub dataset"]
    source = st.radio("Training text", kinds, horizontal=True, key=k("source"))
    if source == kinds[0]:
        path = st.selectbox("Text", sorted(TEXTS.glob("*.txt")), format_func=lambda p: p.stem,
                            key=k("builtin"))  # fmt: skip
        return path.read_text(encoding="utf-8"), path.stem
    if source == kinds[1]:
        pasted = guarded_text("A few thousand characters (more text, better model)", "",
                              key=k("paste"), max_chars=200_000, height=120)  # fmt: skip
        if pasted.empty:
            empty_hint("or paste some text")
            return None, ""
        return pasted.text, "pasted text"
    if source == kinds[2]:
        up = st.file_uploader("A UTF-8 .txt file (up to 2 MB)", type=["txt"], key=k("upload"))
        if up is None:
            st.info("Upload a plain-text file to train on it.", icon=":material/upload_file:")
            return None, ""
        try:
            if up.size > MAX_UPLOAD:
                raise DataError(f"{up.name} is {up.size:,} bytes; the limit is {MAX_UPLOAD:,}")
            guarded = guard_text(decode_text(up.getvalue(), name=up.name), max_chars=MAX_TEXT)
        except DataError as exc:
            st.warning(str(exc), icon=":material/block:")
            return None, ""
        for notice in guarded.notices:
            st.caption(f":material/info: {notice}")
        return guarded.text, up.name
    if not network.is_online():
        st.warning("Offline: Hub datasets are unavailable. Use a built-in text, paste or upload.",
                   icon=":material/cloud_off:")  # fmt: skip
        return None, ""
    name = guarded_text("Dataset", "roneneldan/TinyStories", key=k("hub_name"), area=False)
    column = guarded_text("Text column", "text", key=k("hub_col"), area=False)
    if st.button("Fetch the first 1 MB of text", key=k("hub_fetch")):
        try:
            with st.spinner("Streaming rows from the Hub…"):
                text = fetch_hub_text(name.text.strip(), column=column.text.strip())
            store(k("hub_text"), (guard_text(text, MAX_TEXT).text, name.text.strip()))
        except DataError as exc:
            st.warning(str(exc), icon=":material/cloud_off:")
    return stored(k("hub_text"), (None, ""))


def prepared_tab() -> None:
    if not prepared_note(prepared.NAME):
        return
    handle = get_model("char-gpt")
    with busy_slot(10, "opening the model") as ok:
        if not ok:
            return
        trained, untrained = measured(handle, PLAY)
        shown = [sampled(handle, prompt.text, n_chars, temp, top_k, 0, fresh) for fresh in (0, 1)]
    m = st.columns(4)
    m[0].metric("Validation loss", f"{trained.val_loss:.2f}",
                f"{trained.val_loss - trained.uniform:+.2f} vs guessing (ln V = "
                f"{trained.uniform:.2f})", delta_color="inverse")  # fmt: skip
    m[1].metric("Real words in its samples", f"{trained.words_mean:.0%}",
                f"±{trained.words_spread / 2:.0%} over 3 seeds", delta_color="off")  # fmt: skip
    m[2].metric("Untrained, same shape", f"{untrained.words_mean:.0%}",
                f"validation loss {untrained.val_loss:.2f}", delta_color="off")  # fmt: skip
    m[3].metric(f"Copied in runs of ≥ {char_lm.COPY_RUN:,} characters",
                f"{trained.copied_mean:.0%}", "of its samples, verbatim from the play",
                delta_color="off")  # fmt: skip
    left, right = st.columns(2)
    left.markdown(f"**Trained** ({handle.params:,} parameters), seed 0")
    left.code(shown[0], language=None, wrap_lines=True)
    right.markdown("**Same shape, random weights**, seed 0")
    right.code(shown[1], language=None, wrap_lines=True)
    sampler(handle.model, handle.tokenizer, "prepared", handle.lock)


def train_tab() -> None:
    text, label = choose_text()
    c1, c2, c3 = st.columns(3)
    name = c1.selectbox("Preset", ["tiny", "baby"], key=k("preset"))
    budget = c2.slider("Time budget (s)", 10, 300, 60, step=5, key=k("budget"))
    every = c3.slider("Sample every N steps", 50, 1000, 200, step=50, key=k("every"))
    data = None
    if text is not None:
        try:
            data = CharData.from_text(text, MODEL_PRESETS[name]["block_size"])
        except DataError as exc:
            st.warning(str(exc), icon=":material/block:")
    if data is None:
        return
    model_cfg, cfg = preset(name, data.vocab_size)
    init, can_resume = None, name == "baby" and text == PLAY and prepared.ready()
    if st.toggle("Start from the prepared model", key=k("resume"), disabled=not can_resume,
                 help="Baby preset on the built-in play, once `make prepare` has run"):  # fmt: skip
        init, cfg = private_copy(get_model("char-gpt")).model, resume_config(cfg)
    st.caption(
        f"{label}: {len(text):,} characters, vocabulary of {data.vocab_size:,} · train "
        f"{len(data.train):,} / validation {len(data.val):,} · {model_cfg.n_layer} layers × "
        f"{model_cfg.n_head} heads × {model_cfg.n_embd} wide, context {model_cfg.block_size} · "
        f"{sum(p.numel() for p in GPT(model_cfg).parameters()):,} parameters · batch "
        f"{cfg.batch_size}, evaluated every {cfg.eval_interval:,} steps"
    )
    uniform = char_lm.uniform_loss(data.vocab_size)
    result = training_panel(
        k("train"),
        work=lambda rep, d=data, mc=model_cfg, c=cfg, i=init: live_train(
            rep, d, mc, c, sample_every=every, init=i
        ),
        budget_s=budget,
        name=f"GPT {name} on {label}",
        idle_text="Pick a text and a preset, then press Train.",
        curves=lambda rows: fig.loss_curves(rows, uniform),
        caption=fig.caption,
        extra=show_sample,
    )
    if result is not None:
        store(k("live"), (result.model, result.chars, f"trained live for {result.iters:,} steps"))
        sampler(result.model, result.chars, "live")


def show_sample(rows) -> None:
    if (latest := fig.latest_sample(rows)) is not None:
        step, text, n = latest
        st.markdown(f"**Sample at step {step:,}** (temperature 0.8; {n:,} so far)")
        st.code(text, language=None)


def checkpoint_tab() -> None:
    live = stored(k("live"))
    if live is not None:
        model, chars, origin = live
        st.download_button("Download the live model (.zip: safetensors + config + vocab)",
                           data=gm.checkpoint_zip(model, chars), file_name="gpt_scratch.zip",
                           mime="application/zip", key=k("download"),
                           icon=":material/download:")  # fmt: skip
        st.caption(f"The live model: {origin}.")
    else:
        st.info("Train a model in **Train live** to download it.", icon=":material/model_training:")
    up = st.file_uploader("Reload a checkpoint zip", type=["zip"], key=k("ckpt"))
    if up is not None:
        try:
            if up.size > MAX_CKPT:
                raise gm.CheckpointError(f"{up.name} is {up.size:,} bytes; limit {MAX_CKPT:,}")
            model, chars = gm.load_checkpoint_zip(up.getvalue())
            st.caption(f"Loaded {up.name}: {model.config.n_layer} layers, "
                       f"context {model.config.block_size}, {len(chars):,} characters")  # fmt: skip
            sampler(model, chars, "reloaded")
        except gm.CheckpointError as exc:
            st.warning(str(exc), icon=":material/block:")


tabs = lazy_tabs(["The prepared model", "Train live", "Save & reload"], k("tabs"))
for tab, body in zip(tabs, (prepared_tab, train_tab, checkpoint_tab), strict=True):
    if tab.open:
        with tab:
            body()

show_code(CausalSelfAttention, Block, GPT.forward, GPT.generate, plain_step, char_lm.assess)
