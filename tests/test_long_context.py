"""Long context: RoPE scaling vs transformers, the staged forward vs the model, flash attention vs
standard attention and SDPA, the traffic formulas, the benchmark, and the page."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

import figures
import figures.long_context as fig
from lessons import attention_bench as ab
from lessons import flash_attention as fa
from lessons import rope_scaling as rs
from tests.apptest import assert_ok, click, open_page, texts
from tests.conftest import ROOT
from tests.tabs import open_tab

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
    cfg = ab.BenchConfig(heads=2, head_dim=16, repeats=1, warmup=0, min_time_s=0, device="cpu")
    rows = ab.run_attention_bench([32, 16], cfg)
    avail = [m for m, why in ab.available_methods(cfg).items() if why is None]
    assert "eager" in avail and "sdpa:math" in avail
    assert [r["seq_len"] for r in rows] == [16] * len(avail) + [32] * len(avail)
    assert all(r["ms"] > 0 and r["calls"] >= 1 for r in rows)
    assert all(r["max_abs_err"] < 1e-5 for r in rows)  # every backend computes the same thing
    eager = next(r for r in rows if r["method"] == "eager" and r["seq_len"] == 32)
    assert eager["mem_mb"] == pytest.approx(2 * 32 * 32 * 4 / 2**20)


def test_benchmark_warms_up_before_it_times(monkeypatch):
    calls = []
    cfg = ab.BenchConfig(heads=1, head_dim=8, repeats=3, warmup=2, min_time_s=0, device="cpu")
    best, n = ab.time_call(lambda: calls.append(1), (), cfg)
    assert n == 3 and len(calls) == 5 and best >= 0  # 2 untimed, then 3 timed
    seen = []
    real = ab.warm_up
    monkeypatch.setattr(ab, "warm_up", lambda *a: seen.append(a) or real(*a))
    rows = ab.run_attention_bench([16, 8], cfg, methods=["eager", "sdpa:math"])
    names, lengths, _ = seen[0]
    assert len(seen) == 1 and names == ["eager", "sdpa:math"] and sorted(lengths) == [8, 16]
    assert all(r["calls"] >= 3 for r in rows)


def test_warmed_up_eager_grows_with_the_length():
    """The artefact of the cold benchmark (the first length slower than a longer one) is gone:
    64x more score entries take longer once warm-up costs are out of the timings."""
    cfg = ab.BenchConfig(heads=2, head_dim=32, device="cpu")
    rows = ab.run_attention_bench([64, 512], cfg, methods=["eager"])
    ms = {r["seq_len"]: r["ms"] for r in rows}
    assert ms[512] > ms[64]


def test_bench_figure_log_axes_read_in_full_and_equal_series_both_show():
    rows = [
        {"method": m, "seq_len": n, "ms": t, "mem_mb": mem}
        for n in (128, 256, 512, 1024)
        for m, t, mem in (
            ("eager", 0.001 * n, n * n * 36 / 2**20),
            ("sdpa:math", 0.0008 * n, n * n * 36 / 2**20),  # the same analytic memory
            ("sdpa:flash", 0.0005 * n, None),
        )
    ]
    f = fig.bench(rows, "mem_mb", "Memory", "MiB")
    # flash holds no N×N matrix; the legend says which line lies on which
    assert [t.name for t in f.data] == ["eager", "sdpa:math (= eager)"]
    assert "**sdpa:math** equals **eager**" in fig.overlap_note(rows, "mem_mb")
    assert fig.overlap_note(rows, "ms") is None  # different latencies: no note
    assert [t.name for t in fig.bench(rows, "ms", "Latency", "ms").data] == [
        "eager", "sdpa:math", "sdpa:flash",
    ]  # fmt: skip
    assert list(f.data[0].y) == list(f.data[1].y)
    a, b = f.data[0].line, f.data[1].line
    assert a.dash != b.dash and a.width > b.width  # the wide line shows under the dashed one
    assert f.layout.yaxis.type == "log" and f.layout.xaxis.type == "log"
    assert list(f.layout.xaxis.ticktext) == ["200", "500", "1,000"]
    lat = fig.bench(rows, "ms", "Latency", "ms")
    assert list(lat.layout.yaxis.ticktext) == figures.log_ticks(0.064, 1.024)[1]


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


def test_method_summary_and_curves_assert_the_numbers():
    rows = {r["method"]: r for r in rs.method_summary(4.0, 2048)}
    assert rows["none"]["fastest_slowed"] == 1 and rows["none"]["pairs_out_of_range"] > 0
    assert rows["linear"]["fastest_slowed"] == pytest.approx(4.0)
    assert rows["linear"]["slowest_slowed"] == pytest.approx(4.0)
    assert rows["linear"]["pairs_out_of_range"] == 0
    assert rows["ntk"]["fastest_slowed"] == 1 and rows["ntk"]["slowest_slowed"] == pytest.approx(4)
    assert rows["yarn"]["attention_factor"] == pytest.approx(0.1 * math.log(4) + 1)
    curves = rs.scaling_curves(4.0, 2048)
    assert curves["target_len"] == 8192 and len(curves["pair"]) == 32
    assert curves["scaled_wavelength"]["linear"][0] == pytest.approx(4 * curves["wavelength"][0])
    f = fig.wavelengths(curves)
    assert f.layout.yaxis.type == "log" and "1,000" in f.layout.yaxis.ticktext
    assert [t.name for t in fig.angle_ratio(curves).data] == [fig.NAMES[m] for m in rs.METHODS]


def test_configs_for_model_read_smollm2s_rope(smollm2):
    cfgs = rs.configs_for_model(smollm2.model.config, ["none", "yarn"], 4.0, 256)
    assert [(c.method, c.factor, c.trained_len) for c in cfgs] == [
        ("none", 1.0, 256),
        ("yarn", 4.0, 256),
    ]
    assert {(c.head_dim, c.base) for c in cfgs} == {(64, 100_000.0)}  # 576 / 9 heads, theta


def test_perplexity_gaps_and_the_measured_cost():
    rows = [
        {"method": "none", "length": 64, "ppl": 10.0, "forward_len": 128, "forward_s": 1.0},
        {"method": "none", "length": 128, "ppl": 8.0, "forward_len": 128, "forward_s": 1.0},
        {"method": "linear", "length": 128, "ppl": 24.0, "forward_len": 128, "forward_s": 1.5},
        {"method": "yarn", "length": 64, "ppl": 10.5, "forward_len": 64, "forward_s": 0.4},
    ]
    assert rs.perplexity_gaps(rows) == {
        "linear": {"length": 128, "ratio": 3.0},
        "yarn": {"length": 64, "ratio": pytest.approx(1.05)},
    }
    assert rs.forward_cost(rows) == (128, 1.5)
    assert rs.forward_cost([{"method": "none"}]) is None


def test_step_checks_and_revealed_tiles():
    q, k, v = fa.random_qkv(8, 4, seed=0)
    assert torch.equal(q, fa.random_qkv(8, 4, seed=0)[0])
    steps = fa.online_softmax_steps(q, k, v, 2, 3, True)
    check = fa.check_steps(q, k, v, steps, 2, 3, True)
    assert check.steps_vs_softmax < 1e-6 and check.tiled_vs_sdpa < 1e-6
    shown = fa.revealed_scores(steps, 1, 8)  # query block 0, after its second key tile
    assert torch.isfinite(shown[0:2, 0:6]).sum() == 3  # causal: rows 0-1 see keys 0..row
    assert torch.isnan(shown[2:]).all()
    curves = fa.traffic_curves([1024, 4096], 64, 192 * 1024, 2)
    assert curves["standard_mib"][0] == fa.standard_traffic(fa.TrafficConfig(1024)) / 2**20
    assert all(r > 1 for r in curves["ratio"]) and curves["ratio"][1] > curves["ratio"][0]


def test_traffic_and_perplexity_figures_use_readable_log_axes():
    curves = fa.traffic_curves(fig.TRAFFIC_LENGTHS, 64, 192 * 1024, 2)
    f = fig.traffic(curves)
    assert f.layout.xaxis.type == f.layout.yaxis.type == "log"
    assert "100,000" in f.layout.xaxis.ticktext and "1,000" in f.layout.yaxis.ticktext
    assert "131,072" in fig.traffic_caption(curves, (64, 768))
    rows = [{"method": m, "length": n, "ppl": p} for m, p in (("none", 30.0), ("yarn", 33.0))
            for n in (128, 512)]  # fmt: skip
    ppl = fig.perplexity(rows, 256, 4.0)
    assert [t.name for t in ppl.data] == ["no scaling", "YaRN"]
    assert list(ppl.layout.xaxis.ticktext) == ["200", "500"] and "L = 256" in ppl.layout.title.text


def test_warm_computes_the_default_views():
    out = fig.warm()
    assert out["online_softmax_error"] < 1e-6 and out["flash_vs_sdpa_error"] < 1e-6
    assert out["pairs_out_of_range"]["linear"] == 0 < out["pairs_out_of_range"]["none"]
    assert "eager" in out["backends"] and out["traffic_ratio_at_max_n"] > 1


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


def tab(at, label: str):
    return open_tab(at, "lc::tabs", label)


def test_page_tabs_render_and_steppers_move():
    at = open_page("views/long_context.py")
    assert "Long context" in at.title[0].value
    assert len(at.get("plotly_chart")) == 2  # only the open tab: the two scaling figures
    at.slider(key="lc::factor").set_value(8.0).run()
    assert_ok(at)
    table = at.dataframe[0].value
    assert "pairs out of range at s·L = 65,536" in table.columns
    assert table.set_index("method").loc["linear (PI)", "fastest pair slowed ×"] == 8.0
    tab(at, "Online softmax")
    at.slider(key="lc::bk").set_value(5).run()
    at.button(key="lc::step::next").click().run()
    at.button(key="lc::step::next").click().run()
    assert at.slider(key="lc::step").value == 3
    at.button(key="lc::step::prev").click().run()
    assert at.slider(key="lc::step").value == 2
    assert_ok(at)
    captions = texts(at)
    spec = at.get("plotly_chart")[0].proto.spec
    assert "max |acc/l − softmax" in captions and "query block 0, key block 1" in spec
    frame = next(df.value for df in at.dataframe if "running max m" in df.value.columns)
    assert len(frame) == 2  # one row per query of the 2-query block
    tab(at, "Memory traffic")
    assert "less)" in texts(at) and "131,072" in texts(at)
    at.select_slider(key="lc::m").set_value(16).run()
    at.select_slider(key="lc::d").set_value(256).run()
    assert_ok(at)
    assert "Blocks: 8 queries × 8 keys" in texts(at)  # Bc = ceil(8192 / 1024), Br = min(Bc, d)


def test_page_buttons_with_smallest_settings():
    at = tab(open_page("views/long_context.py"), "Measured perplexity")
    # It opens on the default measurement: linear pays several-fold, YaRN a few percent.
    gaps = rs.perplexity_gaps(at.session_state["lc::ppl"]["rows"])
    assert (
        gaps["linear"]["ratio"] > 2
        and gaps["yarn"]["ratio"] < 1.5
        and gaps["yarn"]["length"] == 512
    )
    at.multiselect(key="lc::methods").set_value(["none", "linear"])
    at.multiselect(key="lc::lengths").set_value([64])
    click(at, "lc::ppl_run")
    table = next(df.value for df in at.dataframe if "linear (PI)" in df.value.columns)
    assert list(table.index) == [64]
    assert (table.to_numpy() > 1).all()
    assert table["linear (PI)"].iloc[0] > table["no scaling"].iloc[0]  # the price of linear
    shown = texts(at)
    assert "× its perplexity at n = 64" in shown and "the longest forward, 64 tokens" in shown

    tab(at, "Benchmark")
    at.multiselect(key="lc::blen").set_value([128])
    click(at, "lc::bench_run")
    rows = next(df.value for df in at.dataframe if "ms" in df.value.columns)
    assert {"eager", "sdpa:math"} <= set(rows["method"])
    assert (rows["ms"] > 0).all() and (rows["seq_len"] == 128).all() and (rows["calls"] >= 5).all()
    assert len(at.get("plotly_chart")) == 2
    assert "**sdpa:math** equals **eager** at every length" in texts(at)  # the memory plot's note
