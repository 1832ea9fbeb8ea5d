"""A small character-level GPT whose MLPs are DeepSeek-style mixtures of experts (DeepSeekMoE).

Each MoE layer has `n_shared` experts every token uses, plus `top_k` of `n_routed` routed experts
chosen per token by **sigmoid** affinities s = σ(x W_r) (DeepSeek-V3; V2 used a softmax).
Load balancing without an auxiliary loss (DeepSeek-V3, "auxiliary-loss-free"): each routed expert
has a bias b_e that is added to its score **for choosing only**; after every training step an
overloaded expert's bias goes down by γ and an underloaded one's goes up. The gate weights are
the chosen experts' own sigmoid scores, normalised to sum to 1: the bias never touches the output.

`dense=True` replaces the mixture by one MLP with as many parameters as one token passes through
in the MoE (shared + top-k experts + the router): equal *active* parameters, for dense vs MoE.
The model file has no entry point: `models/moe/trainer.py` and `__main__.py` import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.gpt.model import CausalSelfAttention, GPTConfig, LayerNorm


@dataclass
class MoEConfig:
    vocab_size: int = 65
    block_size: int = 32  # context length in characters
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    n_routed: int = 8  # routed experts per layer
    top_k: int = 2  # routed experts each token uses
    n_shared: int = 1  # experts every token uses
    expert_hidden: int = 64  # inner width of one expert
    balance: bool = True  # DeepSeek-V3's bias-based balancing on/off
    bias_update: float = 0.01  # γ, the bias step per training step (V3: 0.001 at its scale)
    dense: bool = False  # one dense MLP with the MoE's active parameters instead

    def attention_config(self) -> GPTConfig:
        return GPTConfig(block_size=self.block_size, vocab_size=self.vocab_size,
                         n_layer=self.n_layer, n_head=self.n_head, n_embd=self.n_embd)  # fmt: skip

    def dense_hidden(self) -> int:
        """Inner width of the dense MLP with the MoE's active parameters: the shared and top-k
        experts' widths, plus n_routed / 2 units for the router's n_embd · n_routed weights
        (each unit of a 2-matrix MLP costs 2 · n_embd)."""
        assert self.n_routed % 2 == 0, "an even number of routed experts keeps the match exact"
        return (self.n_shared + self.top_k) * self.expert_hidden + self.n_routed // 2


class Expert(nn.Module):
    """One feed-forward network: n_embd -> hidden -> n_embd (GELU), no biases."""

    def __init__(self, width: int, hidden: int):
        super().__init__()
        self.up = nn.Linear(width, hidden, bias=False)
        self.down = nn.Linear(hidden, width, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))  # (N, C) -> (N, hidden) -> (N, C)


@dataclass(frozen=True)
class Routing:
    choice: torch.Tensor  # (N, k) chosen expert ids, best first
    gates: torch.Tensor  # (N, k) their weights: unbiased scores, normalised
    scores: torch.Tensor  # (N, E) sigmoid affinities, without the bias


def route(scores: torch.Tensor, bias: torch.Tensor, top_k: int) -> Routing:
    """Choose top-k experts by score + bias; weight them by their scores alone."""
    choice = (scores + bias).topk(top_k, dim=-1).indices  # (N, k): the bias picks ...
    gates = scores.gather(-1, choice)  # (N, k): ... but never weighs
    return Routing(choice, gates / gates.sum(-1, keepdim=True), scores)


class MoE(nn.Module):
    def __init__(self, cfg: MoEConfig):
        super().__init__()
        self.cfg = cfg
        hidden = cfg.expert_hidden
        self.shared = nn.ModuleList(Expert(cfg.n_embd, hidden) for _ in range(cfg.n_shared))
        self.experts = nn.ModuleList(Expert(cfg.n_embd, hidden) for _ in range(cfg.n_routed))
        self.router = nn.Linear(cfg.n_embd, cfg.n_routed, bias=False)
        # Moved by the balancing rule, not by gradients: a buffer, not a parameter.
        self.register_buffer("route_bias", torch.zeros(cfg.n_routed))
        self.last_choice: torch.Tensor | None = None  # (B, T, k) of the last forward

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        flat = x.reshape(-1, C)  # (N, C), N = B·T tokens
        r = route(torch.sigmoid(self.router(flat)), self.route_bias, self.cfg.top_k)  # (N, E)
        out = torch.zeros_like(flat)  # (N, C)
        for expert in self.shared:
            out = out + expert(flat)
        for e, expert in enumerate(self.experts):
            rows, slot = (r.choice == e).nonzero(as_tuple=True)  # tokens that chose e
            if rows.numel():
                out = out.index_add(0, rows, expert(flat[rows]) * r.gates[rows, slot, None])
        self.last_choice = r.choice.view(B, T, -1).detach()  # (B, T, k)
        return out.view(B, T, C)

    def load(self) -> torch.Tensor:
        """Share of the last forward's routed slots each expert took: (E,), sums to 1."""
        counts = torch.bincount(self.last_choice.flatten(), minlength=self.cfg.n_routed)
        return counts.float() / counts.sum()

    @torch.no_grad()
    def update_bias(self) -> None:
        """DeepSeek-V3's auxiliary-loss-free rule: b_e ← b_e − γ · sign(load_e − mean load)."""
        if self.cfg.balance and self.last_choice is not None:
            load = self.load()  # (E,)
            self.route_bias -= self.cfg.bias_update * torch.sign(load - load.mean())


class Block(nn.Module):
    def __init__(self, cfg: MoEConfig):
        super().__init__()
        self.ln_1 = LayerNorm(cfg.n_embd, bias=False)
        self.attn = CausalSelfAttention(cfg.attention_config())
        self.ln_2 = LayerNorm(cfg.n_embd, bias=False)
        self.mlp = Expert(cfg.n_embd, cfg.dense_hidden()) if cfg.dense else MoE(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))  # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


class MoEGPT(nn.Module):
    def __init__(self, cfg: MoEConfig):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = LayerNorm(cfg.n_embd, bias=False)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))  # (B, T, C)
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())

    def moe_layers(self) -> list[MoE]:
        return [b.mlp for b in self.blocks if isinstance(b.mlp, MoE)]

    def active_parameters(self) -> int:
        """Parameters one token passes through: all but the routed experts it did not choose
        (the router counts, as in lessons/llm_calculator.parameters)."""
        total = sum(p.numel() for p in self.parameters())
        for moe in self.moe_layers():
            per_expert = sum(p.numel() for p in moe.experts[0].parameters())
            total -= (self.cfg.n_routed - self.cfg.top_k) * per_expert
        return total

    @torch.no_grad()
    def routes(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """Per MoE layer, the (T, k) experts each position of one sequence (1, T) chose."""
        self.forward(idx[:, -self.cfg.block_size :])
        return [m.last_choice[0] for m in self.moe_layers()]


def save(model: MoEGPT, chars: list[str], path) -> None:
    """One file: the config, the weights (routing biases included) and the character list."""
    from dataclasses import asdict

    torch.save({"config": asdict(model.cfg), "state": model.state_dict(), "chars": chars}, path)


def load(path) -> tuple[MoEGPT, list[str]]:
    obj = torch.load(path, map_location="cpu", weights_only=True)
    model = MoEGPT(MoEConfig(**obj["config"]))
    model.load_state_dict(obj["state"])
    return model.eval(), list(obj["chars"])


@torch.no_grad()
def text_routes(model: MoEGPT, chars: list[str], text: str) -> list[tuple[str, list[int] | None]]:
    """Each character of `text` with the top-1 routed expert it went to in each MoE layer (None
    for a character the model never saw). Read in windows of block_size characters."""
    stoi = {c: i for i, c in enumerate(chars)}
    known = [(i, stoi[c]) for i, c in enumerate(text) if c in stoi]
    out: list[tuple[str, list[int] | None]] = [(c, None) for c in text]
    T = model.cfg.block_size
    for s in range(0, len(known), T):
        window = known[s : s + T]
        idx = torch.tensor([[i for _, i in window]])  # (1, t)
        per_layer = model.routes(idx)  # L x (t, k)
        for j, (pos, _) in enumerate(window):
            out[pos] = (text[pos], [int(layer[j, 0]) for layer in per_layer])
    return out


@torch.no_grad()
def expert_top_chars(model: MoEGPT, chars: list[str], ids: torch.Tensor, n: int = 6):
    """Per MoE layer and routed expert: its share of the routed slots on `ids` and the
    characters routed to it most often (as top-1 or top-k), [(share, [(char, count)])]."""
    T = model.cfg.block_size
    usable = len(ids) // T * T
    x = ids[:usable].view(-1, T)  # (B, T)
    model.forward(x)
    out = []
    for moe in model.moe_layers():
        choice = moe.last_choice  # (B, T, k)
        tokens = x[..., None].expand_as(choice)  # (B, T, k) the character of each slot
        layer = []
        for e in range(model.cfg.n_routed):
            hits = tokens[choice == e]  # (n_e,)
            counts = torch.bincount(hits, minlength=len(chars))
            top = counts.topk(n)
            pairs = [(chars[i], int(c)) for c, i in zip(top.values, top.indices, strict=True) if c]
            layer.append((hits.numel() / choice.numel(), pairs))
        out.append(layer)
    return out
