"""Backends: embedded models load offline, Hub choices fail clearly and fall back, the network
check never hangs, a corrupt converted cache is rebuilt."""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import torch

from models import loader, network, registry
from models.handle import ModelHandle, private_copy


def test_embedded_models_load_with_real_parameter_counts(minilm, smollm2):
    assert minilm.params == 22_713_216
    assert smollm2.params == 134_515_008  # tied embeddings counted once
    assert minilm.choice.source == smollm2.choice.source == "embedded"
    assert isinstance(minilm.lock, type(threading.RLock()))


def test_embedded_models_give_attention_weights(minilm, smollm2):
    for h in (minilm, smollm2):
        enc = h.tokenizer("Attention rows sum to one.", return_tensors="pt")
        with torch.inference_mode():
            out = h.model(**enc, output_attentions=True)
        att = out.attentions[0]  # (B, nh, T, T)
        assert att.shape[-1] == enc["input_ids"].shape[1]
        torch.testing.assert_close(att.sum(-1), torch.ones_like(att.sum(-1)))


def test_the_wordpiece_and_bpe_pieces_of_the_issue_sentence(minilm, smollm2):
    text = "Transformers tokenize unbelievably well"
    wp = minilm.tokenizer.tokenize(text)
    assert wp[:5] == ["transformers", "token", "##ize", "un", "##bel"]
    ids = smollm2.tokenizer(text)["input_ids"]
    assert smollm2.tokenizer.decode(ids) == text
    assert smollm2.tokenizer.convert_ids_to_tokens(ids)[2] == "Ġtoken"


def test_chat_model_has_a_chat_template(smollm2):
    prompt = smollm2.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False
    )
    assert "<|im_start|>user\nHi<|im_end|>" in prompt and prompt.endswith("assistant\n")


def test_hub_choice_offline_raises_a_readable_error():
    with pytest.raises(loader.ModelLoadError, match="needs the Hugging Face Hub"):
        loader.load("bert-base-uncased")


def test_hub_choice_offline_falls_back_to_embedded_with_a_reason():
    handle = loader.load_with_fallback("roberta-base", "encoder")
    assert handle.choice.key == "minilm-embedded"
    assert "RoBERTa" in handle.fallback_reason and "MiniLM" in handle.fallback_reason


def test_unknown_model_key_is_a_clear_error():
    with pytest.raises(KeyError, match="Unknown model 'nope'"):
        registry.get_choice("nope")


def test_sidebar_roles_have_an_available_embedded_default():
    for role in registry.ROLE_TITLES:
        choice = registry.default_choice(role)
        assert choice.source == "embedded" and choice.available()


def test_every_kind_a_page_needs_has_a_role():
    kinds = {c.kind for choices in registry.ROLES.values() for c in choices}
    need = {"encoder", "causal-lm", "seq2seq", "token-cls", "qa", "masked-lm", "server"}
    assert need <= kinds
    # Hub-only roles have no offline default: pages ask with optional=True and say why.
    assert registry.default_choice("fill-mask") is None


KIND_REPOS = {
    "google-bert/bert-base-uncased": ("bert-base-uncased-mlm", "masked-lm", "MaskedLM"),
    "dslim/bert-base-NER": ("bert-base-ner", "token-cls", "TokenClassification"),
    "distilbert/distilbert-base-cased-distilled-squad": ("distilbert-squad", "qa",
                                                          "QuestionAnswering"),
    "sshleifer/distilbart-cnn-12-6": ("distilbart-cnn", "seq2seq", "ConditionalGeneration"),
    "HuggingFaceTB/SmolLM2-135M-Instruct": ("smollm2-135m-hub", "causal-lm", "CausalLM"),
}  # fmt: skip


def test_every_hub_kind_loads_through_the_one_loader_from_a_local_cache(monkeypatch, tmp_path):
    from tests.fakehub import fake_hub

    fake_hub(monkeypatch, tmp_path, {repo: kind for repo, (_, kind, _) in KIND_REPOS.items()})
    for key, kind, cls in KIND_REPOS.values():
        choice = registry.get_choice(key)
        assert choice.kind == kind and choice.available(), key  # cached: usable offline
        handle = loader.load(key)
        assert isinstance(handle, ModelHandle)
        assert type(handle.model).__name__.endswith(cls), (key, type(handle.model).__name__)
        assert not handle.model.training and handle.fallback_reason is None


def test_private_copy_is_detached_and_trainable(minilm):
    copy = private_copy(minilm)
    assert copy.private and not minilm.private
    assert copy.lock is not minilm.lock and copy.tokenizer is not minilm.tokenizer
    shared = minilm.model.embeddings.word_embeddings.weight
    mine = copy.model.embeddings.word_embeddings.weight
    assert mine.data_ptr() != shared.data_ptr() and torch.equal(mine, shared)
    before = shared.detach().clone()
    with torch.no_grad():
        mine.add_(1.0)  # training the copy …
    assert torch.equal(shared, before)  # … leaves the shared model as it was
    assert copy.model.training and not minilm.model.training


def test_prepared_choice_is_unavailable_until_made(monkeypatch, tmp_path):
    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    choice = registry.get_choice("sentiment-minilm-prepared")
    assert choice.source == "prepared" and not choice.available()
    with pytest.raises(loader.ModelLoadError, match="make prepare"):
        loader.load(choice.key)


def test_offline_env_is_honoured(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    state = network.detect(force=True)
    assert not state.online and "HF_HUB_OFFLINE" in state.reason


def test_dead_network_is_detected_fast(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)

    def hang(*args, **kwargs):
        time.sleep(3)  # a black-holed DNS lookup or SYN
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.perf_counter()
    state = network.detect(timeout=0.5, force=True)
    assert time.perf_counter() - start < 2
    assert not state.online and "unreachable" in state.reason
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    network.detect(force=True)


@pytest.mark.slow
def test_corrupt_converted_cache_is_rebuilt(tmp_path, monkeypatch, smollm2):
    src = loader.cache_root() / "smollm2-135m-instruct"
    dst = tmp_path / "smollm2-135m-instruct"
    shutil.copytree(src, dst)
    (dst / "model" / "model.safetensors").write_bytes(b"not a safetensors file")
    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    messages: list[str] = []
    handle = loader.load("smollm2-embedded", progress=messages.append)
    assert handle.params == 134_515_008
    assert any("unreadable" in m for m in messages)
    enc = handle.tokenizer("The capital of France is", return_tensors="pt")
    with torch.inference_mode():
        a = handle.model(**enc).logits
        b = smollm2.model(**enc).logits
    torch.testing.assert_close(a, b)
