"""A model's architecture as the calculators need it, read from a Hugging Face `config.json`.

Every family names the same things differently (`n_embd` vs `hidden_size`, `n_head` vs
`num_attention_heads`); `Arch.from_config` reads GPT-2, BERT/RoBERTa, the Llama family (Llama,
Mistral, Qwen2, SmolLM2), Mixtral and DeepSeek-V3 into one shape. The published configurations
the LLMs page offers offline are shipped in `assets/configs/` with their source.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIGS = Path(__file__).resolve().parents[1] / "assets" / "configs"
# The calculators' offline menu, in the order a course meets them.
SHIPPED = (
    "gpt2",
    "bert-base-uncased",
    "smollm2-135m-instruct",
    "qwen2.5-0.5b",
    "llama-3.2-1b",
    "llama-3.1-8b",
    "deepseek-v3",
)
LLAMA_FAMILY = ("llama", "mistral", "qwen2", "qwen3", "gemma", "olmo", "granite")


class UnsupportedArchitecture(ValueError):
    """A config whose family the calculators do not read (yet)."""


@dataclass(frozen=True)
class Published:
    key: str  # file stem in assets/configs/
    name: str
    source: str  # where the config.json was published
    config: dict[str, Any]
    training_tokens: float | None = None
    training_tokens_source: str | None = None


def published(key: str) -> Published:
    obj = json.loads((CONFIGS / f"{key}.json").read_text(encoding="utf-8"))
    return Published(
        key,
        obj["name"],
        obj["source"],
        obj["config"],
        obj.get("training_tokens"),
        obj.get("training_tokens_source"),
    )


@dataclass(frozen=True)
class Arch:
    """What the parameter, memory, KV-cache and FLOP formulas read. Sizes are counts, not bytes."""

    family: str  # gpt2 | bert | llama | mixtral | deepseek_v3
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int  # = num_heads for MHA, fewer for GQA, 1 for MQA
    head_dim: int
    ffn_size: int  # the dense MLP's inner width
    gated_mlp: bool  # SwiGLU: three matrices (gate, up, down) instead of two
    norm: str  # "LayerNorm" (weight + bias) | "RMSNorm" (weight only)
    positions: str  # "learned" | "RoPE"
    max_positions: int
    tied_embeddings: bool
    qkv_bias: bool = False
    out_bias: bool = False
    mlp_bias: bool = False
    type_vocab_size: int = 0  # BERT's segment embeddings
    pooler: bool = False  # BERT's [CLS] pooler
    rope_theta: float | None = None
    activation: str = "gelu"
    # Mixture of experts (0 experts: dense everywhere)
    dense_layers: int = 0  # the first layers that keep a dense MLP (DeepSeek's first_k_dense)
    num_experts: int = 0
    experts_per_token: int = 0
    shared_experts: int = 0
    expert_ffn_size: int = 0
    router_bias: bool = False  # DeepSeek-V3's e_score_correction_bias (load balancing)
    # Multi-head latent attention (DeepSeek-V2/V3)
    q_lora_rank: int | None = None
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def moe_layers(self) -> int:
        return self.num_layers - self.dense_layers if self.is_moe else 0

    @property
    def uses_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def attention(self) -> str:
        if self.uses_mla:
            return f"MLA (latent {self.kv_lora_rank} + RoPE key {self.qk_rope_head_dim})"
        if self.num_kv_heads == self.num_heads:
            return f"MHA ({self.num_heads} heads)"
        if self.num_kv_heads == 1:
            return f"MQA ({self.num_heads} query heads, 1 KV head)"
        return f"GQA ({self.num_heads} query heads share {self.num_kv_heads} KV heads)"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Arch:
        c = dict(config)
        family = c.get("model_type", "")
        if family == "gpt2":
            h = c["n_embd"]
            return cls(
                "gpt2", c["vocab_size"], h, c["n_layer"], c["n_head"], c["n_head"],
                h // c["n_head"], c.get("n_inner") or 4 * h, False, "LayerNorm", "learned",
                c["n_positions"], c.get("tie_word_embeddings", True), qkv_bias=True,
                out_bias=True, mlp_bias=True, activation=c.get("activation_function", "gelu_new"),
            )  # fmt: skip
        if family in ("bert", "roberta"):
            h = c["hidden_size"]
            return cls(
                family, c["vocab_size"], h, c["num_hidden_layers"], c["num_attention_heads"],
                c["num_attention_heads"], h // c["num_attention_heads"], c["intermediate_size"],
                False, "LayerNorm", "learned", c["max_position_embeddings"], True, qkv_bias=True,
                out_bias=True, mlp_bias=True, type_vocab_size=c.get("type_vocab_size", 2),
                pooler=True, activation=c.get("hidden_act", "gelu"),
            )  # fmt: skip
        if family in LLAMA_FAMILY or family in ("mixtral", "deepseek_v3"):
            return cls._decoder(family, c)
        raise UnsupportedArchitecture(
            f"The calculators read GPT-2, BERT/RoBERTa, Llama-family, Mixtral and DeepSeek-V3 "
            f"configs; this one is {family or 'of no known model_type'!r}."
        )

    @classmethod
    def _decoder(cls, family: str, c: dict[str, Any]) -> Arch:
        h, heads = c["hidden_size"], c["num_attention_heads"]
        rope = c.get("rope_theta") or (c.get("rope_parameters") or {}).get("rope_theta")
        common = dict(
            vocab_size=c["vocab_size"],
            hidden_size=h,
            num_layers=c["num_hidden_layers"],
            num_heads=heads,
            num_kv_heads=c.get("num_key_value_heads") or heads,
            head_dim=c.get("head_dim") or h // heads,
            ffn_size=c["intermediate_size"],
            gated_mlp=True,
            norm="RMSNorm",
            positions="RoPE",
            max_positions=c.get("max_position_embeddings", 0),
            tied_embeddings=bool(c.get("tie_word_embeddings", False)),
            # Qwen2 puts a bias on q, k and v only; Llama's attention_bias covers o too.
            qkv_bias=family == "qwen2" or bool(c.get("attention_bias", False)),
            out_bias=family != "qwen2" and bool(c.get("attention_bias", False)),
            mlp_bias=bool(c.get("mlp_bias", False)),
            rope_theta=float(rope) if rope else None,
            activation=c.get("hidden_act", "silu"),
        )
        if family == "mixtral":
            return cls(
                "mixtral", **{**common, "ffn_size": 0}, num_experts=c["num_local_experts"],
                experts_per_token=c["num_experts_per_tok"], expert_ffn_size=c["intermediate_size"],
            )  # fmt: skip
        if family == "deepseek_v3":
            return cls(
                "deepseek_v3", **common, dense_layers=c.get("first_k_dense_replace", 0),
                num_experts=c["n_routed_experts"], experts_per_token=c["num_experts_per_tok"],
                shared_experts=c.get("n_shared_experts") or 0,
                expert_ffn_size=c["moe_intermediate_size"],
                router_bias=c.get("topk_method") == "noaux_tc", q_lora_rank=c.get("q_lora_rank"),
                kv_lora_rank=c["kv_lora_rank"], qk_nope_head_dim=c["qk_nope_head_dim"],
                qk_rope_head_dim=c["qk_rope_head_dim"], v_head_dim=c["v_head_dim"],
            )  # fmt: skip
        return cls("llama" if family == "llama" else family, **common)


HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?$")


class HubConfigError(ValueError):
    """A Hub id whose config could not be read, with the reason in words."""


def hub_config(model_id: str) -> dict[str, Any]:
    """A Hub model's config.json (online, or from the local Hub cache) as a plain dict."""
    model_id = model_id.strip()
    if not HUB_ID.match(model_id) or ".." in model_id:
        raise HubConfigError(
            "A Hub id looks like `org/name` (letters, digits, `-`, `_`, `.`), e.g. "
            "`Qwen/Qwen2.5-7B`."
        )
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(model_id).to_dict()
    except OSError as exc:  # not on the Hub / not in the cache / gated / no network
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        why = "the gallery is offline and it is not in the local Hub cache" if offline else (
            "the Hub has no such public model (or it is gated)")  # fmt: skip
        raise HubConfigError(f"Could not read `{model_id}`'s config: {why}.") from exc
    except ValueError as exc:  # a config of a model_type this transformers does not know
        raise HubConfigError(f"`{model_id}`'s config could not be read: {exc}"[:300]) from exc
