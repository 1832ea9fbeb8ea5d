"""A character-level GPT from scratch, nanoGPT-style: the model, in one file.

Causal self-attention -> MLP -> pre-LN Block -> GPT (token + position embeddings, a stack of
blocks, a final LayerNorm and a language-model head tied to the token embedding).
The model file has no entry point: data, training and the command line import it
(`models/gpt/data.py`, `trainer.py`, `lightning_module.py`, `__main__.py`), never the reverse.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class GPTConfig:
    block_size: int = 64  # context length: the most characters the model sees at once
    vocab_size: int = 65  # distinct characters in the training text
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False  # no bias in Linears/LayerNorms: a bit better and faster (nanoGPT)
    flash: bool = True  # True: F.scaled_dot_product_attention; False: the manual masked softmax


# Model shapes of the presets; their training settings are in trainer.TRAIN_PRESETS.
# baby  = nanoGPT's "I only have a macbook" command (CPU): ~0.8M parameters.
# small = nanoGPT's config/train_shakespeare_char.py (one GPU): ~10.7M parameters.
# tiny  = smaller still, so the live page shows readable text within a minute on two cores.
MODEL_PRESETS: dict[str, dict] = {
    "tiny": dict(n_layer=2, n_head=4, n_embd=64, block_size=32, dropout=0.0),
    "baby": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0),
    "small": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2),
}


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (nn.LayerNorm could not drop only the bias until 2.1)."""

    def __init__(self, ndim: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0, "n_embd must be divisible by n_head"
        # query, key and value projections for all heads in one matmul
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.flash = config.flash
        # lower-triangular mask for the manual path: position t may look at 0..t only
        mask = torch.tril(torch.ones(config.block_size, config.block_size, dtype=torch.bool))
        self.register_buffer(
            "mask", mask.view(1, 1, config.block_size, config.block_size), persistent=False
        )  # (1, 1, T, T); rebuilt, never saved

    def forward(self, x: torch.Tensor, flash: bool | None = None) -> torch.Tensor:
        B, T, C = x.size()  # batch, sequence length, embedding width (n_embd)
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # 3 x (B, T, C)
        # split the width into heads and move the head axis next to the batch axis
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)

        use_flash = self.flash if flash is None else flash
        if use_flash:
            # fused kernel (FlashAttention on CUDA): never materialises the (T, T) matrix
            y = F.scaled_dot_product_attention(
                q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
            )  # (B, nh, T, hs)
        else:
            # the same thing, spelled out: scores, causal mask, softmax, weighted sum of values
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
            att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))  # future -> -inf
            att = F.softmax(att, dim=-1)  # each row sums to 1 over positions 0..t
            att = self.attn_dropout(att)
            y = att @ v  # (B, nh, T, T) x (B, nh, T, hs) -> (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again: (B, T, C)
        return self.resid_dropout(self.c_proj(y))  # (B, T, C)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gelu(self.c_fc(x))  # (B, T, 4C): per-position, no mixing across time
        return self.dropout(self.c_proj(x))  # (B, T, C)


class Block(nn.Module):
    """Pre-LN: normalise *before* each sub-layer, add to the residual stream after it, so the
    residual path from input to output is an identity and deep stacks train without warm-up
    tricks (GPT-2 moved LayerNorm here from the original post-LN Transformer)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))  # communicate: mix information across positions
        x = x + self.mlp(self.ln_2(x))  # compute: per position
        return x


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # weight tying: reading a token in and scoring it out use one matrix (fewer parameters,
        # and both ends learn from every step)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2: scale the residual projections by 1/sqrt(2 * n_layer) so the residual stream's
        # variance does not grow with depth (two additions per block)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameters, counted once (tied weights are one tensor); minus the position table, as
        nanoGPT reports it."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.transformer.wpe.weight.numel() if non_embedding else n

    def set_flash(self, flash: bool) -> None:
        self.config.flash = flash
        for block in self.transformer.h:
            block.attn.flash = flash

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        T = idx.size(1)  # idx: (B, T) character ids
        if self.config.block_size < T:
            raise ValueError(f"sequence of {T} tokens; the context is {self.config.block_size}")
        pos = torch.arange(0, T, dtype=torch.long, device=idx.device)  # (T,)
        tok_emb = self.transformer.wte(idx)  # (B, T, C)
        pos_emb = self.transformer.wpe(pos)  # (T, C), broadcast over the batch
        x = self.transformer.drop(tok_emb + pos_emb)  # (B, T, C)
        for block in self.transformer.h:
            x = block(x)  # (B, T, C)
        x = self.transformer.ln_f(x)  # (B, T, C)
        if targets is None:
            return self.lm_head(x), None  # (B, T, vocab)
        logits = self.lm_head(x)  # (B, T, vocab)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def estimate_mfu(self, fwdbwd_per_iter: int, dt: float, peak_flops: float = 989e12) -> float:
        """Model FLOPs utilisation (nanoGPT / PaLM appendix B): achieved FLOP/s over the peak.
        `peak_flops` defaults to an H100/H200 SXM's dense bf16 figure."""
        cfg = self.config
        N = self.num_params()
        L, H, Q, T = cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head, cfg.block_size
        flops_per_token = 6 * N + 12 * L * H * Q * T  # 6N for the matmuls fwd+bwd, + attention
        flops_per_iter = flops_per_token * T * fwdbwd_per_iter
        return flops_per_iter / dt / peak_flops

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Append `max_new_tokens` sampled tokens to idx (B, T). temperature 0 means greedy."""
        for _ in range(max_new_tokens):
            # the model only knows block_size positions: keep the most recent ones
            idx_cond = idx[:, -self.config.block_size :]  # (B, <=block_size)
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :]  # (B, vocab): only the last position predicts the next
            if temperature <= 0:
                idx_next = logits.argmax(dim=-1, keepdim=True)  # (B, 1)
            else:
                logits = logits / temperature  # <1 sharpens, >1 flattens the distribution
                if top_k is not None and top_k > 0:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))  # (B, k)
                    logits[logits < v[:, [-1]]] = -float("inf")  # keep only the k best
                probs = F.softmax(logits, dim=-1)  # (B, vocab)
                idx_next = torch.multinomial(probs, num_samples=1, generator=generator)  # (B, 1)
            idx = torch.cat((idx, idx_next), dim=1)  # (B, T + 1)
        return idx


# --- checkpoint: safetensors weights + config json + the character vocabulary ------------------

WEIGHTS, CONFIG, VOCAB = "model.safetensors", "config.json", "vocab.json"


def save_checkpoint(model: GPT, chars: list[str], out: str | Path, extra: dict | None = None):
    """Write DIR/model.safetensors, DIR/config.json and DIR/vocab.json."""
    from safetensors.torch import save_model

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    save_model(model, str(out / WEIGHTS))  # handles the tied wte/lm_head weight
    (out / CONFIG).write_text(json.dumps({**asdict(model.config), **(extra or {})}, indent=2))
    (out / VOCAB).write_text(json.dumps(chars, ensure_ascii=False))
    return out


class CheckpointError(ValueError):
    """A model directory that cannot be loaded, with a message a person can act on."""


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[GPT, list[str]]:
    from safetensors.torch import load_model

    path = Path(path)
    missing = [n for n in (WEIGHTS, CONFIG, VOCAB) if not (path / n).is_file()]
    if missing:
        raise CheckpointError(f"{path} is not a GPT checkpoint: missing {', '.join(missing)}")
    try:
        raw = json.loads((path / CONFIG).read_text())
        chars = json.loads((path / VOCAB).read_text())
        fields = GPTConfig.__dataclass_fields__
        config = GPTConfig(**{k: v for k, v in raw.items() if k in fields})
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: unreadable config or vocab ({exc})") from exc
    if not isinstance(chars, list) or len(chars) != config.vocab_size:
        raise CheckpointError(f"{path}: the vocab does not match vocab_size={config.vocab_size}")
    model = GPT(config)
    try:
        load_model(model, str(path / WEIGHTS), device=device)
    except Exception as exc:  # wrong shapes or a corrupt file
        raise CheckpointError(f"{path}: weights do not fit the config ({exc})") from exc
    return model.to(device).eval(), chars


MAX_ZIP_BYTES = 200_000_000  # uncompressed; the `small` preset is ~43 MB of fp32 weights


def checkpoint_zip(model: GPT, chars: list[str], extra: dict | None = None) -> bytes:
    """The checkpoint directory as one zip (for a download button)."""
    import io
    import tempfile
    import zipfile

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        save_checkpoint(model, chars, tmp, extra)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in (WEIGHTS, CONFIG, VOCAB):
                zf.write(Path(tmp) / name, arcname=name)
    return buf.getvalue()


def load_checkpoint_zip(raw: bytes, device: str = "cpu") -> tuple[GPT, list[str]]:
    """Load an uploaded zip made by checkpoint_zip; only its three known files are read, and
    their declared sizes are checked before anything is decompressed."""
    import io
    import tempfile
    import zipfile

    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise CheckpointError("not a zip file: upload the zip this page's download made") from exc
    with zf:
        names = {Path(i.filename).name: i for i in zf.infolist() if not i.is_dir()}
        missing = [n for n in (WEIGHTS, CONFIG, VOCAB) if n not in names]
        if missing:
            raise CheckpointError(f"the zip is not a GPT checkpoint: missing {', '.join(missing)}")
        total = sum(names[n].file_size for n in (WEIGHTS, CONFIG, VOCAB))
        if total > MAX_ZIP_BYTES:
            raise CheckpointError(
                f"the checkpoint unpacks to {total:,} bytes; the limit is {MAX_ZIP_BYTES:,}"
            )
        with tempfile.TemporaryDirectory() as tmp:
            for n in (WEIGHTS, CONFIG, VOCAB):
                (Path(tmp) / n).write_bytes(zf.read(names[n]))
            return load_checkpoint(tmp, device)
