"""Long context: RoPE scaling vs transformers, the staged forward vs the model, flash attention vs
standard attention and SDPA, the traffic formulas, the benchmark, and the page."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from lessons import attention_bench as ab
from lessons import flash_attention as fa
from lessons import rope_scaling as rs
from tests.apptest import open_page
from tests.conftest import ROOT

# --- flash attention -------------------------------------------------------------------------


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(("T", "bq", "bk"), [(8, 2, 4), (13, 3, 5), (7, 7, 1), (16, 16, 16)])
def test_flash_matches_standard_and_sdpa(causal, T, bq, bk):
    gen = torch.Generator().manual_seed(T * 31 + bq)
    q, k, v = (torch.randn(2, 3, T, 16, generator=gen, dtype=torch.float64) for _ in range(3))
    ours = fa.flash_attention(q, k, v, block_q=bq, block_k=bk, causal=causal)  # (2, 3, T, 16)
    s = q @ k.transpose(-2, -1) / math.sqrt(16)
    if causal:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    manual = s.softmax(-1) @ v
    sdpa = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert torch.allclose(ours, manual, atol=1e-10)
    assert torch.allclose(ours, sdpa, atol=1e-10)
    assert torch.allclose(fa.standard_attention(q, k, v, causal), manual, atol=1e-12)


def test_flash_fp32_large_scores_stay_finite():
    # Scores around 100: a naive exp() would overflow; the running max keeps it exact.
    gen = torch.Generator().manual_seed(0)
    q, k = (torch.randn(1, 37, 8, generator=gen) * 10 for _ in range(2))  # fp32 scores ~ 100
    v = torch.randn(1, 37, 8, generator=gen)
    ours = fa.flash_attention(q, k, v, block_q=5, block_k=6, causal=True)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.isfinite(ours).all()
    assert (ours - ref).abs().max() < 1e-5


def test_flash_rejects_bad_blocks():
    q = torch.zeros(1, 4, 2)
    with pytest.raises(ValueError, match="block sizes"):
        fa.flash_attention(q, q, q, block_q=0)


@pytest.mark.parametrize("causal", [False, True])
def test_step_through_final_state_is_softmax(causal):
    gen = torch.Generator().manual_seed(3)
    T, d = 8, 4
    q, k, v = (torch.randn(T, d, generator=gen, dtype=torch.float64) for _ in range(3))
    steps = fa.online_softmax_steps(q, k, v, block_q=3, block_k=2, causal=causal)
    s = q @ k.T / math.sqrt(d)  # (T, T)
    if causal:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    # ceil(8/3) query blocks x ceil(8/2) key blocks tiles, skipped ones included
    assert len(steps) == 3 * 4
    assert sum(st.skipped for st in steps) == (3 if causal else 0)
    for qi in range(3):
        last = [st for st in steps if st.q_block == qi][-1]
        rows = slice(*last.rows)
        assert torch.allclose(last.m, s[rows].amax(-1))  # running max = row max
        assert torch.allclose(last.l_, torch.exp(s[rows] - last.m[:, None]).sum(-1))
    out = fa.steps_output(steps, T, d)
    assert torch.allclose(out, s.softmax(-1) @ v, atol=1e-12)
    # the rescale factor is exp(m_old - m_new): never above 1
    assert all((st.scale <= 1 + 1e-12).all() for st in steps)


def test_traffic_formulas():
    cfg = fa.TrafficConfig(seq_len=1024, head_dim=64, sram_bytes=100 * 1024, bytes_per_el=2)
    assert fa.standard_traffic(cfg) == (4 * 1024 * 64 + 4 * 1024**2) * 2
    br, bc = fa.flash_blocks(cfg)
    assert (br, bc) == (64, 200)  # Bc = ceil(51200 / 256), Br = min(Bc, d)
    tc, tr = math.ceil(1024 / bc), 1024 // br
    assert fa.flash_traffic(cfg) == (2 * 1024 * 64 + tc * tr * br * (3 * 64 + 4)) * 2
    # Theta(N^2 d^2 / M): doubling N ~ quadruples flash traffic at long N; standard ~ too,
    # but flash stays well below standard, and more SRAM means less traffic.
    n = [fa.TrafficConfig(seq_len=2**p) for p in range(8, 16)]
    std, fl = [fa.standard_traffic(c) for c in n], [fa.flash_traffic(c) for c in n]
    assert all(a < b for a, b in itertools.pairwise(std))
    assert all(a < b for a, b in itertools.pairwise(fl))
    assert all(f < s for f, s in zip(fl, std, strict=False))
    sizes = [16, 48, 100, 192]
    by_m = [fa.flash_traffic(fa.TrafficConfig(8192, 64, m * 1024)) for m in sizes]
    assert all(a > b for a, b in itertools.pairwise(by_m))
    with pytest.raises(ValueError, match="4d"):
        fa.TrafficConfig(1024, 256, 1024, 2)


# --- benchmark -------------------------------------------------------------------------------


def test_benchmark_rows():
    cfg = ab.BenchConfig(heads=2, head_dim=16, repeats=1, device="cpu")
    rows = ab.run_attention_bench([32, 16], cfg)
    avail = [m for m, why in ab.available_methods(cfg).items() if why is None]
    assert "eager" in avail and "sdpa:math" in avail
    assert [r["seq_len"] for r in rows] == [16] * len(avail) + [32] * len(avail)
    assert all(r["ms"] > 0 for r in rows)
    assert all(r["max_abs_err"] < 1e-5 for r in rows)  # every backend computes the same thing
    eager = next(r for r in rows if r["method"] == "eager" and r["seq_len"] == 32)
    assert eager["mem_mb"] == pytest.approx(2 * 32 * 32 * 4 / 2**20)


# --- RoPE scaling ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_config():
    from transformers import LlamaConfig

    return LlamaConfig(
        hidden_size=576,
        num_attention_heads=9,
        num_key_value_heads=3,
        max_position_embeddings=8192,
        rope_parameters={"rope_type": "default", "rope_theta": 100_000.0},
    )


@pytest.mark.parametrize("method", ["linear", "yarn", "dynamic", "ntk"])
@pytest.mark.parametrize(("factor", "trained"), [(2.0, 1024), (4.0, 8192), (8.0, 256)])
def test_scaled_inv_freq_matches_transformers(llama_config, method, factor, trained):
    cfg = rs.ScalingConfig(method, factor, trained)
    for seq_len in (None, trained // 2, trained * 3):
        ours, a_ours = rs.scaled_inv_freq(cfg, seq_len)
        lib, a_lib = rs.library_inv_freq(llama_config, cfg, seq_len)
        assert torch.allclose(ours, lib, rtol=1e-5, atol=0)
        assert a_ours == pytest.approx(a_lib)
    assert llama_config.rope_parameters["rope_type"] == "default"  # the copy was changed only


def test_scaling_shapes_the_frequencies():
    w = rs.scaled_inv_freq(rs.ScalingConfig("none", 1.0, 2048))[0]
    lin = rs.linear_inv_freq(rs.ScalingConfig("linear", 4.0, 2048))
    ntk = rs.ntk_inv_freq(rs.ScalingConfig("ntk", 4.0, 2048))
    yarn, att = rs.yarn_inv_freq(rs.ScalingConfig("yarn", 4.0, 2048))
    assert torch.allclose(w / lin, torch.full_like(w, 4.0))
    assert ntk[0] == w[0] and w[-1] / ntk[-1] == pytest.approx(4.0, rel=1e-4)
    assert yarn[0] == w[0] and w[-1] / yarn[-1] == pytest.approx(4.0)
    assert att == pytest.approx(0.1 * math.log(4) + 1)
    assert rs.dynamic_alpha(rs.ScalingConfig("dynamic", 4.0, 2048), 1000) == 1.0
    # past L unscaled RoPE extrapolates its slow pairs; linear never does
    assert (rs.max_angle_seen(rs.ScalingConfig("none", 4.0, 2048), 8192) > 1.001).any()
    assert (rs.max_angle_seen(rs.ScalingConfig("linear", 4.0, 2048), 8192) <= 1 + 1e-5).all()
    with pytest.raises(ValueError, match="Unknown RoPE scaling"):
        rs.ScalingConfig("xpos")


def test_staged_forward_matches_model_logits(smollm2):
    text = "Rotary embeddings rotate queries and keys; the model sees relative distances."
    ids = smollm2.tokenizer(text, return_tensors="pt")["input_ids"]  # (1, T)
    T = ids.shape[1]
    cfg = rs.ScalingConfig("none", 1.0, 8192)
    with smollm2.lock, torch.inference_mode():
        ref = smollm2.model(input_ids=ids).logits[0]  # (T, V)
        cos, sin = rs.cos_sin(cfg, T)
        ours = smollm2.model.lm_head(rs.hidden_states(smollm2.model, ids, cos, sin))[0]
        nll = rs.token_nll(smollm2.model, ids, cfg, chunk=5)
        scaled = rs.token_nll(smollm2.model, ids, rs.ScalingConfig("linear", 4.0, 64))
    assert (ours - ref).abs().max() < 1e-4
    ref_nll = F.cross_entropy(ref[:-1].float(), ids[0, 1:], reduction="none")
    assert (nll - ref_nll).abs().max() < 1e-4
    assert not torch.allclose(scaled, nll, atol=1e-3)  # scaling really changes the predictions
    assert smollm2.model.config.rope_parameters["rope_type"] == "default"


def test_perplexity_sweep_prefix_property(smollm2):
    text = (ROOT / "assets" / "text" / "long_context.txt").read_text()
    with smollm2.lock:
        ids = smollm2.tokenizer(text, return_tensors="pt")["input_ids"]
    assert ids.shape[1] > 3000  # the built-in text is long enough for the page's lengths
    configs = [rs.ScalingConfig("none", 1.0, 32), rs.ScalingConfig("yarn", 2.0, 16)]
    with smollm2.lock, torch.inference_mode():
        rows, done = rs.perplexity_sweep(smollm2.model, ids, [16, 32], configs, budget_s=120)
        cut = rs.token_nll(smollm2.model, ids[:, :16], configs[0])  # a separate, shorter run
    assert done and len(rows) == 4
    none16 = next(r for r in rows if r["method"] == "none" and r["length"] == 16)
    assert none16["ppl"] == pytest.approx(math.exp(float(cut.mean())), rel=1e-4)
    assert all(1 < r["ppl"] < 1e4 for r in rows)


# --- the page --------------------------------------------------------------------------------


def test_page_renders_and_sliders_move():
    at = open_page("views/long_context.py")
    assert not at.exception, [e.value for e in at.exception]
    assert "Long context" in at.title[0].value
    at.slider(key="lc_factor").set_value(8.0).run()
    at.slider(key="lc_bk").set_value(5).run()
    at.slider(key="lc_step").set_value(3).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(c.value for c in at.caption)
    assert "max |acc/l − softmax" in captions
    table = next(df.value for df in at.dataframe if "running max m" in df.value.columns)
    assert len(table) == 2  # one row per query of the 2-query block


def test_page_buttons_with_smallest_settings():
    at = open_page("views/long_context.py")
    at.multiselect(key="lc_methods").set_value(["none", "linear"])
    at.multiselect(key="lc_lengths").set_value([64])
    at.button(key="lc_ppl_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(df.value for df in at.dataframe if "linear (PI)" in df.value.columns)
    assert list(table.index) == [64]
    assert (table.to_numpy() > 1).all()
    assert table["linear (PI)"].iloc[0] != table["no scaling"].iloc[0]

    at.multiselect(key="lc_blen").set_value([128])
    at.button(key="lc_bench_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rows = next(df.value for df in at.dataframe if "ms" in df.value.columns)
    assert {"eager", "sdpa:math"} <= set(rows["method"])
    assert (rows["ms"] > 0).all() and (rows["seq_len"] == 128).all()
