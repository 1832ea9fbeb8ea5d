"""Attention, from a model's own weights: extract every layer's attention maps, recompute one head
by hand (Q, K, V -> QKᵀ -> scale -> mask -> softmax -> weighted sum of V), and summarise what each
head does (entropy, reach, first-token sink, previous-token) so special heads can be found.

Two families, every size read from `model.config`:
- BERT-like encoders (BertModel, RobertaModel): the hidden state entering layer L goes straight
  into `encoder.layer[L].attention.self.{query,key,value}`; the mask only hides padding, so every
  token sees every other token (bidirectional).
- Llama-like decoders (LlamaForCausalLM, Qwen2ForCausalLM): the hidden state is RMSNorm'd first
  (`input_layernorm`), q/k are rotated by RoPE, the few K/V heads are shared by groups of query
  heads (GQA, `repeat_kv`), and a causal mask hides the future.

No hooks and no mutation: shared models serve other sessions. The caller holds the model's lock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

Arch = Literal["encoder", "decoder"]
DEFAULT_SENTENCE = "The animal did not cross the street because it was too tired"


@dataclass(frozen=True)
class AttentionConfig:
    max_tokens: int = 256  # heatmaps and summaries; the sentence is cut to this many tokens
    bertviz_tokens: int = 64  # bertviz draws T² lines per head and slows down past a few hundred


@dataclass
class AttentionRun:
    arch: Arch
    tokens: list[str]  # the tokenizer's own pieces ('Ġanimal', '##ing', '[CLS]')
    input_ids: np.ndarray  # (T,)
    attentions: np.ndarray  # (L, H, T, T) float32: row = query token, column = key token
    hidden_states: np.ndarray  # (L+1, T, C) float32: [l] is what enters layer l
    n_tokens_in: int  # tokens before truncation
    truncated: bool

    @property
    def causal(self) -> bool:
        return self.arch == "decoder"


def detect_arch(model: Any) -> Arch:
    """Which re-derivation fits this model, judged by its module structure."""
    base = getattr(model, "base_model", model)
    if hasattr(getattr(base, "encoder", None), "layer"):
        attn = base.encoder.layer[0].attention.self
        if all(hasattr(attn, n) for n in ("query", "key", "value")):
            return "encoder"
    layers = getattr(base, "layers", None)
    projs = ("q_proj", "k_proj", "v_proj")
    if (
        layers is not None
        and hasattr(base, "rotary_emb")
        and all(hasattr(layers[0].self_attn, n) for n in projs)
    ):
        return "decoder"
    raise ValueError(
        f"{type(model).__name__} is neither BERT-like (encoder.layer[i].attention.self.query) "
        "nor Llama-like (layers[i].self_attn.q_proj with rotary embeddings); the step-through "
        "covers those two families."
    )


def run_attention(
    model: Any, tokenizer: Any, text: str, max_tokens: int = 256, arch: Arch | None = None
) -> AttentionRun:
    """One forward pass with `output_attentions`: every layer's attention weights, as numpy.
    `arch` says whether the model is causal; by default it is read from the module structure."""
    n_in = len(tokenizer(text, verbose=False)["input_ids"])
    enc = tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt")
    ids = enc["input_ids"].to(model.device)  # (1, T)
    if ids.shape[1] == 0:
        raise ValueError("The text produced no tokens.")
    mask = torch.ones_like(ids)  # (1, T): one unpadded sentence
    with torch.inference_mode():
        out = model(
            input_ids=ids, attention_mask=mask, output_attentions=True, output_hidden_states=True
        )
    if out.attentions is None or out.attentions[0] is None:
        raise ValueError("This model did not return attention weights (it needs eager attention).")
    attn = torch.stack([a[0] for a in out.attentions])  # (L, H, T, T)
    hidden = torch.stack([h[0] for h in out.hidden_states])  # (L+1, T, C)
    return AttentionRun(
        arch=arch or detect_arch(model),
        tokens=tokenizer.convert_ids_to_tokens(ids[0].tolist()),
        input_ids=ids[0].cpu().numpy(),
        attentions=attn.float().cpu().numpy(),
        hidden_states=hidden.float().cpu().numpy(),
        n_tokens_in=n_in,
        truncated=n_in > ids.shape[1],
    )


def first_tokens(run: AttentionRun, n: int) -> AttentionRun:
    """A decoder's run on its first n tokens, cut from a longer run: under the causal mask
    position i never sees tokens after i, so nothing changes. (An encoder's rows read every
    token, so cutting its map is *not* the same as a shorter run.)"""
    if not run.causal:
        raise ValueError("Only a causal run can be cut; run an encoder on fewer tokens instead.")
    return AttentionRun(
        arch=run.arch,
        tokens=run.tokens[:n],
        input_ids=run.input_ids[:n],
        attentions=np.ascontiguousarray(run.attentions[:, :, :n, :n]),  # (L, H, n, n)
        hidden_states=np.ascontiguousarray(run.hidden_states[:, :n]),  # (L+1, n, C)
        n_tokens_in=run.n_tokens_in,
        truncated=run.n_tokens_in > n,
    )


# ----------------------------------------------------------------------------------------------
# One head, step by step


@dataclass
class HeadSteps:
    layer: int
    head: int
    kv_head: int  # which K/V head this query head reads (GQA); == head without GQA
    group: int  # query heads sharing one K/V head (1 without GQA)
    scale: float  # 1/√head_dim
    q: np.ndarray  # (T, hs) queries (after RoPE for a decoder)
    k: np.ndarray  # (T, hs) keys (after RoPE for a decoder)
    v: np.ndarray  # (T, hs) values
    scores: np.ndarray  # (T, T) q·kᵀ
    scaled: np.ndarray  # (T, T) q·kᵀ / √hs
    masked: np.ndarray  # (T, T) -inf where a query may not look
    probs: np.ndarray  # (T, T) softmax over keys: each row sums to 1
    out: np.ndarray  # (T, hs) probs @ v: this head's slice of the attention output


def _softmax_steps(q, k, v, scale, allowed) -> dict[str, torch.Tensor]:
    """The attention formula itself, shared by both families. q, k, v: (T, hs)."""
    scores = q @ k.T  # (T, T)
    scaled = scores * scale  # (T, T) keeps logits O(1) whatever hs is
    masked = scaled.masked_fill(~allowed, float("-inf"))  # (T, T)
    probs = torch.softmax(masked, dim=-1)  # (T, T) exp(-inf) = 0 exactly
    out = probs @ v  # (T, hs)
    return {"scores": scores, "scaled": scaled, "masked": masked, "probs": probs, "out": out}


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()


def _np_all(steps: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {name: _np(t) for name, t in steps.items()}


def encoder_head_steps(
    model: Any, hidden_in: torch.Tensor, key_mask: torch.Tensor, layer: int, head: int
) -> HeadSteps:
    """BERT-like: hidden_in (T, C) is what enters layer `layer`; key_mask (T,) is 1 for real
    tokens, 0 for padding."""
    attn = model.base_model.encoder.layer[layer].attention.self
    n_head = model.config.num_attention_heads
    hs = model.config.hidden_size // n_head
    scale = float(getattr(attn, "scaling", hs**-0.5))
    sl = slice(head * hs, (head + 1) * hs)  # this head's columns of the fused projection
    with torch.inference_mode():
        x = hidden_in.to(attn.query.weight.device, attn.query.weight.dtype)  # (T, C)
        q = attn.query(x)[:, sl]  # (T, hs)
        k = attn.key(x)[:, sl]  # (T, hs)
        v = attn.value(x)[:, sl]  # (T, hs)
        T = x.shape[0]
        allowed = key_mask.bool().to(x.device)[None, :].expand(T, T)  # (T, T) padding only
        s = _softmax_steps(q, k, v, scale, allowed)
    return HeadSteps(layer, head, head, 1, scale, _np(q), _np(k), _np(v), **_np_all(s))


def decoder_head_steps(model: Any, hidden_in: torch.Tensor, layer: int, head: int) -> HeadSteps:
    """Llama-like: hidden_in (T, C) is the residual stream entering layer `layer`."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb, repeat_kv

    cfg = model.config
    base = model.base_model
    block = base.layers[layer]
    attn = block.self_attn
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    hs = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head
    scale = float(getattr(attn, "scaling", hs**-0.5))
    with torch.inference_mode():
        x = hidden_in.to(attn.q_proj.weight.device, attn.q_proj.weight.dtype)[None]  # (1, T, C)
        T = x.shape[1]
        h = block.input_layernorm(x)  # (1, T, C) pre-norm: attention reads the RMSNorm'd stream
        q = attn.q_proj(h).view(1, T, n_head, hs).transpose(1, 2)  # (1, nh, T, hs)
        k = attn.k_proj(h).view(1, T, n_kv, hs).transpose(1, 2)  # (1, n_kv, T, hs)
        v = attn.v_proj(h).view(1, T, n_kv, hs).transpose(1, 2)  # (1, n_kv, T, hs)
        pos = torch.arange(T, device=x.device)[None]  # (1, T)
        cos, sin = base.rotary_emb(v, pos)  # (1, T, hs) each
        q, k = apply_rotary_pos_emb(q, k, cos, sin)  # rotate by position: relative offsets
        k = repeat_kv(k, n_head // n_kv)  # (1, nh, T, hs) GQA: one K/V head per query group
        v = repeat_kv(v, n_head // n_kv)  # (1, nh, T, hs)
        allowed = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()  # (T, T) causal
        s = _softmax_steps(q[0, head], k[0, head], v[0, head], scale, allowed)
    group = n_head // n_kv
    kv_head = head // group
    q, k, v = (_np(t[0, head]) for t in (q, k, v))
    return HeadSteps(layer, head, kv_head, group, scale, q, k, v, **_np_all(s))


def head_steps(model: Any, run: AttentionRun, layer: int, head: int) -> HeadSteps:
    """Recompute head `head` of layer `layer` on the run's sentence from the model's weights."""
    hidden_in = torch.from_numpy(run.hidden_states[layer])  # (T, C)
    if run.arch == "encoder":
        key_mask = torch.ones(hidden_in.shape[0], dtype=torch.long)  # (T,) no padding
        return encoder_head_steps(model, hidden_in, key_mask, layer, head)
    return decoder_head_steps(model, hidden_in, layer, head)


# ----------------------------------------------------------------------------------------------
# What each head does


METRICS = {
    "previous": "Attention on the previous token",
    "first": "Attention on the first token ([CLS] / BOS sink)",
    "last": "Attention on the last token ([SEP] in BERT)",
    "self": "Attention on the token itself",
    "entropy": "Entropy (nats): spread of a row",
    "distance": "Mean attention distance (tokens)",
    "future": "Attention on later tokens",
}


@dataclass
class HeadSummary:
    """Each field is (L, H): one number per head, averaged over query rows."""

    previous: np.ndarray  # mean over rows i ≥ 1 of a[i, i-1]
    first: np.ndarray  # mean over rows i ≥ 1 of a[i, 0] (row 0 can only see itself in a decoder)
    last: np.ndarray  # mean over rows of a[i, T-1]
    self: np.ndarray  # mean over rows of a[i, i]
    entropy: np.ndarray  # mean over rows of -Σ a log a; log(T) would be uniform
    distance: np.ndarray  # mean over rows of Σ_j a[i, j]·|i - j|
    future: np.ndarray  # mean over rows of Σ_{j>i} a[i, j]: exactly 0 under a causal mask

    def get(self, metric: str) -> np.ndarray:
        return getattr(self, metric)


def summarize_heads(attn: np.ndarray) -> HeadSummary:
    """attn: (L, H, T, T), rows summing to 1. float32 and einsum: a 30-layer map of 256 tokens
    is 70 MB, so no full-size float64 temporaries."""
    a = np.asarray(attn, dtype=np.float32)  # (L, H, T, T)
    T = a.shape[-1]
    i = np.arange(T)
    dist = np.abs(i[:, None] - i[None, :]).astype(np.float32)  # (T, T) |query - key|
    later = np.triu(np.ones((T, T), dtype=np.float32), k=1)  # (T, T) 1 where key > query
    log_a = np.log(a, out=np.zeros_like(a), where=a > 0)  # (L, H, T, T) 0·log 0 = 0
    nan = np.full(a.shape[:2], np.nan)  # (L, H) for metrics that need two tokens
    mean_rows = "lhij,ij->lh"  # Σ_j a[i, j]·w[i, j], summed over rows i (÷ T below)
    return HeadSummary(
        previous=a[:, :, i[1:], i[1:] - 1].mean(-1) if T > 1 else nan,  # (L, H)
        first=a[:, :, 1:, 0].mean(-1) if T > 1 else nan,  # (L, H)
        last=a[:, :, :, -1].mean(-1),  # (L, H)
        self=a[:, :, i, i].mean(-1),  # (L, H)
        entropy=-np.einsum("lhij,lhij->lh", a, log_a) / T,  # (L, H)
        distance=np.einsum(mean_rows, a, dist) / T,  # (L, H)
        future=np.einsum(mean_rows, a, later) / T,  # (L, H)
    )


def top_heads(values: np.ndarray, k: int = 3, largest: bool = True) -> list[tuple[int, int, float]]:
    """The k heads with the largest (or smallest) value, as (layer, head, value); NaNs skipped."""
    flat = values.ravel()  # (L*H,)
    ranked = np.argsort(-flat if largest else flat, kind="stable")
    order = [j for j in ranked if np.isfinite(flat[j])]
    n_head = values.shape[1]
    return [(int(j // n_head), int(j % n_head), float(flat[j])) for j in order[:k]]


def uniform_entropy(n_tokens: int, causal: bool) -> float:
    """Mean row entropy of a head that spreads evenly over every key it may see (for scale):
    log T for an encoder; the mean of log(i + 1) under a causal mask."""
    if causal:
        return float(np.mean(np.log(np.arange(1, n_tokens + 1))))
    return math.log(n_tokens)


# ----------------------------------------------------------------------------------------------
# The numbers the page shows


def head_map(run: AttentionRun, layer: int, head: int | None = None) -> np.ndarray:
    """One head's (T, T) map, or the mean over the layer's heads when `head` is None."""
    a = run.attentions[layer]  # (H, T, T)
    return a.mean(0) if head is None else a[head]  # (T, T)


def row_sum_gap(a: np.ndarray) -> float:
    """Largest |Σ_j a[i, j] − 1|: how far any row is from a probability distribution."""
    return float(np.abs(a.sum(-1) - 1.0).max())


def by_hand_gap(run: AttentionRun, steps: HeadSteps) -> float:
    """Largest |softmax by hand − the model's output_attentions| for that head."""
    return float(np.abs(steps.probs - run.attentions[steps.layer, steps.head]).max())


def future_weight(run: AttentionRun) -> float:
    """Mean weight a row puts on later tokens, over every layer, head and row (0 if causal)."""
    return float(np.triu(run.attentions, k=1).sum(-1).mean())


SPECIAL = (  # (label, metric, largest first?) for the head finder's list
    ("Previous-token heads", "previous", True),
    ("{first} sink heads", "first", True),
    ("[SEP] / last-token heads", "last", True),
    ("Broadest heads (highest entropy)", "entropy", True),
    ("Sharpest heads (lowest entropy)", "entropy", False),
)


def special_heads(
    summary: HeadSummary, arch: Arch, k: int = 3
) -> list[tuple[str, str, list[tuple[int, int, float]]]]:
    """The top-k heads of each kind, as (label, metric, [(layer, head, value)]); the last-token
    kind only for an encoder, where [SEP] closes every sentence."""
    first = "[CLS]" if arch == "encoder" else "First-token"
    out = []
    for label, metric, largest in SPECIAL:
        if metric == "last" and arch != "encoder":
            continue
        top = top_heads(summary.get(metric), k=k, largest=largest)
        out.append((label.format(first=first), metric, top))
    return out


def warm(encoder: Any, decoder: Any, text: str = DEFAULT_SENTENCE) -> dict[str, float]:
    """Compute what the page shows for `text` on both models (handles) once: the run, one head
    by hand (checked against output_attentions), the head summary and both bertviz views.
    Returns seconds per model: a check that the default work runs and stays in parity (the
    preflight warms the server itself by opening the page in a browser)."""
    import time

    from lessons import bertviz_offline as BV

    cfg = AttentionConfig()
    seconds: dict[str, float] = {}
    for name, h, arch in (("encoder", encoder, "encoder"), ("decoder", decoder, "decoder")):
        t0 = time.perf_counter()
        with h.lock:
            run = run_attention(h.model, h.tokenizer, text, cfg.max_tokens, arch=arch)
            if by_hand_gap(run, head_steps(h.model, run, 0, 0)) > 1e-4:
                raise AssertionError(f"{name}: the head by hand drifted from output_attentions")
            if len(run.tokens) > cfg.bertviz_tokens:
                run = run_attention(h.model, h.tokenizer, text, cfg.bertviz_tokens, arch=arch)
        summarize_heads(run.attentions)
        for view in ("head", "model"):
            BV.bertviz_html(run.attentions, run.tokens, BV.BertvizConfig(view=view))
        seconds[f"attention_{name}_s"] = round(time.perf_counter() - t0, 3)
    return seconds
