"""Llama architecture: the from-scratch block equals transformers' LlamaDecoderLayer on SmolLM2's
real weights; RMSNorm, SwiGLU and GQA pieces; the page."""

from __future__ import annotations

import pytest
import torch

from lessons import llama_block as lb
from tests.apptest import assert_ok, open_page, texts

TEXT = "The lighthouse keeper climbed the stairs every evening to light the lamp."


@pytest.mark.parametrize("layer", [0, 17, 29])
def test_block_by_hand_equals_transformers_decoder_layer(smollm2, layer):
    with smollm2.lock:
        p = lb.block_parity(smollm2.model, smollm2.tokenizer, TEXT, layer)
    assert p.max_abs_diff < 1e-5 and p.output_norm > 1


def test_rms_norm_is_layer_norm_without_mean_and_bias():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16) + 3.0
    w = torch.rand(16)
    ours = lb.rms_norm(x, w, 1e-6)
    ref = w * x / x.pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()
    assert torch.allclose(ours, ref, atol=1e-6)
    centred = x - x.mean(-1, keepdim=True)  # with the mean gone, RMSNorm is LayerNorm (no bias)
    ln = torch.nn.functional.layer_norm(centred, (16,), eps=1e-6) * w
    assert torch.allclose(lb.rms_norm(centred, w, 1e-6), ln, atol=1e-4)


def test_repeat_kv_shares_each_kv_head_with_its_group():
    kv = torch.arange(3.0).view(1, 3, 1, 1).expand(1, 3, 4, 2)  # (B, nkv, T, hs), head id as value
    out = lb.repeat_kv(kv, 3)  # 9 query heads
    assert out.shape == (1, 9, 4, 2)
    assert out[0, :, 0, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert lb.kv_sharing(9, 3)[4] == (4, 1)


def test_norms_and_gates_on_real_activations(smollm2):
    with smollm2.lock:
        n = lb.norm_compare(smollm2.model, smollm2.tokenizer, TEXT)
        g = lb.gate_stats(smollm2.model, smollm2.tokenizer, TEXT)
    assert min(n.cosine) > 0.99 and n.max_abs_diff > 0  # close, not identical
    assert g.inner == 1536 and 0 < g.closed_share < 1 and 0 < g.negative_share < 1


def test_page_parity_tab_and_each_other_tab():
    at = open_page("views/llama.py")
    gap = next(m for m in at.main.metric if m.label.startswith("max |ours"))
    assert float(gap.value) < 1e-5  # measured on this run, shown as a figure
    shown = {
        "RMSNorm": "cosine",
        "SwiGLU": "gate units per token",
        "GQA, RoPE & KV cache": "θ = 100,000",
    }
    for tab, marker in shown.items():
        at.session_state["llama::tabs"] = tab
        at.run()
        assert_ok(at)
        assert marker in texts(at), tab
    at.session_state["llama::tabs"] = "Configs side by side"
    at.run()
    table = at.main.dataframe[0].value
    assert set(table["norm"]) == {"LayerNorm", "RMSNorm"} and "DeepSeek-V3" in set(table["model"])


def test_page_empty_prompt_is_a_hint():
    at = open_page("views/llama.py")
    at.text_area(key="llama::text").input("   ").run()
    assert_ok(at)
    assert "Type a prompt" in " ".join(i.value for i in at.main.info)
