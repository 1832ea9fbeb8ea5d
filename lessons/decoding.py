"""Autoregressive decoding one token at a time, with a KV cache, on any causal LM.

A decoder-only model (GPT, Llama) maps a prefix x_0..x_{T-1} to logits for x_T. Generating is a
loop: run the model, turn the last position's logits into a distribution (lessons.sampling), pick
a token (argmax = greedy, or draw one), append it, repeat.

Why a KV cache: causal attention means the keys and values of x_0..x_{T-1} never change when a
token is appended, so we keep them (the `cache`, `past_key_values` before transformers 5) and
each step feeds only the new token: one (1, 1) forward instead of a (1, T) one. For T <= 256 on a
CPU recomputing the whole prefix would also do (SmolLM2-135M: about a second); the cache is what
`generate` does, and what makes a long answer linear instead of quadratic in work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from lessons import chat
from lessons.sampling import SamplingConfig, filter_logits

MAX_PROMPT_TOKENS = 192  # the user's text, before the chat template
MAX_CONTEXT = 256  # prompt + generated tokens on the step-by-step page


@dataclass
class Prompt:
    ids: list[int]  # what the model reads (template applied or not)
    cut_tokens: int = 0  # tokens of the user's text dropped to fit MAX_PROMPT_TOKENS


def encode_prompt(
    tokenizer: Any, text: str, chat_template: bool, max_tokens: int = MAX_PROMPT_TOKENS
) -> Prompt:
    """The prompt's token ids: raw continuation, or the text as a user turn of the chat template.

    Typed control strings ('<|im_start|>') are encoded as plain text in both modes, so the user
    cannot forge a turn (see lessons.chat).
    """
    body = tokenizer(text, split_special_tokens=True, add_special_tokens=False)["input_ids"]
    cut = max(0, len(body) - max_tokens)
    if cut:  # keep the start of the text, like the character cap does
        text = tokenizer.decode(body[:max_tokens])
    if chat_template:
        ids = chat.encode_chat(tokenizer, chat.build_messages(text))  # (1, T)
    else:
        ids = chat.encode_plain(tokenizer, text)  # (1, T)
    return Prompt(ids[0].tolist(), cut)


@dataclass
class Forward:
    logits: torch.Tensor  # (V,) for the token after the last one
    attention: torch.Tensor  # (L, H, T) the last token's attention over the whole prefix
    cache: Any  # transformers Cache holding the keys/values of all T tokens


@torch.inference_mode()
def forward(model: Any, ids: list[int], cache: Any = None) -> Forward:
    """Run the tokens of `ids` that are not in `cache` yet (all of them when cache is None)."""
    done = cache.get_seq_length() if cache is not None else 0
    if not 0 <= done < len(ids):
        raise ValueError(f"the cache covers {done} tokens but the text has {len(ids)}")
    new = torch.tensor([ids[done:]], device=model.device)  # (1, T - done)
    out = model(input_ids=new, cache=cache, use_cache=True, output_attentions=True)
    # out.attentions: one (1, H, T - done, T) per layer; the last query row is the newest token.
    attn = torch.stack([a[0, :, -1, :] for a in out.attentions])  # (L, H, T)
    return Forward(out.logits[0, -1].float().cpu(), attn.float().cpu(), out.cache)


@dataclass
class Pick:
    token: int
    prob: float  # under the distribution we picked from (after the knobs)
    prob_model: float  # under the model's own distribution
    greedy: bool
    candidates: list[tuple[int, float, float]]  # (id, p after knobs, p model), top by p model


def _processed(logits: torch.Tensor, prev_ids: list[int], cfg: SamplingConfig, greedy: bool):
    if greedy:  # generate(do_sample=False) still applies the repetition penalty, nothing else
        cfg = SamplingConfig(repetition_penalty=cfg.repetition_penalty)
    return filter_logits(logits, torch.tensor(prev_ids, dtype=torch.long), cfg)  # (V,)


def candidates(
    logits: torch.Tensor, prev_ids: list[int], cfg: SamplingConfig, greedy: bool, k: int = 10
) -> list[tuple[int, float, float]]:
    """(id, p to pick from, p model) of the k likeliest tokens under the model: the table of
    what the next step chooses between, without drawing anything."""
    probs = _processed(logits, prev_ids, cfg, greedy).softmax(dim=-1)  # (V,)
    model_probs = logits.float().softmax(dim=-1)  # (V,)
    top = torch.topk(model_probs, k).indices.tolist()  # k ids, likeliest first
    return [(i, float(probs[i]), float(model_probs[i])) for i in top]


def choose(
    logits: torch.Tensor,
    prev_ids: list[int],
    cfg: SamplingConfig,
    greedy: bool,
    generator: torch.Generator | None = None,
    k: int = 10,
) -> Pick:
    """Greedy = argmax of the penalised logits (temperature, top-k and top-p never change the
    argmax); sampling = one draw from softmax(filtered logits), exactly like `generate`."""
    z = _processed(logits, prev_ids, cfg, greedy)  # (V,)
    probs = z.softmax(dim=-1)  # (V,)
    if greedy:
        token = int(torch.argmax(z))
    else:  # (1, V) -> (1, 1): the same call generate makes, so a seeded run matches it
        token = int(torch.multinomial(probs[None], num_samples=1, generator=generator)[0, 0])
    model_probs = logits.float().softmax(dim=-1)  # (V,)
    cands = candidates(logits, prev_ids, cfg, greedy, k)
    return Pick(token, float(probs[token]), float(model_probs[token]), greedy, cands)


@dataclass
class Decoder:
    """Step-by-step state: the tokens so far, the KV cache and the next-token logits.

    After every step the new token has already been run, so `last` always holds the distribution
    for the next token and the attention of the newest one: one (1, 1) forward per step.
    `back()` undoes a step (the cache forgets the token, the generator rewinds), so stepping
    forward again picks the same token: a stepper can go both ways.
    """

    ids: list[int]
    n_prompt: int
    seed: int = 0
    last: Forward | None = None
    picks: list[Pick] = field(default_factory=list)
    generator: torch.Generator = field(default_factory=torch.Generator)
    # (the forward before each pick, the generator's state before its draw), one per pick
    history: list[tuple[Forward, torch.Tensor]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.generator.manual_seed(self.seed)

    @property
    def full(self) -> bool:
        return len(self.ids) >= MAX_CONTEXT

    def prime(self, model: Any) -> Forward:
        if self.last is None:
            self.last = forward(model, self.ids)  # the whole prompt once; fills the cache
        return self.last

    def step(self, model: Any, cfg: SamplingConfig, greedy: bool) -> Pick:
        last = self.prime(model)
        self.history.append((last, self.generator.get_state()))
        pick = choose(last.logits, self.ids, cfg, greedy, self.generator)
        self.ids.append(pick.token)
        self.picks.append(pick)
        self.last = forward(model, self.ids, last.cache)  # only the new token: (1, 1)
        return pick

    def back(self) -> bool:
        """Undo the last pick. Returns False when only the prompt is left."""
        if not self.picks:
            return False
        last, state = self.history.pop()
        self.ids.pop()
        self.picks.pop()
        last.cache.crop(-1)  # the cache is shared by every step: drop the undone token's k/v
        self.generator.set_state(state)
        self.last = last
        return True


def sink_stats(attention: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Attention sinks (Xiao et al. 2023): heads park weight on the first token when they have
    nothing better to attend to. Returns the head-mean weight on position 0 per layer (L,) and
    the fraction of layers whose head-mean attention peaks at position 0."""
    mean = attention.mean(dim=1)  # (L, T) mean over heads
    first = mean[:, 0]  # (L,)
    peaks = (mean.argmax(dim=-1) == 0).float().mean()  # ()
    return first, float(peaks)


def as_tensors(*arrays):
    """numpy arrays (as a page's cache holds them) back to tensors, sharing memory."""
    return tuple(torch.as_tensor(a) for a in arrays)
