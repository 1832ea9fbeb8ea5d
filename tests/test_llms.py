"""The LLMs page's calculators: published figures, the exact count transformers builds from the
same configs, the KV-cache and memory formulas, Hub ids (through a local Hub cache), the page."""

from __future__ import annotations

import pytest

from lessons import llm_calculator as calc
from lessons.llm_arch import (
    SHIPPED,
    Arch,
    HubConfigError,
    UnsupportedArchitecture,
    hub_config,
    published,
)
from tests.apptest import assert_ok, open_page, texts


def arch(key: str) -> Arch:
    return Arch.from_config(published(key).config)


def test_llama_3_1_8b_matches_its_published_figures():
    a = arch("llama-3.1-8b")
    assert calc.parameters(a).total == 8_030_261_248  # "8.03 B"
    assert calc.kv_cache_bytes(a, tokens=1, dtype="bf16") == 128 * 1024  # 128 KiB per token
    # The usual bug, num_heads for num_kv_heads, is 4x off on this GQA model.
    assert calc.kv_cache_bytes(a, 1, kv_heads=a.num_heads) == 4 * 128 * 1024


def test_deepseek_v3_total_active_and_mla_cache():
    a = arch("deepseek-v3")
    counts = calc.parameters(a)
    assert round(counts.total / 1e9) == 671
    assert 36.5e9 < counts.active < 38e9  # "37 B activated" (embeddings counted, as Mixtral's)
    per_token = calc.kv_cache_bytes(a, tokens=1, dtype="bf16")
    assert per_token == 61 * (512 + 64) * 2
    assert round(per_token / 1024, 1) == 68.6
    layouts = calc.kv_layouts(a, 4096)
    assert layouts["as MHA"] / layouts["MLA (this model)"] > 50


@pytest.mark.parametrize("key", [k for k in SHIPPED if k != "deepseek-v3"])
def test_count_equals_the_model_transformers_builds(key):
    """Every shipped config: the formula equals the parameters of the model transformers
    builds from it (on the meta device: shapes only)."""
    import torch
    import transformers as tf

    cfg = tf.AutoConfig.for_model(**published(key).config)
    auto = tf.AutoModel if cfg.model_type == "bert" else tf.AutoModelForCausalLM
    with torch.device("meta"):
        model = auto.from_config(cfg)
    assert calc.parameters(arch(key)).total == sum(p.numel() for p in model.parameters())


def test_mla_and_moe_count_equals_transformers_deepseek_v3():
    """DeepSeek-V3's layout (MLA with a q LoRA, dense first layers, shared + routed experts,
    a biased router) shrunk to build fast: the formula equals transformers' DeepseekV3 model."""
    import torch
    import transformers as tf

    small = dict(published("deepseek-v3").config, hidden_size=64, intermediate_size=96,
                 moe_intermediate_size=32, num_hidden_layers=4, first_k_dense_replace=1,
                 n_routed_experts=8, num_experts_per_tok=2, n_group=2, topk_group=1,
                 num_attention_heads=4, num_key_value_heads=4, q_lora_rank=24, kv_lora_rank=16,
                 qk_nope_head_dim=8, qk_rope_head_dim=4, v_head_dim=8, vocab_size=300)  # fmt: skip
    small.pop("quantization_config")
    with torch.device("meta"):
        model = tf.AutoModelForCausalLM.from_config(tf.AutoConfig.for_model(**small))
    counts = calc.parameters(Arch.from_config(small))
    assert counts.total == sum(p.numel() for p in model.parameters())
    assert counts.active < counts.total


def test_smollm2_count_equals_the_loaded_embedded_model(smollm2):
    loaded = sum(p.numel() for p in smollm2.model.parameters())
    assert calc.parameters(arch("smollm2-135m-instruct")).total == loaded == 134_515_008


def test_training_memory_parts():
    a = arch("llama-3.1-8b")
    n = calc.parameters(a).total
    full = calc.training_memory(a, "full", dtype="bf16", batch=1, seq=512)
    # Mixed-precision Adam: 2 (weights) + 2 (grads) + 4 (fp32 master) + 8 (moments) bytes.
    assert full.weights + full.gradients + full.optimizer == 16 * n
    lora = calc.training_memory(a, "lora", rank=8, dtype="bf16", batch=1, seq=512)
    assert lora.trainable == 32 * 8 * ((4096 + 4096) + (4096 + 1024)) == 3_407_872
    assert lora.total < full.total / 4
    frozen = calc.training_memory(a, "frozen", dtype="bf16", batch=1, seq=512)
    assert frozen.activations < lora.activations and frozen.gradients < lora.gradients
    ckpt = calc.training_memory(a, "full", dtype="bf16", batch=1, seq=512, checkpointing=True)
    assert ckpt.activations < full.activations
    with pytest.raises(ValueError):
        calc.training_memory(a, "everything")


def test_flops_and_chinchilla():
    assert calc.train_flops(1e9, 20e9) == 6 * 1e9 * 20e9
    assert calc.generate_flops(8e9) == 16e9
    assert calc.chinchilla_tokens(7e10) == 1.4e12  # Chinchilla: 70 B parameters, 1.4 T tokens


def test_unknown_architecture_is_a_clear_error():
    with pytest.raises(UnsupportedArchitecture, match="mamba"):
        Arch.from_config({"model_type": "mamba", "hidden_size": 8})


@pytest.mark.parametrize("bad", ["", "   ", "<script>alert(1)</script>", "a/b/c", "../../etc",
                                 "x" * 300, "🙂/model"])  # fmt: skip
def test_junk_hub_ids_are_refused_in_words(bad):
    with pytest.raises(HubConfigError):
        hub_config(bad)


def test_a_hub_id_reads_its_config_from_the_hub_cache(monkeypatch, tmp_path):
    from tests.fakehub import fake_hub

    fake_hub(monkeypatch, tmp_path, {"org/tiny-llama": "causal-lm"})
    a = Arch.from_config(hub_config("org/tiny-llama"))
    assert (a.hidden_size, a.num_layers, a.num_kv_heads) == (32, 2, 2)
    with pytest.raises(HubConfigError, match="offline"):
        hub_config("org/not-there")


def test_page_renders_each_tab_with_the_figures():
    at = open_page("views/llms.py")  # Llama-3.1-8B, bf16
    assert "8.03 B" in texts(at)
    expected = {
        "Memory": "15.0 GiB",  # bf16 weights
        "KV cache": "512.0 MiB",  # 128 KiB x 4,096 tokens
        "Compute": "161 B tokens",  # Chinchilla: 20 x 8.03 B
    }
    for tab, figure in expected.items():
        at.session_state["llms::tabs"] = tab
        at.run()
        assert_ok(at)
        shown = texts(at) + " ".join(str(d.value) for d in at.main.dataframe)
        assert figure in shown, tab


def test_page_kv_tab_and_smollm2_check():
    at = open_page("views/llms.py")
    at.selectbox(key="llms::model").select("SmolLM2-135M-Instruct").run()
    assert_ok(at)
    assert "134,515,008" in texts(at) and "equal" in texts(at)
    at.session_state["llms::tabs"] = "KV cache"
    at.run()
    assert_ok(at)
    assert "Per token: 22.5 KiB" in texts(at)  # 2 · 30 · 3 · 64 · 2 bytes
    assert "num_heads for num_kv_heads" in texts(at)


def test_page_hub_id_offline_is_a_clear_message():
    at = open_page("views/llms.py")
    at.selectbox(key="llms::model").select("A Hub model id…").run()
    assert_ok(at)
    assert "offline" in texts(at)
    at.text_input(key="llms::hub").input("<b>not an id</b>").run()
    assert_ok(at)
    assert "org/name" in texts(at)
