"""Talking to a causal LM: chat template in, bounded `generate`, text and tokens/s out.

Reusable by any page: works for any causal LM handle (`models.handle.ModelHandle`) whose
tokenizer has a chat template (`chat`) or for plain continuation (`complete`). Every call holds the
handle's lock (fast tokenizers and shared modules are not thread-safe), runs under
`torch.inference_mode`, caps `max_new_tokens` and stops on a wall-clock budget, saying whether
eos, the cap or the clock ended it. The knobs are `lessons.sampling.GenConfig`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from lessons.sampling import GenConfig

HARD_MAX_NEW_TOKENS = 512  # no caller gets more, whatever it asks for


@dataclass
class ChatResult:
    text: str  # decoded new tokens, special tokens removed
    prompt_text: str  # what the model actually saw (template applied)
    prompt_tokens: int
    new_tokens: int
    seconds: float
    stopped_by: str  # "eos" | "max_new_tokens" | "time_budget"

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0

    @property
    def hit_time_budget(self) -> bool:
        return self.stopped_by == "time_budget"


def generate_kwargs(cfg: GenConfig) -> dict[str, Any]:
    """The sampling knobs of `cfg` as `model.generate` keywords."""
    if cfg.greedy:  # say so, or a model's sampling defaults warn on every call
        kw: dict[str, Any] = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        kw = dict(do_sample=True, temperature=cfg.temperature, top_p=cfg.top_p)
        kw["top_k"] = cfg.top_k or None
    if cfg.repetition_penalty != 1.0:
        kw["repetition_penalty"] = cfg.repetition_penalty
    return kw


class TimeBudget(StoppingCriteria):
    """Stop every sequence once `seconds` have passed; remember that it fired."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start = time.perf_counter()
        self.fired = False

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs) -> torch.BoolTensor:
        done = time.perf_counter() - self.start > self.seconds
        self.fired = self.fired or done
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


def build_messages(
    user: str, system: str | None = None, history: Sequence[tuple[str, str]] = ()
) -> list[dict[str, str]]:
    """[system?] + (user, assistant) turns + the new user turn, in the chat-template format."""
    messages = [{"role": "system", "content": system}] if system else []
    for asked, answered in history:
        messages += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
    messages.append({"role": "user", "content": user})
    return messages


def encode_chat(tokenizer: Any, messages: list[dict[str, str]]) -> torch.Tensor:
    """Token ids (1, T) of the templated conversation, ending with the assistant's turn header."""
    return encode_chats(tokenizer, [messages])["input_ids"]  # (1, T)


def encode_chats(tokenizer: Any, conversations: list[list[dict[str, str]]]) -> Any:
    """The templated conversations as one padded batch (`input_ids`, `attention_mask`: (B, T)),
    each ending with the assistant's turn header; padded on the tokenizer's padding side.

    `sanitize_control_tokens` encodes a typed '<|im_start|>' as plain text, so user input cannot
    forge a turn; only the template itself writes control tokens.
    """
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("This tokenizer has no chat template; use `complete` for plain text.")
    return tokenizer.apply_chat_template(
        conversations,
        add_generation_prompt=True,
        sanitize_control_tokens=True,
        padding=True,
        return_tensors="pt",
        return_dict=True,
    )


def encode_plain(tokenizer: Any, prompt: str) -> torch.Tensor:
    """Token ids (1, T) of raw text; special-token strings in it are split as ordinary text."""
    ids = tokenizer(prompt, split_special_tokens=True)["input_ids"]  # the tokenizer adds BOS or not
    if not ids and getattr(tokenizer, "bos_token_id", None) is not None:
        ids = [tokenizer.bos_token_id]  # a causal LM needs one token to condition on
    if not ids:
        raise ValueError("Nothing to continue: the prompt has no tokens.")
    return torch.tensor([ids])  # (1, T)


def generate_ids(handle: Any, input_ids: torch.Tensor, cfg: GenConfig) -> ChatResult:
    """Bounded generate on already-encoded ids. Call with `handle.lock` held."""
    model, tok = handle.model, handle.tokenizer
    max_new = max(1, min(int(cfg.max_new_tokens), HARD_MAX_NEW_TOKENS))
    # Leave room for the answer in the context window: keep the prompt's end (the question).
    ctx = getattr(model.config, "max_position_embeddings", None) or 2048
    input_ids = input_ids[:, -max(1, ctx - max_new) :]  # (1, T)
    input_ids = input_ids.to(model.device)
    budget = TimeBudget(cfg.time_budget_s)
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = tok.eos_token_id
    pad = tok.pad_token_id if tok.pad_token_id is not None else eos
    pad = pad[0] if isinstance(pad, list) else pad
    kwargs: dict[str, Any] = dict(
        max_new_tokens=max_new,
        pad_token_id=pad,
        stopping_criteria=StoppingCriteriaList([budget]),
        **generate_kwargs(cfg),
    )
    devices = [] if model.device.type != "cuda" else [model.device.index or 0]
    start = time.perf_counter()
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(cfg.seed)
        out = model.generate(
            input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **kwargs
        )  # (1, T + new)
    seconds = time.perf_counter() - start
    new = out[0, input_ids.shape[1] :].tolist()
    eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
    if new and new[-1] in eos_ids:
        stopped = "eos"
    elif budget.fired and len(new) < max_new:
        stopped = "time_budget"
    else:
        stopped = "max_new_tokens"
    return ChatResult(
        text=tok.decode(new, skip_special_tokens=True).strip(),
        prompt_text=tok.decode(input_ids[0].tolist(), skip_special_tokens=False),
        prompt_tokens=int(input_ids.shape[1]),
        new_tokens=len(new),
        seconds=seconds,
        stopped_by=stopped,
    )


def chat(handle: Any, messages: list[dict[str, str]], cfg: GenConfig | None = None) -> ChatResult:
    """Answer the last user message of `messages` with the handle's chat model."""
    cfg = cfg or GenConfig()
    with handle.lock:
        input_ids = encode_chat(handle.tokenizer, messages)  # (1, T)
        return generate_ids(handle, input_ids, cfg)


def ask(
    handle: Any, user: str, system: str | None = None, cfg: GenConfig | None = None
) -> ChatResult:
    """One-turn shorthand: `chat(handle, build_messages(user, system), cfg)`."""
    return chat(handle, build_messages(user, system), cfg)


def complete(handle: Any, prompt: str, cfg: GenConfig | None = None) -> ChatResult:
    """Continue raw text (no chat template): what a base LM does."""
    cfg = cfg or GenConfig()
    with handle.lock:
        input_ids = encode_plain(handle.tokenizer, prompt)  # (1, T)
        return generate_ids(handle, input_ids, cfg)
