"""Project 4's prepared state: the baby GPT trained by `make prepare` on the built-in play.

`python -m models.gpt train --data assets/text/lamplighters.txt --preset baby --max-iters 2000`
(the project's own command) writes a checkpoint folder; the registry's `char-gpt` choice loads it
through these two functions, so the page gets it as a shared handle (`ui.models.get_model`):
the handle's tokenizer is the character list.
"""

from __future__ import annotations

from pathlib import Path

NAME = "gpt-lamplighters"  # models.prepared.STEPS
DATA = Path(__file__).resolve().parents[2] / "assets" / "text" / "lamplighters.txt"


def ready(choice=None) -> bool:
    from models import prepared

    return prepared.ready(choice.repo if choice is not None else NAME)


def load(choice):
    """(characters, model) of the prepared checkpoint."""
    from models import prepared
    from models.gpt.model import load_checkpoint

    model, chars = load_checkpoint(prepared.path(choice.repo))
    return chars, model
