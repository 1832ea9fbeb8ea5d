"""The DeepSeek page's prepared state: `python -m models.moe compare` on the built-in play, run by
`make prepare` (models.prepared.STEPS, "moe-compare"). The folder holds compare.json (every
run's summary and logged rows) and each variant's seed-0 model."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.moe.model import MoEGPT, expert_top_chars, load, text_routes
from models.moe.trainer import VARIANTS, checkpoint_name

NAME = "moe-compare"
DATA = Path(__file__).resolve().parents[2] / "assets" / "text" / "lamplighters.txt"


@dataclass
class Compared:
    runs: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    model: MoEGPT  # the balanced MoE, seed 0 (for the routing view)
    chars: list[str]
    # One state is shared by every session (st.cache_resource): a forward pass writes each MoE
    # layer's `last_choice`, so reads take the lock, and their answers are kept per input.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def text_routes(self, text: str) -> list[tuple[str, list[int] | None]]:
        """models.moe.model.text_routes on the balanced model, kept for the last 64 texts."""
        return self._kept(("routes", text), lambda: text_routes(self.model, self.chars, text))

    def held_out_experts(self):
        """models.moe.model.expert_top_chars on the play's held-out 10%, computed once."""
        return self._kept(
            ("held_out",),
            lambda: expert_top_chars(self.model, self.chars, validation_ids(self.chars)),
        )

    def _kept(self, key: tuple, compute):
        with self._lock:
            if key not in self._memo:
                if len(self._memo) >= 64:
                    self._memo.pop(next(iter(self._memo)))
                self._memo[key] = compute()
            return self._memo[key]


def read(folder: Path) -> Compared:
    obj = json.loads((folder / "compare.json").read_text(encoding="utf-8"))
    model, chars = load(folder / checkpoint_name(VARIANTS[0]))
    return Compared(obj["runs"], obj["rows"], model, chars)


def train_live(steps: int, seed: int, reporter) -> Compared:
    """The page's live run: the three variants, one seed, `steps` steps each, on the play."""
    from models.gpt.data import CharData, read_text_file
    from models.moe.model import MoEConfig
    from models.moe.trainer import TrainConfig, compare

    data = CharData.from_text(read_text_file(DATA), MoEConfig.block_size)
    cfg = MoEConfig(vocab_size=data.vocab_size)
    out = compare(data, cfg, TrainConfig(steps=steps), (seed,), reporter)
    return Compared(out["runs"], out["rows"], out["models"][VARIANTS[0]], data.chars)


def validation_ids(chars: list[str]):
    """The play's last 10% (never trained on) as ids of `chars`."""
    import torch

    from models.gpt.data import encode_with

    text = DATA.read_text(encoding="utf-8")
    return torch.tensor(encode_with(chars, text[int(0.9 * len(text)) :]))
