"""A Hugging Face Hub cache with tiny models in it, so the gallery's online code paths run offline.

`fake_hub(monkeypatch, tmp_path, {"google-bert/bert-base-uncased": "masked-lm"})` builds a small
random model of that kind (BERT-like with MiniLM's WordPiece tokenizer, or Llama-like with
SmolLM2's tokenizer, or a tiny T5/BART-style seq2seq), saves it in the cache layout
`models--org--name/snapshots/<commit>/…` and points huggingface_hub at that cache. With
HF_HUB_OFFLINE=1 the registry then sees the repo as cached and the loader loads it as it would a
downloaded one: the same code path, other weights.
"""

from __future__ import annotations

from pathlib import Path

COMMIT = "0" * 40


def _bert_config(**kw):
    from transformers import BertConfig

    base = dict(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    return BertConfig(**{**base, **kw})


def build(kind: str, repo: str):
    """(tokenizer, model) of a tiny random model for `kind`."""
    import torch
    import transformers as tf

    from models import embedded, loader

    torch.manual_seed(0)
    if kind in ("encoder", "masked-lm", "token-cls", "qa", "seq-cls", "tokenizer"):
        tok = tf.AutoTokenizer.from_pretrained(embedded.minilm_dir())
        labels = {}
        if kind == "token-cls":
            names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
            labels = dict(
                id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)}
            )
        if kind == "seq-cls":
            labels = dict(id2label={0: "NEGATIVE", 1: "POSITIVE"},
                          label2id={"NEGATIVE": 0, "POSITIVE": 1})  # fmt: skip
        cfg = _bert_config(**labels)
        cls = getattr(tf, loader.AUTO_CLASS.get(kind, "AutoModel"))
        return tok, cls.from_config(cfg)
    if kind == "causal-lm":
        tok = tf.AutoTokenizer.from_pretrained(loader._smollm2_dir("tokenizer", lambda _: None))
        cfg = tf.LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                             num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=256, tie_word_embeddings=True)  # fmt: skip
        return tok, tf.AutoModelForCausalLM.from_config(cfg)
    if kind == "seq2seq":
        tok = tf.AutoTokenizer.from_pretrained(embedded.minilm_dir())
        cfg = tf.T5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2,
                          num_heads=4, decoder_start_token_id=tok.pad_token_id,
                          pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id)  # fmt: skip
        return tok, tf.AutoModelForSeq2SeqLM.from_config(cfg)
    raise ValueError(f"no tiny model for kind {kind!r}")


def save_to_cache(cache: Path, repo: str, tokenizer, model) -> Path:
    snap = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / COMMIT
    snap.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(snap)
    if model is not None:
        model.save_pretrained(snap)
    refs = snap.parents[1] / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(COMMIT)
    return snap


def fake_hub(monkeypatch, tmp_path: Path, repos: dict[str, str]) -> Path:
    """Build the tiny models for `repos` ({repo: kind}) into a fresh cache and use it."""
    import huggingface_hub.constants as hub_constants

    cache = tmp_path / "hub"
    for repo, kind in repos.items():
        tok, model = build(kind, repo)
        save_to_cache(cache, repo, tok, None if kind == "tokenizer" else model)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    return cache
