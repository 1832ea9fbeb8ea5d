"""High-level architecture: one forward pass, re-run stage by stage from a model's own submodules,
checked against the model's own forward; the three families and their attention masks. Where the
parameters live is `lessons/parameter_count.py`.

Two families are traced, reading every size from `model.config`:
- BERT-like encoders (BertModel, RobertaModel): learned positions added to the token embeddings,
  post-LayerNorm blocks `x = LN(x + attn(x)); x = LN(x + ffn(x))`, bidirectional attention.
- Llama-like decoders (LlamaForCausalLM, Qwen2ForCausalLM): no position vector in the residual
  stream (RoPE rotates q and k inside attention), pre-RMSNorm blocks
  `x = x + attn(norm(x)); x = x + mlp(norm(x))`, causal attention, final norm, LM head.

No hooks: hooks on a shared model would leak into other sessions' calls. Instead each stage is
recomputed here and `staged == model(...)` is checked by the tests (and shown on the page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

Arch = Literal["encoder", "decoder"]
DEFAULT_SENTENCE = "The animal did not cross the street because it was too tired"


@dataclass(frozen=True)
class TraceConfig:
    max_tokens: int = 128  # the sentence is cut to this many tokens (special tokens included)
    preview_tokens: int = 12  # rows of the value preview (first tokens)
    preview_dims: int = 24  # columns of the value preview (first hidden dims)
    top_k: int = 5  # next-token candidates shown for a decoder


@dataclass
class Stage:
    name: str  # "block 3 · attention output"
    kind: str  # embedding | position | norm | attention | ffn | residual | logits | pooled
    tensor: torch.Tensor  # float32 on the CPU; (B, T, d) for most stages
    block: int | None = None
    residual: bool = False  # True when this tensor *is* the residual stream at that point
    note: str = ""


@dataclass
class Trace:
    arch: Arch
    input_ids: torch.Tensor  # (B, T)
    tokens: list[str]
    stages: list[Stage]
    hidden: torch.Tensor  # (B, T, d) what the library returns as last_hidden_state
    output: torch.Tensor  # decoder: logits (B, T, V); encoder: mean-pooled embedding (B, d)
    n_tokens_in: int  # tokens before truncation
    truncated: bool


def detect_arch(model: Any) -> Arch:
    """Which tracer fits this model, judged by its module structure (not its class name)."""
    if hasattr(model, "embeddings") and hasattr(getattr(model, "encoder", None), "layer"):
        return "encoder"
    inner = getattr(model, "model", None)
    if hasattr(inner, "embed_tokens") and hasattr(inner, "layers") and hasattr(model, "lm_head"):
        return "decoder"
    raise ValueError(
        f"{type(model).__name__} is neither BERT-like (embeddings + encoder.layer) nor Llama-like "
        "(model.embed_tokens + model.layers + lm_head); this page traces those two families."
    )


def encode(tokenizer: Any, text: str, max_tokens: int) -> tuple[torch.Tensor, int, bool]:
    """Token ids (1, T) with the tokenizer's own special tokens, cut to `max_tokens`."""
    n_in = len(tokenizer(text, verbose=False)["input_ids"])
    ids = tokenizer(text, truncation=True, max_length=max_tokens, return_tensors="pt")["input_ids"]
    return ids, n_in, n_in > ids.shape[1]  # (1, T)


def _cpu(x: torch.Tensor) -> torch.Tensor:
    return x.detach().float().cpu()


@torch.inference_mode()
def trace_encoder(model: Any, input_ids: torch.Tensor) -> tuple[list[Stage], torch.Tensor]:
    """BERT-like forward, stage by stage. Returns the stages and last_hidden_state (B, T, d)."""
    emb = model.embeddings
    B, T = input_ids.shape
    # RoBERTa counts positions from padding_idx + 1; BERT from 0.
    offset = emb.padding_idx + 1 if getattr(emb, "padding_idx", None) is not None else 0
    pos_ids = torch.arange(T, device=input_ids.device)[None] + offset  # (1, T)
    type_ids = torch.zeros_like(input_ids)  # (B, T) one segment

    tok = emb.word_embeddings(input_ids)  # (B, T, d)
    pos = emb.position_embeddings(pos_ids).expand(B, T, -1)  # (B, T, d) learned, one row per slot
    typ = emb.token_type_embeddings(type_ids)  # (B, T, d) segment A
    x = emb.LayerNorm(tok + typ + pos)  # (B, T, d) the residual stream starts here
    stages = [
        Stage("token embeddings", "embedding", _cpu(tok), note="one learned row per token id"),
        Stage("position embeddings (learned)", "position", _cpu(pos), note="added to the stream"),
        Stage("token-type embeddings", "embedding", _cpu(typ), note="segment A for every token"),
        Stage("embedding LayerNorm", "norm", _cpu(x), residual=True, note="LN(tok + pos + type)"),
    ]
    for i, layer in enumerate(model.encoder.layer):
        # Bidirectional: no mask, every token attends to every token.
        ctx, _ = layer.attention.self(x, attention_mask=None)  # (B, T, d) heads concatenated
        a = layer.attention.output.dense(ctx)  # (B, T, d) output projection W_O
        x_mid = layer.attention.output.LayerNorm(a + x)  # (B, T, d) post-LN: add, then normalise
        f = layer.output.dense(layer.intermediate(x_mid))  # (B, T, d) d -> 4d -> d (GELU inside)
        x = layer.output.LayerNorm(f + x_mid)  # (B, T, d)
        stages += [
            Stage(f"block {i} · attention output", "attention", _cpu(a), i),
            Stage(
                f"block {i} · residual after attention",
                "residual",
                _cpu(x_mid),
                i,
                True,
                "LN(x + attention)",
            ),
            Stage(f"block {i} · feed-forward output", "ffn", _cpu(f), i),
            Stage(f"block {i} · residual after FFN", "residual", _cpu(x), i, True, "LN(x + FFN)"),
        ]
    return stages, x


def _sublayer_stages(i: int, kind: str, out: torch.Tensor, stream: torch.Tensor, note: str):
    """A sub-layer's two stages: its output, then the residual stream after adding it."""
    name = {"attention": "attention", "ffn": "FFN"}[kind]
    label = {"attention": "attention output", "ffn": "feed-forward output"}[kind]
    return [
        Stage(f"block {i} · {label}", kind, _cpu(out), i),
        Stage(f"block {i} · residual after {name}", "residual", _cpu(stream), i, True, note),
    ]


@torch.inference_mode()
def trace_decoder(model: Any, input_ids: torch.Tensor) -> tuple[list[Stage], torch.Tensor]:
    """Llama-like forward, stage by stage. Returns the stages and the logits (B, T, V)."""
    inner = model.model
    B, T = input_ids.shape
    x = inner.embed_tokens(input_ids)  # (B, T, d) the residual stream starts here, no positions
    pos_ids = torch.arange(T, device=input_ids.device)[None]  # (1, T)
    cos, sin = inner.rotary_emb(x, position_ids=pos_ids)  # (1, T, hs) each
    # Causal: token t may only read tokens <= t. Additive mask, as the eager kernel expects.
    mask = torch.full((T, T), torch.finfo(x.dtype).min, device=x.device).triu(1)[None, None]
    stages = [
        Stage(
            "token embeddings",
            "embedding",
            _cpu(x),
            residual=True,
            note="the residual stream starts here",
        ),
        Stage(
            "RoPE cos table",
            "position",
            _cpu(cos.expand(B, T, -1)),
            note="rotates q and k inside attention; nothing is added to the stream",
        ),
    ]
    for i, layer in enumerate(inner.layers):
        h = layer.input_layernorm(x)  # (B, T, d) pre-norm: the stream itself is not normalised
        a, _ = layer.self_attn(hidden_states=h, position_embeddings=(cos, sin), attention_mask=mask)
        x = x + a  # (B, T, d)
        stages += _sublayer_stages(i, "attention", a, x, "x + attention(RMSNorm(x))")
        f = layer.mlp(layer.post_attention_layernorm(x))  # (B, T, d) SwiGLU: d -> ff -> d
        x = x + f  # (B, T, d)
        stages += _sublayer_stages(i, "ffn", f, x, "x + MLP(RMSNorm(x))")
    hidden = inner.norm(x)  # (B, T, d)
    logits = model.lm_head(hidden)  # (B, T, V)
    stages.append(Stage("final RMSNorm", "norm", _cpu(hidden), note="last_hidden_state"))
    stages.append(Stage("logits", "logits", _cpu(logits), note="one score per vocabulary entry"))
    return stages, logits


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Sentence embedding: mean of the token vectors, padding excluded (sentence-transformers)."""
    m = attention_mask[..., None].to(hidden.dtype)  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, d)


def trace_forward(model: Any, tokenizer: Any, text: str, cfg: TraceConfig = TraceConfig()) -> Trace:
    """Tokenize `text`, run the model stage by stage; the caller holds the model's lock."""
    arch = detect_arch(model)
    ids, n_in, truncated = encode(tokenizer, text, cfg.max_tokens)
    if ids.shape[1] == 0:
        raise ValueError("The text produced no tokens.")
    dev = next(model.parameters()).device
    ids = ids.to(dev)  # (1, T)
    if arch == "encoder":
        stages, hidden = trace_encoder(model, ids)
        output = mean_pool(_cpu(hidden), torch.ones(ids.shape))  # (B, d)
        stages.append(
            Stage("sentence embedding (mean pooling)", "pooled", output, note="average over tokens")
        )
        tokens = tokenizer.convert_ids_to_tokens(ids[0].tolist())
    else:
        stages, logits = trace_decoder(model, ids)
        hidden, output = stages[-2].tensor, _cpu(logits)
        tokens = [tokenizer.decode([i]) for i in ids[0].tolist()]
    return Trace(arch, ids.cpu(), tokens, stages, _cpu(hidden), output, n_in, truncated)


@torch.inference_mode()
def library_output(model: Any, input_ids: torch.Tensor) -> torch.Tensor:
    """What the model's own forward returns: last_hidden_state (encoder) or logits (decoder)."""
    ids = input_ids.to(next(model.parameters()).device)
    out = model(input_ids=ids)
    return _cpu(out.logits if detect_arch(model) == "decoder" else out.last_hidden_state)


def parity(model: Any, trace: Trace) -> float:
    """Largest |staged - library| over the output the library itself returns."""
    ref = library_output(model, trace.input_ids)
    mine = trace.output if trace.arch == "decoder" else trace.hidden
    return float((mine - ref).abs().max())


def top_next_tokens(logits: torch.Tensor, tokenizer: Any, k: int = 5) -> list[tuple[str, float]]:
    """The k most likely next tokens after the last position, with probabilities."""
    probs = torch.softmax(logits[0, -1].float(), dim=-1)  # (V,)
    p, idx = probs.topk(k)
    return [(tokenizer.decode([int(i)]), float(q)) for i, q in zip(idx, p, strict=True)]


# ---- compact views for the page (numpy, small enough to cache) --------------------------------


@dataclass(frozen=True)
class StageView:
    name: str
    kind: str
    shape: tuple[int, ...]
    preview: np.ndarray  # (rows, cols) first tokens x first dims
    token_norms: np.ndarray  # (T,) L2 norm of each token's vector; (1,) for a pooled vector
    block: int | None
    residual: bool
    note: str


@dataclass(frozen=True)
class TraceView:
    arch: Arch
    tokens: list[str]
    n_tokens_in: int
    truncated: bool
    stages: list[StageView]
    parity: float  # max |staged - library|
    top_next: list[tuple[str, float]] = field(default_factory=list)


def view_stage(stage: Stage, cfg: TraceConfig) -> StageView:
    t = stage.tensor[0]  # drop the batch: (T, d) or (d,)
    if t.dim() == 1:
        t = t[None]  # (1, d)
    norms = t.norm(dim=-1)  # (T,)
    preview = t[: cfg.preview_tokens, : cfg.preview_dims]
    return StageView(
        stage.name,
        stage.kind,
        tuple(stage.tensor.shape),
        preview.numpy(),
        norms.numpy(),
        stage.block,
        stage.residual,
        stage.note,
    )


def view_trace(trace: Trace, tokenizer: Any, par: float, cfg: TraceConfig) -> TraceView:
    top = top_next_tokens(trace.output, tokenizer, cfg.top_k) if trace.arch == "decoder" else []
    return TraceView(
        trace.arch,
        trace.tokens,
        trace.n_tokens_in,
        trace.truncated,
        [view_stage(s, cfg) for s in trace.stages],
        par,
        top,
    )


def attention_pattern(kind: str, n_query: int, n_key: int | None = None) -> np.ndarray:
    """1 where query i may attend to key j: bidirectional, causal, or cross (all encoder keys)."""
    n_key = n_query if n_key is None else n_key
    if kind == "causal":
        return np.tril(np.ones((n_query, n_key)))  # (Tq, Tk)
    return np.ones((n_query, n_key))  # bidirectional and cross-attention see every key


# ---- the three families, side by side ---------------------------------------------------------


@dataclass(frozen=True)
class Family:
    name: str
    sees: str  # what each position's attention may read
    objective: str  # how it is pre-trained
    examples: str
    use: str  # what it is good at
    pages: tuple[str, ...]  # course topics (titles in lessons/course.py) that use this family


FAMILIES = (
    Family(
        "Encoder-only",
        "Bidirectional self-attention: every token sees every token, left and right.",
        "Masked language modelling: predict hidden tokens from both sides (BERT also NSP).",
        "BERT, RoBERTa, DistilBERT, MiniLM, ModernBERT",
        "One vector per token (NER) or per sentence (classification, search, clustering).",
        (
            "Tokenization",
            "Attention",
            "BERT & RoBERTa",
            "Project 2: summarization with BERT",
            "Knowledge distillation",
            "DistilBERT",
            "Project 1: sentiment transformer from scratch",
        ),
    ),
    Family(
        "Decoder-only",
        "Causal (masked) self-attention: token t sees tokens 0..t only.",
        "Next-token prediction on raw text, then instruction tuning and preference alignment.",
        "GPT-2/3/4, Llama, SmolLM2, Qwen, Mistral, DeepSeek",
        "Generation: one token at a time, each fed back as input.",
        (
            "GPT",
            "Project 4: GPT from scratch",
            "Alignment: RLHF & DPO",
            "Project 5: improving GPT responses with DPO",
            "LLMs",
            "Llama architecture",
            "DeepSeek",
            "GRPO",
        ),
    ),
    Family(
        "Encoder-decoder",
        "Encoder: bidirectional. Decoder: causal self-attention plus cross-attention, whose "
        "queries come from the decoder and keys/values from the encoder output.",
        "Sequence-to-sequence: denoising spans (T5) or reconstructing corrupted text (BART), "
        "then input -> output pairs.",
        "T5, BART, mT5, the original Transformer (2017), Whisper",
        "Input -> different output: translation, summarisation, text-to-text tasks.",
        ("Use cases", "T5", "Project 3: T5 for NER"),
    ),
)


# ---- what the page shows, computed here ------------------------------------------------------


def trace_view(
    model: Any, tokenizer: Any, text: str, cfg: TraceConfig = TraceConfig()
) -> TraceView:
    """The staged forward on `text`, checked against the model's own forward, as a small view
    (the caller holds the model's lock)."""
    with torch.inference_mode():
        trace = trace_forward(model, tokenizer, text, cfg)
        return view_trace(trace, tokenizer, parity(model, trace), cfg)


def stage_rows(view: TraceView) -> list[dict[str, Any]]:
    """One row per stage for the shape table: name, shape, residual?, mean per-token norm."""
    return [
        {
            "stage": s.name,
            "shape": str(tuple(s.shape)),
            "residual stream?": "yes" if s.residual else "",
            "mean ‖x‖ per token": float(s.token_norms.mean()),
            "note": s.note,
        }
        for s in view.stages
    ]


def massive_activation(view: TraceView, factor: float = 5.0) -> tuple[int, float] | None:
    """(token index, norm ÷ median) of the largest final residual-stream norm, when it is more
    than `factor` times the median: the *massive activation* attention sinks park on."""
    last = [s for s in view.stages if s.residual][-1].token_norms  # (T,)
    ratio = float(last.max() / max(float(np.median(last)), 1e-9))
    return (int(last.argmax()), ratio) if ratio > factor else None


def warm(encoder: Any, decoder: Any, text: str = DEFAULT_SENTENCE) -> dict[str, float]:
    """The page's default work on both models (handles): the staged forward with its parity
    check and the parameter summary. Returns seconds per model: a check that the default work
    runs and stays in parity (the preflight warms the server itself by opening the page)."""
    import time

    from lessons import parameter_count

    seconds: dict[str, float] = {}
    for name, h in (("encoder", encoder), ("decoder", decoder)):
        t0 = time.perf_counter()
        with h.lock:
            view = trace_view(h.model, h.tokenizer, text)
            parameter_count.parameter_summary(h.model)
        if view.parity > 1e-3:
            raise AssertionError(f"{name}: the staged forward drifted from model() ({view.parity})")
        seconds[f"architecture_{name}_s"] = round(time.perf_counter() - t0, 3)
    return seconds
