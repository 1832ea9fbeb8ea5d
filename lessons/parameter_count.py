"""Where a transformer's parameters live: every named tensor sorted into embeddings, blocks
(attention, feed-forward, norms), final norm and head; counted per component, checked against the
sizes in the config (one block's formula), with tied embeddings counted once.

BERT-like and Llama-like names are both understood (`encoder.layer.3.attention.self.query.weight`,
`model.layers.3.self_attn.q_proj.weight`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lessons.architecture import Arch, detect_arch

_BLOCK = re.compile(r"\.(?:layer|layers|h|block)\.(\d+)\.")


@dataclass(frozen=True)
class ParamRow:
    group: str  # embeddings | blocks | final norm | head | other
    block: int | None
    component: str  # attention | feed-forward | norms | token embeddings | ...
    params: int
    names: tuple[str, ...] = ()


def classify(name: str) -> tuple[str, int | None, str]:
    """Parameter name -> (group, block, component), for BERT-like and Llama-like names."""
    m = _BLOCK.search(name)
    if m:
        rest = name[m.end() :].lower()
        if "norm" in rest:  # attention.output.LayerNorm, input_layernorm, post_attention_layernorm
            return "blocks", int(m.group(1)), "norms"
        if "attn" in rest or "attention" in rest:  # q, k, v and output projections
            return "blocks", int(m.group(1)), "attention"
        return "blocks", int(m.group(1)), "feed-forward"  # intermediate / output.dense / mlp
    if "embed" in name:
        for key, label in (
            ("word", "token embeddings"),
            ("embed_tokens", "token embeddings"),
            ("position", "position embeddings"),
            ("token_type", "token-type embeddings"),
            ("norm", "embedding LayerNorm"),
        ):
            if key in name.lower():
                return "embeddings", None, label
        return "embeddings", None, "other embeddings"
    if "pooler" in name:
        return "head", None, "pooler ([CLS] + tanh)"
    if "lm_head" in name:
        return "head", None, "LM head"
    if "norm" in name.lower():
        return "final norm", None, "final norm"
    return "other", None, name


def tied_output_embeddings(model: Any) -> bool:
    out, inp = model.get_output_embeddings(), model.get_input_embeddings()
    return out is not None and inp is not None and out.weight is inp.weight


def count_parameters(model: Any) -> list[ParamRow]:
    """Per-component parameter counts. named_parameters() yields a tied tensor once, so tied
    embeddings are counted once; an extra 0-row says the head is tied."""
    sums: dict[tuple[str, int | None, str], list] = {}
    for name, p in model.named_parameters():  # remove_duplicate=True by default
        row = sums.setdefault(classify(name), [0, []])
        row[0] += p.numel()
        row[1].append(name)
    rows = [ParamRow(g, b, c, n, tuple(names)) for (g, b, c), (n, names) in sums.items()]
    if tied_output_embeddings(model):
        rows.append(ParamRow("head", None, "LM head (tied)", 0))
    return rows


def totals_by_component(rows: list[ParamRow]) -> dict[str, int]:
    """Sum over blocks: e.g. all attention weights of every block together."""
    out: dict[str, int] = {}
    for r in rows:
        key = f"blocks · {r.component}" if r.group == "blocks" else r.component
        out[key] = out.get(key, 0) + r.params
    return out


def block_formula(config: Any, arch: Arch) -> dict[str, int]:
    """Parameters of one block from the config sizes alone (d = hidden, f = FFN width)."""
    d, f = config.hidden_size, config.intermediate_size
    if arch == "encoder":
        return {
            "attention": 4 * (d * d + d),  # W_Q, W_K, W_V, W_O with biases
            "feed-forward": d * f + f + f * d + d,  # two Linear layers with biases
            "norms": 2 * 2 * d,  # two LayerNorms, weight + bias
        }
    nh, nkv = config.num_attention_heads, config.num_key_value_heads
    hs = getattr(config, "head_dim", None) or d // nh
    bias = int(bool(getattr(config, "attention_bias", False)))
    return {
        # W_Q and W_O are d x (nh*hs); GQA: W_K and W_V only d x (nkv*hs)
        "attention": 2 * d * nh * hs + 2 * d * nkv * hs + bias * (2 * nh * hs + 2 * nkv * hs),
        "feed-forward": 3 * d * f,  # SwiGLU: gate, up (d -> f) and down (f -> d), no biases
        "norms": 2 * d,  # two RMSNorms, weight only
    }


def lm_head(model: Any) -> str:
    """ "tied" (the output layer reuses the token embeddings), "own" (its own matrix), or "none"
    (an encoder such as MiniLM: no vocabulary scores at all)."""
    out = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if out is None:
        return "none"
    return "tied" if tied_output_embeddings(model) else "own"


LM_HEAD_TEXT = {
    "tied": "tied to the token embeddings",
    "own": "its own weights",
    "none": "none (an encoder: no vocabulary scores)",
}


@dataclass(frozen=True)
class ParamSummary:
    rows: list[ParamRow]
    counted: int  # sum over the components
    total: int  # sum(p.numel() for p in model.parameters())
    by_component: dict[str, int]  # summed over blocks
    formula: dict[str, int]  # one block from the config sizes alone
    block0: dict[str, int]  # one block as counted
    head: str  # tied | own | none
    hidden: int
    ffn: int
    n_blocks: int

    @property
    def formula_matches(self) -> dict[str, bool]:
        return {k: self.block0.get(k) == v for k, v in self.formula.items()}

    @property
    def shares(self) -> dict[str, float]:
        return {k: v / max(self.counted, 1) for k, v in self.by_component.items()}


def parameter_summary(model: Any) -> ParamSummary:
    """Where the parameters live, every number the page shows (call under the model's lock)."""
    rows = count_parameters(model)
    cfg = model.config
    return ParamSummary(
        rows=rows,
        counted=sum(r.params for r in rows),
        total=sum(p.numel() for p in model.parameters()),
        by_component=totals_by_component(rows),
        formula=block_formula(cfg, detect_arch(model)),
        block0={r.component: r.params for r in rows if r.block == 0},
        head=lm_head(model),
        hidden=int(cfg.hidden_size),
        ffn=int(cfg.intermediate_size),
        n_blocks=int(cfg.num_hidden_layers),
    )
