"""Project 6: a LoRA fine-tune of SmolLM2 (a Llama) on medical question–answer pairs, with LitGPT.

data.py      LitGPT JSON pairs and the settings
model.py     SmolLM2 converted to a LitGPT checkpoint, the LoRA GPT, NLL and greedy answers
trainer.py   the training loop (a `models.training.Reporter` sees every step), save, evaluate
commands.py  the plain LitGPT commands, and Llama-3.1-8B-Instruct's on a GPU
__main__.py  `python -m models.medqa train|evaluate|predict`
"""

from models.medqa.commands import LLAMA, litgpt_commands, llama_commands
from models.medqa.data import (
    ADAPTER,
    DATA,
    HELDOUT,
    MODEL_NAME,
    PREPARED,
    TRAIN,
    DataError,
    Settings,
    parse_pairs,
    read_pairs,
)
from models.medqa.model import (
    adapter_off,
    answer,
    checkpoint_dir,
    load,
    load_prepared,
    nll,
    prepared_ready,
)
from models.medqa.trainer import Trained, before_after, evaluate, save, train

__all__ = [
    "ADAPTER", "DATA", "HELDOUT", "LLAMA", "MODEL_NAME", "PREPARED", "TRAIN", "DataError",
    "Settings", "Trained", "adapter_off", "answer", "before_after", "checkpoint_dir", "evaluate",
    "litgpt_commands", "llama_commands", "load", "load_prepared", "nll", "parse_pairs",
    "prepared_ready", "read_pairs", "save", "train",
]  # fmt: skip
