"""Which tokenizer the Tokenization page shows for each choice it offers, online or offline.

A Hub tokenizer that cannot be loaded here (offline, and not in the local Hugging Face cache) is
replaced by the embedded tokenizer of the same algorithm, and the page says so:
byte-level BPE (GPT-2, Llama-3) -> SmolLM2's, WordPiece (BERT cased) -> MiniLM's. No embedded
model uses Unigram, so T5's SentencePiece Unigram is replaced by a Unigram tokenizer trained here
on the gallery's built-in corpus (the registry choice "unigram-corpus", loaded below).
No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass

from models import network, registry

UNIGRAM_KEY = "unigram-corpus"
UNIGRAM_VOCAB = 1_000  # asked of the trainer; the 5k-character corpus may give fewer

# Hub choice -> the choice that stands in for it when it cannot be loaded.
STANDINS = {
    "gpt2-tok": "smollm2-embedded",
    "llama3-tok": "smollm2-embedded",
    "bert-cased-tok": "minilm-embedded",
    "t5-tok": UNIGRAM_KEY,
}


@dataclass(frozen=True)
class Shown:
    asked: str  # the choice the user picked
    key: str  # the choice whose tokenizer is shown
    note: str | None = None  # why another tokenizer stands in (None: it is the one asked for)

    @property
    def standin(self) -> bool:
        return self.key != self.asked


def standin_note(asked: registry.Choice, shown: registry.Choice) -> str:
    return (
        f"{asked.label} needs the Hugging Face Hub ({network.detect().reason}) and is not in "
        f"the local cache: showing {shown.label} instead ({shown.tokenizer_algo})."
    )


def resolve(keys: list[str]) -> list[Shown]:
    """For each picked choice: itself when it can be loaded here, else its stand-in."""
    out = []
    for key in keys:
        choice = registry.get_choice(key)
        sub = STANDINS.get(key)
        if choice.available() or sub is None:
            out.append(Shown(key, key))
        else:
            out.append(Shown(key, sub, standin_note(choice, registry.get_choice(sub))))
    return out


def option_label(key: str) -> str:
    """The multiselect's label: name, algorithm, and what stands in for it when unavailable."""
    c = registry.get_choice(key)
    label = f"{c.label} · {c.tokenizer_algo}"
    sub = STANDINS.get(key)
    if sub and not c.available():
        label += f" (offline: {registry.get_choice(sub).label.split(' (')[0]} stands in)"
    return label


# --- the registry's "unigram-corpus" choice ---------------------------------------------------


def unigram_ready(choice: registry.Choice) -> bool:
    return True  # trained from assets/ at load time (well under a second)


def load_unigram(choice: registry.Choice):
    """(tokenizer, None): a Unigram tokenizer trained on the built-in corpus, wrapped as a
    transformers fast tokenizer so it has offsets like the others."""
    from transformers import PreTrainedTokenizerFast

    from lessons import tokenizer_training as tt

    tok = tt.train_tokenizer(tt.builtin_corpus(), tt.TrainConfig("Unigram", UNIGRAM_VOCAB))
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token=tt.UNK), None
