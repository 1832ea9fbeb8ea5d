"""Multi-head latent attention from scratch equals transformers' DeepseekV3Attention on the same
weights, both ways (keys rebuilt, or attention on the latent cache alone)."""

from __future__ import annotations

import pytest
import torch

from lessons import mla


@pytest.fixture(scope="module")
def tiny():
    """A DeepSeek-V3-shaped model, shrunk: q LoRA, KV latent, interleaved RoPE, YaRN scaling."""
    import transformers as tf

    torch.manual_seed(0)
    cfg = tf.DeepseekV3Config(
        vocab_size=100, hidden_size=64, intermediate_size=96, moe_intermediate_size=32,
        num_hidden_layers=1, first_k_dense_replace=1, num_attention_heads=4,
        num_key_value_heads=4, q_lora_rank=24, kv_lora_rank=16, qk_nope_head_dim=8,
        qk_rope_head_dim=4, v_head_dim=8, n_routed_experts=4, num_experts_per_tok=2, n_group=1,
        topk_group=1, max_position_embeddings=256,
        rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                      "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0},
        attn_implementation="eager",
    )  # fmt: skip
    model = tf.AutoModelForCausalLM.from_config(cfg).eval()
    return model


def _inputs(model, t: int = 12):
    x = torch.randn(2, t, model.config.hidden_size)
    positions = torch.arange(t)[None].expand(2, -1)
    cos, sin = model.model.rotary_emb(x, positions)  # (B, T, d_rope)
    return x, positions, cos, sin


@torch.no_grad()
@pytest.mark.parametrize("ours", [mla.mla_expanded, mla.mla_absorbed])
def test_mla_equals_transformers_deepseek_v3_attention(tiny, ours):
    attn = tiny.model.layers[0].self_attn
    x, _, cos, sin = _inputs(tiny)
    t = x.shape[1]
    mask = torch.full((t, t), float("-inf")).triu(1)[None, None]
    theirs, _ = attn(x, position_embeddings=(cos, sin), attention_mask=mask)
    mine = ours(x, attn, cos[0], sin[0])
    assert attn.scaling != attn.qk_head_dim**-0.5  # YaRN's mscale is part of what is tested
    assert (mine - theirs).abs().max() < 1e-5


def test_the_cache_is_the_latent(tiny):
    attn = tiny.model.layers[0].self_attn
    x, _, cos, sin = _inputs(tiny)
    lat = mla.latent(x, attn, cos[0], sin[0])
    assert lat.c_kv.shape == (2, 12, 16) and lat.k_rope.shape == (2, 12, 4)
    sizes = mla.cache_per_token(attn)
    assert sizes == {"MLA: latent + RoPE key": 20, "MHA: K and V of every head": 4 * (12 + 8)}
