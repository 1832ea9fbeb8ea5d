"""LoRA (Hu et al. 2021, arXiv:2106.09685): a frozen weight W plus a trainable low-rank update.

    h = W x + (α / r) · B A x        A: (r, d_in), B: (d_out, r), B = 0 at initialisation

so each adapted module trains r·(d_in + d_out) parameters instead of d_in·d_out, the adapted
model starts out *identical* to the base (B A = 0), and after training the update can be merged,
W' = W + (α/r)·B A, with no extra cost at inference. The counts here come from peft itself, on
models built on the meta device from their configurations (no weights, no download): the
embedded models' own configs and published ones shipped in `assets/configs/` with their source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from lessons import llm_arch

CONFIGS = llm_arch.CONFIGS
PAPER = "https://arxiv.org/abs/2106.09685"
QLORA_PAPER = "https://arxiv.org/abs/2305.14314"


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "v_proj")
    rslora: bool = False  # scale by α/√r instead of α/r (Kalajdzievski 2023)

    @property
    def scaling(self) -> float:
        return scaling(self.alpha, self.r, self.rslora)


def scaling(alpha: float, r: int, rslora: bool = False) -> float:
    """What B·A is multiplied by: α/r, so changing r does not change the update's size at init
    of training (and the learning rate need not be re-tuned); rsLoRA uses α/√r."""
    return alpha / (r**0.5 if rslora else r)


def lora_config(s: LoraSettings, task_type: str | None = None, fan_in_fan_out: bool = False):
    import peft

    return peft.LoraConfig(
        r=s.r,
        lora_alpha=s.alpha,
        lora_dropout=s.dropout,
        target_modules=list(s.targets),
        use_rslora=s.rslora,
        fan_in_fan_out=fan_in_fan_out,  # GPT-2's Conv1D stores W as (d_in, d_out)
        task_type=task_type,
    )


# --- published configurations ------------------------------------------------------------------


# Shared with the LLM calculators (lessons/llm_arch.py): one file per config, with its source.
Published, published = llm_arch.Published, llm_arch.published


def meta_model(config: Any, kind: str = "causal-lm") -> nn.Module:
    """The model a config describes, on the meta device: shapes only, 0 bytes of weights."""
    import copy

    import transformers as tf

    # A copy: from_config may write into the config it is given (a shared model's, say).
    config = (
        tf.AutoConfig.for_model(**config) if isinstance(config, dict) else copy.deepcopy(config)
    )
    auto = tf.AutoModelForCausalLM if kind == "causal-lm" else tf.AutoModel
    with torch.device("meta"):
        return auto.from_config(config)


# --- counting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    name: str  # full dotted path
    d_in: int
    d_out: int


def linear_modules(model: nn.Module) -> list[Module]:
    """Every nn.Linear and GPT-2 Conv1D (weight stored transposed: (d_in, d_out))."""
    out = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            out.append(Module(name, m.in_features, m.out_features))
        elif type(m).__name__ == "Conv1D":
            d_in, d_out = m.weight.shape
            out.append(Module(name, int(d_in), int(d_out)))
    return out


def matches(name: str, target: str) -> bool:
    """peft's rule for a target given as a plain name: the module path ends with it."""
    return name == target or name.endswith("." + target)


def target_names(model: nn.Module, exclude: tuple[str, ...] = ("lm_head",)) -> list[str]:
    """The distinct short names of linear modules a user can target (lm_head left out: it is
    tied to the embedding in the embedded models)."""
    seen: dict[str, None] = {}
    for m in linear_modules(model):
        short = m.name.rsplit(".", 1)[-1]
        if short not in exclude:
            seen[short] = None
    return list(seen)


@dataclass(frozen=True)
class FormulaRow:
    target: str
    modules: int  # how many modules of the model it matches with this shape
    d_in: int
    d_out: int
    per_module: int  # r · (d_in + d_out)
    total: int
    full: int  # d_in · d_out · modules: what a full fine-tune of them trains


def formula(model: nn.Module, targets: tuple[str, ...], r: int) -> list[FormulaRow]:
    """r·(d_in + d_out) per adapted module, grouped by target and shape."""
    rows: dict[tuple[str, int, int], int] = {}
    for m in linear_modules(model):
        hit = next((t for t in targets if matches(m.name, t)), None)
        if hit is not None:
            rows[(hit, m.d_in, m.d_out)] = rows.get((hit, m.d_in, m.d_out), 0) + 1
    return [
        FormulaRow(t, n, d_in, d_out, r * (d_in + d_out), n * r * (d_in + d_out), n * d_in * d_out)
        for (t, d_in, d_out), n in rows.items()
    ]


def peft_count(model: nn.Module, s: LoraSettings) -> tuple[int, int]:
    """(trainable, all) from peft's `get_nb_trainable_parameters` after wrapping `model` (a meta
    model: wrapping changes it, so never pass a shared one)."""
    import peft

    conv1d = any(type(m).__name__ == "Conv1D" for m in model.modules())
    with torch.device("meta"):
        wrapped = peft.get_peft_model(model, lora_config(s, fan_in_fan_out=conv1d))
    return wrapped.get_nb_trainable_parameters()


@dataclass(frozen=True)
class Count:
    peft_trainable: int
    formula_total: int
    all_params: int  # peft's "all params": base + adapters
    rows: tuple[FormulaRow, ...]

    @property
    def base_params(self) -> int:
        return self.all_params - self.peft_trainable

    @property
    def percent(self) -> float:
        return 100 * self.peft_trainable / max(1, self.base_params)


def count(config: Any, s: LoraSettings, kind: str = "causal-lm") -> Count:
    """peft's count and the formula's, for one configuration (two fresh meta models)."""
    rows = formula(meta_model(config, kind), s.targets, s.r)
    trainable, total = peft_count(meta_model(config, kind), s)
    return Count(trainable, sum(r.total for r in rows), total, tuple(rows))


# --- the update itself -------------------------------------------------------------------------


def lora_layers(model: nn.Module) -> list[tuple[str, Any]]:
    from peft.tuners.lora import LoraLayer

    return [(n, m) for n, m in model.named_modules() if isinstance(m, LoraLayer)]


def delta(layer: Any, adapter: str = "default") -> torch.Tensor:
    """ΔW = scaling · B A of one LoRA layer, (d_out, d_in), as merging would add it to W."""
    a = layer.lora_A[adapter].weight  # (r, d_in)
    b = layer.lora_B[adapter].weight  # (d_out, r)
    return (b @ a) * layer.scaling[adapter]  # (d_out, d_in)


@torch.no_grad()
def spectrum(layer: Any, adapter: str = "default") -> torch.Tensor:
    """Singular values of ΔW, largest first: at most r of them are non-zero, whatever d is."""
    return torch.linalg.svdvals(delta(layer, adapter).float())  # (min(d_out, d_in),)


# --- QLoRA: what 4-bit base weights save ---------------------------------------------------------

# Bits per weight, QLoRA paper (Dettmers et al. 2023) section 3: NF4 + double quantization stores
# 4 bits per weight plus 8-bit block constants per 64 weights, themselves quantized with one fp32
# constant per 256 blocks: 4 + 8/64 + 32/(64·256) = 4.127 bits.
BITS = {
    "fp32": 32.0,
    "bf16": 16.0,
    "int8": 8.0 + 32 / 64,
    "nf4 + double quant": 4 + 8 / 64 + 32 / 16384,
}


def weight_memory_gb(params: int) -> dict[str, float]:
    """GiB of base weights at each precision."""
    return {k: params * bits / 8 / 2**30 for k, bits in BITS.items()}


def qlora_requirements() -> dict[str, bool]:
    """What QLoRA needs here: a CUDA GPU and the bitsandbytes kernels."""
    import importlib.util

    return {
        "CUDA GPU": torch.cuda.is_available(),
        "bitsandbytes installed": importlib.util.find_spec("bitsandbytes") is not None,
    }


QLORA_CODE = """\
from transformers import AutoModelForCausalLM, BitsAndBytesConfig
from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

bnb = BitsAndBytesConfig(
    load_in_4bit=True,
    bnb_4bit_quant_type="nf4",          # 4-bit NormalFloat: quantiles of a normal distribution
    bnb_4bit_use_double_quant=True,     # quantize the quantization constants too
    bnb_4bit_compute_dtype="bfloat16",  # de-quantize to bf16 for each matmul
)
model = AutoModelForCausalLM.from_pretrained(repo, quantization_config=bnb, device_map="auto")
model = prepare_model_for_kbit_training(model)   # norms in fp32, gradient checkpointing
model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear"))
"""
