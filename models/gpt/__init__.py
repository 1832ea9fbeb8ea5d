"""Project 4: a character-level GPT from scratch, nanoGPT-style, one concept per file.

model.py             the model (attention, MLP, block, GPT) and its checkpoints; no entry point
data.py              characters in, integer ids out, random training windows
trainer.py           settings, schedule, the plain step, evaluation, sampling, the live loop
lightning_module.py  the same model on Lightning: devices, precision, DDP/FSDP, nodes
overhead.py          Lightning's cost against the plain step, same process
__main__.py          the command line: `python -m models.gpt train|sample|overhead`
"""

from models.gpt.model import (
    GPT,
    MODEL_PRESETS,
    CausalSelfAttention,
    CheckpointError,
    GPTConfig,
    checkpoint_zip,
    load_checkpoint,
    load_checkpoint_zip,
    save_checkpoint,
)

__all__ = [
    "GPT",
    "MODEL_PRESETS",
    "CausalSelfAttention",
    "CheckpointError",
    "GPTConfig",
    "checkpoint_zip",
    "load_checkpoint",
    "load_checkpoint_zip",
    "save_checkpoint",
]
