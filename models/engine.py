"""Chat decoding engines: llama.cpp on the GGUF for speed, transformers for everything else.

Why two: decoding at batch 1 is memory-bound. transformers' eager fp32 `generate` reads all
~513 MiB of SmolLM2's dequantized weights per token and pays Python overhead per layer
(~10-15 tokens/s on 2 cores); llama.cpp reads the ~85 MiB Q4_1 GGUF with fused SIMD kernels.
Pages that need internals (attention, logits, hidden states) keep using the transformers model;
streamed answers go through `engine_for(handle)`.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lessons.sampling import GenConfig
from models import embedded

HARD_MAX_NEW_TOKENS = 512


@dataclass
class StreamStats:
    new_tokens: int = 0
    seconds: float = 0.0
    stopped_by: str = ""  # eos | max_new_tokens | time_budget | stopped

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


class Engine(Protocol):
    name: str

    def stream(
        self,
        messages: list[dict[str, str]],
        cfg: GenConfig,
        stats: StreamStats,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]: ...


_probe = {"at": -1e9, "ok": False}
PROBE_EVERY_S = 15.0  # how often a missing llama.cpp is looked for again (it may be building)


def llama_cpp_available() -> bool:
    """Is llama-cpp-python importable? Re-checked every 15 s while it is not: set-up builds it
    in the background, and the app picks it up on the next answer once it lands."""
    if _probe["ok"]:
        return True
    now = time.monotonic()
    if now - _probe["at"] < PROBE_EVERY_S:
        return False
    _probe["at"] = now
    importlib.invalidate_caches()  # a package installed after start-up is found
    try:
        import llama_cpp  # noqa: F401
    except Exception:
        return False
    _probe["ok"] = True
    return True


def build_state() -> str:
    """The background build's state, from scripts/engine_build.py's status file."""
    try:
        return json.loads((Path(sys.prefix) / "engine-build.json").read_text()).get("state", "")
    except (OSError, ValueError):
        return ""


def status_line() -> str:
    """One line for the sidebar: which engine streams answers, and why."""
    if llama_cpp_available():
        return "llama.cpp"
    if build_state() == "building":
        return "transformers (llama.cpp is building in the background)"
    return "transformers (llama.cpp not installed)"


class LlamaCppEngine:
    """llama.cpp (llama-cpp-python) on the packaged GGUF file. One context, guarded by a lock.

    The prompt is templated and tokenized by the transformers tokenizer, so both engines see the
    same token ids (llama.cpp's own chat formatting added a second BOS and changed answers)."""

    def __init__(self, gguf_path: str, tokenizer: Any, n_ctx: int = 4096):
        from llama_cpp import Llama

        self.name = "llama.cpp (Q4_1 GGUF)"
        self.tokenizer = tokenizer
        self.lock = threading.Lock()
        self.llm = Llama(
            model_path=gguf_path,
            n_ctx=n_ctx,
            n_threads=max(1, os.cpu_count() or 1),
            verbose=False,
        )

    def next_token_logits(self, ids: list[int]) -> list[float]:
        """llama.cpp's logits for the token after `ids` (for parity checks with transformers)."""
        with self.lock:
            import numpy as np

            self.llm.reset()
            self.llm.eval(ids)  # only the last position's logits are computed
            row = np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))
            return row.tolist()

    def close(self) -> None:
        self.llm.close()

    def stream(self, messages, cfg, stats, should_stop=lambda: False):
        max_new = max(1, min(int(cfg.max_new_tokens), HARD_MAX_NEW_TOKENS))
        with self.lock:
            start = time.perf_counter()
            stats.stopped_by = "max_new_tokens"
            ids = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=True, return_dict=False
            )
            chunks = self.llm.create_completion(
                prompt=list(ids),
                max_tokens=max_new,
                temperature=max(cfg.temperature, 0.0),
                top_k=cfg.top_k if cfg.top_k > 0 else 0,
                top_p=cfg.top_p,
                repeat_penalty=cfg.repetition_penalty,
                seed=cfg.seed,
                stream=True,
            )
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    piece = choice.get("text")
                    if piece:
                        stats.new_tokens += 1
                        stats.seconds = time.perf_counter() - start
                        yield piece
                    if choice.get("finish_reason") == "stop":
                        stats.stopped_by = "eos"
                    if should_stop():
                        stats.stopped_by = "stopped"
                        break
                    if time.perf_counter() - start > cfg.time_budget_s:
                        stats.stopped_by = "time_budget"
                        break
            finally:
                close = getattr(chunks, "close", None)
                if close:
                    close()
                stats.seconds = time.perf_counter() - start


class TransformersEngine:
    """Any causal LM handle: `generate` in a thread, text pieces through a streamer."""

    def __init__(self, handle: Any):
        self.handle = handle
        self.name = f"transformers {handle.model.dtype} generate"

    def stream(self, messages, cfg, stats, should_stop=lambda: False):
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        from lessons.chat import generate_kwargs

        h = self.handle
        max_new = max(1, min(int(cfg.max_new_tokens), HARD_MAX_NEW_TOKENS))
        start = time.perf_counter()

        class _Stop(StoppingCriteria):
            fired = ""

            def __call__(self, input_ids, scores, **kw):
                if should_stop():
                    _Stop.fired = "stopped"
                elif time.perf_counter() - start > cfg.time_budget_s:
                    _Stop.fired = "time_budget"
                done = bool(_Stop.fired)
                return torch.full((input_ids.shape[0],), done, dtype=torch.bool)

        with h.lock:
            enc = h.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            streamer = TextIteratorStreamer(h.tokenizer, skip_prompt=True, skip_special_tokens=True)
            kwargs = dict(
                **{k: v.to(h.model.device) for k, v in enc.items()},
                max_new_tokens=max_new,
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_Stop()]),
                pad_token_id=h.tokenizer.pad_token_id or h.tokenizer.eos_token_id,
            )
            kwargs.update(generate_kwargs(cfg))
            result: dict[str, Any] = {}

            def run() -> None:
                # Seed a forked RNG: the sampled answer repeats, the global generator is untouched.
                with torch.inference_mode(), torch.random.fork_rng(devices=[]):
                    torch.manual_seed(cfg.seed)
                    result["ids"] = h.model.generate(**kwargs)

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            for piece in streamer:
                if piece:
                    yield piece
            worker.join()
            n_prompt = enc["input_ids"].shape[1]
            new = result["ids"][0, n_prompt:].tolist() if "ids" in result else []
            stats.new_tokens = len(new)
            stats.seconds = time.perf_counter() - start
            eos = h.tokenizer.eos_token_id
            stats.stopped_by = _Stop.fired or (
                "eos" if new and new[-1] == eos else "max_new_tokens"
            )


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


@atexit.register
def _close_engines() -> None:
    # Free llama.cpp contexts before interpreter teardown (its __del__ fails late in shutdown).
    for eng in list(_engines.values()):
        close = getattr(eng, "close", None)
        if close:
            close()
    _engines.clear()


def engine_for(handle: Any, prefer_fast: bool = True) -> Engine:
    """The fastest engine that serves this handle's model (cached per process)."""
    key = handle.choice.key
    gguf = embedded.smollm2_gguf() if key == "smollm2-embedded" else None
    use_llama = prefer_fast and gguf is not None and llama_cpp_available()
    cache_key = f"{key}:{'llama' if use_llama else 'hf'}"
    with _engines_lock:
        if cache_key not in _engines:
            _engines[cache_key] = (
                LlamaCppEngine(str(gguf), handle.tokenizer)
                if use_llama
                else TransformersEngine(handle)
            )
        return _engines[cache_key]
