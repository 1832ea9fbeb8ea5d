"""How big, how much memory, how many FLOPs: the LLM calculators, from an `Arch`.

    counts = parameters(arch)                  # by component; total and active (MoE)
    kv_cache_bytes(arch, tokens=4096, dtype="bf16")
    training_memory(arch, method="lora", rank=8, dtype="bf16", batch=1, seq=2048)
    train_flops(counts.active, tokens)         # ~ 6 N D;  2 N per generated token

Checked against published figures in tests/test_llms.py (Llama-3.1-8B: 8.03 B parameters and
128 KiB of bf16 KV cache per token; DeepSeek-V3: 671 B total, 37 B active, ~68.6 KiB per token
with MLA) and against the exact count of the model transformers builds from the same config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lessons.llm_arch import Arch

BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "int8": 1.0, "Q4_1 (GGUF)": 5 / 8, "int4": 0.5}
CHINCHILLA_TOKENS_PER_PARAM = 20  # Hoffmann et al. 2022: compute-optimal D ~ 20 N
ADAM_BYTES = 8  # two fp32 moments per trainable parameter
MASTER_BYTES = 4  # an fp32 copy of each trainable weight when training in 16 bits
KIB, MIB, GIB = 1024, 1024**2, 1024**3


@dataclass(frozen=True)
class Counts:
    """Parameters by component; `active` counts what one token passes through (MoE)."""

    components: dict[str, int] = field(default_factory=dict)
    active_components: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.components.values())

    @property
    def active(self) -> int:
        return sum(self.active_components.values())


def _linear(d_in: int, d_out: int, bias: bool) -> int:
    return d_in * d_out + (d_out if bias else 0)


def _norm(arch: Arch, width: int) -> int:
    return width * (2 if arch.norm == "LayerNorm" else 1)


def attention_params(arch: Arch) -> int:
    """One layer's attention projections (and MLA's latent norms)."""
    h = arch.hidden_size
    if arch.uses_mla:
        q_dim = arch.num_heads * (arch.qk_nope_head_dim + arch.qk_rope_head_dim)
        if arch.q_lora_rank:
            q = _linear(h, arch.q_lora_rank, False) + arch.q_lora_rank
            q += _linear(arch.q_lora_rank, q_dim, False)
        else:
            q = _linear(h, q_dim, False)
        kv = _linear(h, arch.kv_lora_rank + arch.qk_rope_head_dim, False) + arch.kv_lora_rank
        kv += _linear(arch.kv_lora_rank, arch.num_heads * (arch.qk_nope_head_dim + arch.v_head_dim),
                      False)  # fmt: skip
        return q + kv + _linear(arch.num_heads * arch.v_head_dim, h, arch.out_bias)
    q_dim, kv_dim = arch.num_heads * arch.head_dim, arch.num_kv_heads * arch.head_dim
    return (
        _linear(h, q_dim, arch.qkv_bias)
        + 2 * _linear(h, kv_dim, arch.qkv_bias)
        + _linear(q_dim, h, arch.out_bias)
    )


def mlp_params(arch: Arch, inner: int) -> int:
    """One MLP (or one expert) of inner width `inner`: 2 matrices, or 3 with a SwiGLU gate."""
    h = arch.hidden_size
    if arch.gated_mlp:
        return 2 * _linear(h, inner, arch.mlp_bias) + _linear(inner, h, arch.mlp_bias)
    return _linear(h, inner, arch.mlp_bias) + _linear(inner, h, arch.mlp_bias)


def parameters(arch: Arch) -> Counts:
    h, n_layers = arch.hidden_size, arch.num_layers
    total: dict[str, int] = {}
    total["token embeddings"] = arch.vocab_size * h
    if arch.positions == "learned":
        total["position embeddings"] = arch.max_positions * h + arch.type_vocab_size * h
    total["attention"] = n_layers * attention_params(arch)
    dense_layers = arch.dense_layers if arch.is_moe else n_layers
    if dense_layers:
        total["MLP (dense)"] = dense_layers * mlp_params(arch, arch.ffn_size)
    active = dict(total)
    if arch.is_moe:
        expert = mlp_params(arch, arch.expert_ffn_size)
        total["routed experts"] = arch.moe_layers * arch.num_experts * expert
        active["routed experts"] = arch.moe_layers * arch.experts_per_token * expert
        if arch.shared_experts:
            shared = arch.moe_layers * arch.shared_experts * expert
            total["shared experts"] = active["shared experts"] = shared
        # DeepSeek-V3's per-expert routing bias is a buffer moved by its load-balancing rule,
        # not a trained parameter: transformers does not count it, neither do we.
        router = arch.moe_layers * arch.num_experts * h
        total["routers"] = active["routers"] = router
    # Two norms a layer, one at the end (BERT: one after the embeddings instead).
    norms = n_layers * 2 * _norm(arch, h) + _norm(arch, h)
    total["norms"] = active["norms"] = norms
    if arch.pooler:
        total["pooler"] = active["pooler"] = _linear(h, h, True)
    if not arch.tied_embeddings:
        total["LM head"] = active["LM head"] = arch.vocab_size * h
    return Counts(total, active)


def weight_bytes(n_params: int, dtype: str) -> float:
    return n_params * BYTES[dtype]


def kv_cache_bytes(arch: Arch, tokens: int, dtype: str = "bf16", batch: int = 1,
                   kv_heads: int | None = None) -> float:  # fmt: skip
    """Bytes of KV cache for `tokens` positions: 2 · L · n_kv · d_head · tokens · batch · bytes.

    The KV heads, not the query heads (the usual calculator bug: GQA stores num_kv_heads). MLA
    caches one latent of kv_lora_rank plus the shared RoPE key of qk_rope_head_dim per layer
    instead of K and V. `kv_heads` overrides the config (to compare MHA, GQA and MQA)."""
    per_token_layer = (
        arch.kv_lora_rank + arch.qk_rope_head_dim
        if arch.uses_mla and kv_heads is None
        else 2 * (kv_heads or arch.num_kv_heads) * arch.head_dim
    )
    return arch.num_layers * per_token_layer * tokens * batch * BYTES[dtype]


def kv_layouts(arch: Arch, tokens: int, dtype: str = "bf16", batch: int = 1) -> dict[str, float]:
    """This model's KV cache beside the same layers cached as MHA, GQA-8 and MQA (and as MLA
    caches it, when the model uses MLA). MLA models compare at their value head size, as the
    DeepSeek-V2 paper does."""
    if arch.uses_mla:
        as_mha = replace(arch, kv_lora_rank=0, head_dim=arch.v_head_dim)
        out = {"MLA (this model)": kv_cache_bytes(arch, tokens, dtype, batch)}
        ref = as_mha
    else:
        out = {f"{arch.attention.split(' ')[0]} (this model)": kv_cache_bytes(arch, tokens, dtype,
                                                                              batch)}  # fmt: skip
        ref = arch
    for name, heads in (("as MHA", arch.num_heads), ("as GQA, 8 KV heads", 8), ("as MQA", 1)):
        if arch.num_heads % heads == 0 and (arch.uses_mla or heads != arch.num_kv_heads):
            out[name] = kv_cache_bytes(ref, tokens, dtype, batch, kv_heads=heads)
    return out


@dataclass(frozen=True)
class TrainingMemory:
    """Bytes for one training step, by what holds them."""

    weights: float
    gradients: float
    optimizer: float  # Adam's moments (+ fp32 master weights when training in 16 bits)
    activations: float
    trainable: int

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    def as_dict(self) -> dict[str, float]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer states": self.optimizer,
            "activations": self.activations,
        }


LORA_TARGETS = ("q_proj", "v_proj")


def lora_parameters(arch: Arch, rank: int, targets: tuple[str, ...] = LORA_TARGETS) -> int:
    """r · (d_in + d_out) per targeted projection per layer (peft's count for these modules)."""
    h, q_dim = arch.hidden_size, arch.num_heads * arch.head_dim
    kv_dim = arch.num_kv_heads * arch.head_dim
    shapes = {"q_proj": (h, q_dim), "k_proj": (h, kv_dim), "v_proj": (h, kv_dim),
              "o_proj": (q_dim, h), "gate_proj": (h, arch.ffn_size),
              "up_proj": (h, arch.ffn_size), "down_proj": (arch.ffn_size, h)}  # fmt: skip
    return arch.num_layers * sum(rank * sum(shapes[t]) for t in targets)


def activation_bytes(arch: Arch, batch: int, seq: int, checkpointing: bool = False,
                     flash: bool = True) -> float:  # fmt: skip
    """Activations kept for the backward pass, 16-bit: s·b·h·(34 + 5·a·s/h) per layer
    (Korthikanti et al. 2022, "Reducing Activation Recomputation"; the 5·a·s/h term is the
    attention matrix, which FlashAttention does not store). With checkpointing only each layer's
    input (2·s·b·h bytes) is kept, plus one layer recomputed at a time. The fp32 logits for the
    loss come on top: b·s·vocab·4."""
    s, b, h, a = seq, batch, arch.hidden_size, arch.num_heads
    per_layer = s * b * h * (34 + (0 if flash else 5 * a * s / h))
    kept = arch.num_layers * 2 * s * b * h + per_layer if checkpointing else None
    layers = kept if kept is not None else arch.num_layers * per_layer
    return layers + b * s * arch.vocab_size * 4


def training_memory(
    arch: Arch,
    method: str = "full",
    rank: int = 8,
    dtype: str = "bf16",
    batch: int = 1,
    seq: int = 2048,
    checkpointing: bool = False,
    targets: tuple[str, ...] = LORA_TARGETS,
    head_classes: int = 2,
) -> TrainingMemory:
    """Memory of one Adam training step. `method`: "full" (every weight trains), "lora" (the
    base frozen in `dtype`, adapters of `rank` on `targets` train) or "frozen" (the base frozen,
    only a classification head of `head_classes` trains: no backward through the body)."""
    n = parameters(arch).total
    master = MASTER_BYTES if BYTES[dtype] < 4 else 0
    if method == "full":
        trainable = n
        activations = activation_bytes(arch, batch, seq, checkpointing)
    elif method == "lora":
        trainable = lora_parameters(arch, rank, targets)
        activations = activation_bytes(arch, batch, seq, checkpointing)
    elif method == "frozen":
        trainable = arch.hidden_size * head_classes + head_classes
        activations = batch * seq * arch.hidden_size * BYTES[dtype]  # the head's input only
    else:
        raise ValueError(f"method must be full, lora or frozen, not {method!r}")
    added = 0 if method == "full" else trainable  # adapters / the head sit beside the base
    return TrainingMemory(
        weights=(n + added) * BYTES[dtype],
        gradients=trainable * BYTES[dtype],
        optimizer=trainable * (ADAM_BYTES + master),
        activations=activations,
        trainable=trainable,
    )


def train_flops(n_params: int, tokens: float) -> float:
    """≈ 6 · N · D: 2 N per token forward, 4 N backward (Kaplan et al. 2020)."""
    return 6 * n_params * tokens


def generate_flops(n_params: int, tokens: float = 1) -> float:
    """≈ 2 · N per generated token (one multiply-add per weight); MoE: N is the active count."""
    return 2 * n_params * tokens


def chinchilla_tokens(n_params: int) -> float:
    return CHINCHILLA_TOKENS_PER_PARAM * n_params


def human_bytes(n: float) -> str:
    for unit, size in (("TiB", 1024**4), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def human_count(n: float) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,.0f}"
