"""Project 6's model: the embedded SmolLM2 converted once into a LitGPT checkpoint, LitGPT's LoRA
GPT on it, the adapter switched off and on, held-out NLL and greedy answers."""

from __future__ import annotations

import contextlib
import io
import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from lessons import medqa as L
from models.handle import Handle
from models.medqa.data import ADAPTER, MODEL_NAME, Settings, merge_input

# --- the LitGPT checkpoint and model ------------------------------------------------------------


def checkpoint_dir() -> Path:
    """The embedded SmolLM2 as a LitGPT checkpoint (converted once, cached). Its folder is named
    after the model: LitGPT's tokenizer reads the name to know SmolLM2-Instruct uses a BOS."""
    from models import loader

    target = loader.cache_root() / "litgpt" / MODEL_NAME
    if (target / "COMPLETE").exists():
        return target
    model_dir = loader._smollm2_dir("model", loader._noop)
    tok_dir = loader._smollm2_dir("tokenizer", loader._noop)

    def build(out: Path) -> None:
        from litgpt.prompts import SmolLM2, save_prompt_style
        from litgpt.scripts.convert_hf_checkpoint import convert_hf_checkpoint

        for src in (
            *model_dir.glob("*.json"),
            model_dir / "model.safetensors",
            *tok_dir.glob("tokenizer*.json"),
        ):
            (out / src.name).symlink_to(src)  # the loader's cache is read, never written
        with contextlib.redirect_stdout(io.StringIO()):  # its pprint of the arguments
            convert_hf_checkpoint(out, model_name=MODEL_NAME)
        (out / "model.safetensors").unlink()  # only lit_model.pth is needed from here on
        save_prompt_style(SmolLM2(), out)

    if target.exists():
        import shutil

        shutil.rmtree(target)  # a half-built leftover
    return loader._atomic_dir(target, build)


def load(adapter: str | Path | None = None, settings: Settings | None = None) -> Handle:
    """A private LitGPT LoRA model on the converted SmolLM2 (+ a saved adapter), with its
    tokenizer, as a handle (own lock). `adapter` None: a fresh adapter (B = 0, the base model)."""
    from litgpt.lora import GPT, Config, mark_only_lora_as_trainable
    from litgpt.tokenizer import Tokenizer

    from models.registry import get_choice

    ckpt = checkpoint_dir()
    settings = with_adapter_shape(settings or Settings(), adapter)
    torch.manual_seed(settings.seed)
    config = Config.from_file(ckpt / "model_config.yaml", **settings.lora_config())
    model = GPT(config)
    base = torch.load(ckpt / "lit_model.pth", mmap=True, weights_only=True)
    model.load_state_dict(base, strict=False)
    if adapter is not None:
        model.load_state_dict(torch.load(Path(adapter) / ADAPTER, weights_only=True), strict=False)
    model.max_seq_length = settings.max_seq_length + settings.max_new_tokens
    mark_only_lora_as_trainable(model)
    model.eval()
    return Handle(
        get_choice("smollm2-embedded"),
        Tokenizer(ckpt),
        model,
        threading.RLock(),
        "cpu",
        private=True,
    )


def prepared_ready(choice) -> bool:
    from models import prepared

    return prepared.ready(choice.repo)


def load_prepared(choice):
    """(tokenizer, model) of the adapter `make prepare` trained, for the registry's loader."""
    from models import prepared

    handle = load(prepared.path(choice.repo))
    return handle.tokenizer, handle.model


def with_adapter_shape(settings: Settings, adapter: str | Path | None) -> Settings:
    """`settings` with the LoRA shape (r, alpha, dropout) of a saved adapter, if any."""
    if adapter is None:
        return settings
    saved = Settings(**json.loads((Path(adapter) / "settings.json").read_text()))
    return replace(
        settings, **{f: getattr(saved, f) for f in ("lora_r", "lora_alpha", "lora_dropout")}
    )


def trainable_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@contextlib.contextmanager
def adapter_off(model: torch.nn.Module):
    """Switch every LoRA update off (its scale to 0) for the block: the base model answers."""
    from litgpt.lora import LoRALayer

    layers = [m for m in model.modules() if isinstance(m, LoRALayer) and m.r > 0]
    scales = [m.scaling for m in layers]
    for m in layers:
        m.scaling = 0.0
    try:
        yield model
    finally:
        for m, s in zip(layers, scales, strict=True):
            m.scaling = s


def encode(handle: Handle, pairs: list[dict[str, str]], max_len: int) -> list[dict[str, Any]]:
    """LitGPT's SFT encoding: SmolLM2's chat prompt + the answer + EOS, the prompt masked."""
    from litgpt.data import SFTDataset
    from litgpt.prompts import SmolLM2

    ds = SFTDataset(
        pairs, handle.tokenizer, SmolLM2(), max_len, mask_prompt=True, transform=merge_input
    )
    return [ds[i] for i in range(len(ds))]


def pad_batch(rows: list[dict[str, Any]], max_len: int) -> dict[str, torch.Tensor]:
    from litgpt.data import get_sft_collate_fn

    return get_sft_collate_fn(max_seq_length=max_len)(rows)  # input_ids, labels: (B, T)


@torch.no_grad()
def nll(handle: Handle, rows: list[dict[str, Any]], max_len: int, base: bool = False) -> L.NLL:
    """Teacher-forced NLL of the reference answers (adapter on, or off with `base`)."""
    model = handle.model
    total = L.NLL(0.0, 0)
    with handle.lock, adapter_off(model) if base else contextlib.nullcontext():
        was = model.training
        model.eval()
        for i in range(0, len(rows), 8):
            b = pad_batch(rows[i : i + 8], max_len)
            total = total + L.answer_nll(model(b["input_ids"]), b["labels"])  # (B, T, V)
        model.train(was)
    return total


@torch.no_grad()
def answer(handle: Handle, question: str, max_new_tokens: int = 48, base: bool = False) -> str:
    """Greedy answer with LitGPT's `generate` (KV cache), adapter on or off."""
    from litgpt.generate.base import generate
    from litgpt.prompts import SmolLM2

    tok, model = handle.tokenizer, handle.model
    ids = tok.encode(SmolLM2().apply(question))[-(model.max_seq_length - max_new_tokens) :]
    with handle.lock, adapter_off(model) if base else contextlib.nullcontext():
        was = model.training
        model.eval()
        model.set_kv_cache(batch_size=1)
        try:
            out = generate(
                model,
                ids,
                ids.numel() + max_new_tokens,
                temperature=0.0,
                eos_id=tok.eos_id,
                include_prompt=False,
            )
        finally:
            model.clear_kv_cache()
            model.train(was)
    out = out[:-1] if out.numel() and int(out[-1]) == tok.eos_id else out
    return tok.decode(out.long()).strip()
