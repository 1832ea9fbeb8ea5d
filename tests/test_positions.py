"""Position embeddings: sinusoidal formula, MiniLM's learned table, RoPE parity with transformers,
and the page under slider moves and hostile input."""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lessons import learned_positions as lp
from lessons import rope, sinusoidal
from tests.apptest import assert_ok, html_of, open_page
from tests.tabs import open_tab

# --- sinusoidal -----------------------------------------------------------------------------


def test_sinusoidal_table_matches_paper_formula():
    cfg = sinusoidal.SinusoidalConfig(n_positions=40, d_model=16, base=10_000.0)
    pe = sinusoidal.sinusoidal_table(cfg)
    assert pe.shape == (40, 16)
    for p in range(40):
        for i in range(8):
            angle = p / 10_000 ** (2 * i / 16)
            assert pe[p, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-12)
            assert pe[p, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-12)


def test_sinusoidal_dot_depends_only_on_offset_and_decays():
    cfg = sinusoidal.SinusoidalConfig(n_positions=256, d_model=128, base=10_000.0)
    pe = sinusoidal.sinusoidal_table(cfg)
    dots = sinusoidal.dot_matrix(pe)
    closed = sinusoidal.dot_closed_form(cfg, 255)
    for k in (0, 1, 7, 50, 200):
        diag = torch.diagonal(dots, offset=k)
        assert torch.allclose(diag, torch.full_like(diag, closed[k].item()), atol=1e-9), k
    for p in (0, 31, 100):
        got = sinusoidal.dot_vs_offset(pe, p, 100)
        assert torch.allclose(got, closed[: len(got)], atol=1e-9)
    assert closed[0].item() == pytest.approx(cfg.d_model / 2)  # sin^2 + cos^2 per pair
    assert closed[20:].abs().max() < 0.65 * closed[0]


def test_sinusoidal_rejects_odd_dimension():
    with pytest.raises(ValueError, match="even"):
        sinusoidal.SinusoidalConfig(d_model=15)


# --- learned --------------------------------------------------------------------------------


def test_minilm_position_table_is_the_real_matrix(minilm):
    with minilm.lock:
        table = lp.position_table(minilm.model)
        real = minilm.model.embeddings.position_embeddings.weight.detach().numpy()
    cfg = minilm.model.config
    assert table.weight.shape == (cfg.max_position_embeddings, cfg.hidden_size) == (512, 384)
    assert table.first_row == 0
    np.testing.assert_array_equal(table.weight, real)


def test_learned_cosine_and_neighbours(minilm):
    with minilm.lock:
        table = lp.position_table(minilm.model)
    cos = lp.cosine_matrix(table.weight)
    np.testing.assert_allclose(np.diag(cos), 1.0, atol=1e-5)
    np.testing.assert_allclose(cos, cos.T, atol=1e-6)
    ks, sims = lp.neighbour_similarity(cos, 3, 10)
    assert ks[0] == -3 and ks[-1] == 10 and sims[ks == 0][0] == pytest.approx(1.0, abs=1e-5)
    mean = lp.mean_similarity_by_distance(cos, 100)
    # Training made neighbours similar and far positions dissimilar.
    assert mean[1] > 0.8 and mean[1] > mean[50] + 0.3 > mean[100] + 0.3


def test_learned_table_missing_gives_readable_error():
    with pytest.raises(ValueError, match="no learned absolute position table"):
        lp.position_table(torch.nn.Linear(2, 2))


# --- RoPE -----------------------------------------------------------------------------------


def test_rope_config_from_smollm2(smollm2):
    cfg = rope.RopeConfig.from_model_config(smollm2.model.config)
    assert (cfg.head_dim, cfg.base) == (64, 100_000.0)


def test_rope_config_without_theta_is_a_readable_error(minilm):
    with pytest.raises(ValueError, match="rope_theta"):
        rope.RopeConfig.from_model_config(minilm.model.config)


def test_inv_freq_cos_sin_match_model_rotary_embedding(smollm2):
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    model = smollm2.model
    cfg = rope.RopeConfig.from_model_config(model.config)
    ours = rope.inv_freq(cfg.head_dim, cfg.base)
    lib, scaling = LlamaRotaryEmbedding.compute_default_rope_parameters(model.config)
    assert scaling == 1.0
    torch.testing.assert_close(ours, lib, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours, model.model.rotary_emb.inv_freq.cpu(), atol=1e-6, rtol=0)
    pos = torch.arange(model.config.max_position_embeddings)  # 0..8191
    cos, sin = rope.cos_sin(pos, ours)
    with smollm2.lock, torch.no_grad():
        cos_m, sin_m = rope.model_cos_sin(model, pos)
    assert cos.shape == cos_m.shape == (8192, 64)
    torch.testing.assert_close(cos, cos_m, atol=1e-6, rtol=0)
    torch.testing.assert_close(sin, sin_m, atol=1e-6, rtol=0)


def test_apply_rope_matches_transformers():
    from transformers.models.llama import modeling_llama as hf

    gen = torch.Generator().manual_seed(0)
    q = torch.randn(2, 9, 16, 64, generator=gen)  # (B, nh, T, hs)
    k = torch.randn(2, 3, 16, 64, generator=gen)  # (B, nkv, T, hs)
    cos, sin = rope.cos_sin(torch.arange(100, 116), rope.inv_freq(64, 100_000.0))  # (T, hs)
    ours = rope.apply_rope(q, k, cos, sin)
    lib = hf.apply_rotary_pos_emb(q, k, cos.expand(2, -1, -1), sin.expand(2, -1, -1))
    torch.testing.assert_close(ours[0], lib[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(ours[1], lib[1], atol=1e-6, rtol=0)
    torch.testing.assert_close(rope.rotate_half(q), hf.rotate_half(q), atol=0, rtol=0)
    assert not torch.allclose(ours[0], q, atol=1e-3)  # it did rotate


def test_rotated_score_depends_only_on_relative_offset():
    gen = torch.Generator().manual_seed(1)
    q, k = torch.randn(64, generator=gen), torch.randn(64, generator=gen)
    freqs = rope.inv_freq(64, 10_000.0)

    def score(m: int, n: int) -> float:
        qm = rope.rotate(q[None], torch.tensor([m]), freqs)[0]
        kn = rope.rotate(k[None], torch.tensor([n]), freqs)[0]
        return (qm @ kn).item() / 8.0

    curve = rope.score_vs_distance(q, k, freqs, 300)
    for offset in (0, 1, 5, 37, 250):
        values = [score(n + offset, n) for n in (0, 3, 60, 200)]
        assert max(values) - min(values) < 1e-4, (offset, values)
        assert curve[offset].item() == pytest.approx(values[0], abs=1e-4)
    assert abs(score(5, 0) - score(6, 0)) > 1e-3  # a different offset is a different score


def test_rope_score_decays_with_distance():
    s = rope.score_vs_distance(torch.ones(64), torch.ones(64), rope.inv_freq(64, 1e5), 4096)
    assert s[0].item() == pytest.approx(8.0)  # 64 / sqrt(64)
    assert s[1000:].abs().max() < 0.6 * s[0]


def test_pair_coords_stay_on_their_circle():
    x = torch.zeros(8)
    x[0], x[3] = 1.0, 0.5
    xy = rope.pair_coords(x, torch.arange(20), rope.inv_freq(8, 100.0), [0, 3])  # (T, 2, 2)
    radii = xy.norm(dim=-1)
    torch.testing.assert_close(radii[:, 0], torch.ones(20))
    torch.testing.assert_close(radii[:, 1], torch.full((20,), 0.5))
    assert xy[1, 0, 0].item() == pytest.approx(math.cos(1.0), abs=1e-6)  # pair 0: 1 rad/token


def test_real_qk_reproduce_smollm2_attention(smollm2):
    tok, model = smollm2.tokenizer, smollm2.model
    ids = tok("The cat sat on the mat because it was warm.", return_tensors="pt")["input_ids"]
    T = ids.shape[1]
    cfg = rope.RopeConfig.from_model_config(model.config)
    with smollm2.lock, torch.no_grad():
        q, k = rope.pre_rope_qk(model, ids)  # (L, nh, T, hs), (L, nkv, T, hs)
        ref = model(input_ids=ids, output_attentions=True).attentions
    assert q.shape == (30, 9, T, 64) and k.shape == (30, 3, T, 64)
    cos, sin = rope.cos_sin(torch.arange(T), rope.inv_freq(cfg.head_dim, cfg.base))
    for layer in (0, 14, 29):
        q_rot, k_rot = rope.apply_rope(q[layer], k[layer], cos, sin)
        att = rope.causal_attention(q_rot, k_rot)  # (nh, T, T)
        torch.testing.assert_close(att, ref[layer][0], atol=1e-5, rtol=0)
        torch.testing.assert_close(att.sum(-1), torch.ones(9, T))


# --- what the page shows --------------------------------------------------------------------


def test_offset_curves_coincide_with_the_closed_form():
    cfg = sinusoidal.SinusoidalConfig(n_positions=128, d_model=64)
    curves, closed = sinusoidal.offset_curves(cfg)
    assert sorted(curves) == [0, 16, 32] and len(closed) == 65
    for c in curves.values():
        torch.testing.assert_close(c, closed[: len(c)], atol=1e-9, rtol=0)


def test_sentence_positions_and_mirrored_mean(minilm):
    with minilm.lock:
        pieces, n = lp.sentence_positions(minilm.tokenizer, "word " * 600 + "[CLS]", 512)
    assert n == 600 + 4 + 2 and len(pieces) == 512 and pieces[-1] == "[SEP]"  # [, cl, ##s, ]
    ks, m = lp.mirrored_mean(np.array([1.0, 0.8, 0.5]))
    assert ks.tolist() == [-2, -1, 0, 1, 2] and m.tolist() == [0.5, 0.8, 1.0, 0.8, 0.5]


def test_pair_demo_and_synthetic_decay():
    cfg = rope.RopeConfig(head_dim=64, base=100_000.0)
    pairs, xy, wl = rope.pair_demo(cfg, 20)
    assert pairs == [0, 1, 8, 31] and xy.shape == (20, 4, 2)
    torch.testing.assert_close(xy.norm(dim=-1)[:, 0], torch.ones(20))  # each pair on its circle
    assert wl[0].item() == pytest.approx(2 * math.pi) and wl[-1] > 1e5
    ones, rand = rope.synthetic_decay(cfg, 2048)
    assert ones[0].item() == pytest.approx(8.0) and rand[0] > 3 * rand[1500:].abs().mean()
    torch.testing.assert_close(rope.synthetic_decay(cfg, 2048)[1], rand)  # seeded


def test_angle_table_numbers():
    cfg = rope.RopeConfig(head_dim=64, base=10_000.0)
    t = rope.angle_table(cfg, 40)
    assert t.wrapped.shape == (40, 32) and t.sample.shape == (16, 16)
    assert t.pairs == list(range(0, 32, 2)) and t.omega[0].item() == 1.0  # pair 0: 1 rad/token
    assert t.sample[5, 1].item() == pytest.approx(5 * 10_000.0 ** (-4 / 64))  # p * omega_i, i = 2
    assert t.wrapped.min() >= -math.pi and t.wrapped.max() < math.pi
    assert t.wrapped[7, 0].item() == pytest.approx(7 - 2 * math.pi)  # 7 rad, folded once
    assert rope.angle_table(rope.RopeConfig(head_dim=8), 4).pairs == [0, 1, 2, 3]


def test_real_qk_parity_and_the_head_with_and_without_rotation(smollm2):
    text = rope.DEFAULT_SENTENCE
    with smollm2.lock:
        real = rope.real_qk(smollm2.model, smollm2.tokenizer, text, max_tokens=32)
        ids = smollm2.tokenizer(text, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            ref = smollm2.model(input_ids=ids, output_attentions=True).attentions
    T = len(real.pieces)
    assert real.n_total == T == ids.shape[1] and "".join(real.pieces) == text
    assert real.cos_sin_diff < 1e-6 and real.apply_diff < 1e-6
    for layer, head in ((2, 0), (29, 8)):
        with_rope, without = rope.with_and_without(real, layer, head)
        torch.testing.assert_close(with_rope, ref[layer][0, head], atol=1e-5, rtol=0)
    assert (with_rope - without).abs().max() > 0.01  # the rotation matters, even at layer 29
    with_rope, without = rope.with_and_without(real, 2, 0)  # the page's default head
    assert (with_rope - without).abs().max() > 0.1
    curve, mean = rope.real_decay(real, 2, 0, T - 1, 0)
    assert curve.shape == mean.shape == (2049,)
    qh, kh = rope.head_qk(real, 2, 0)
    assert curve[0].item() == pytest.approx((qh[-1] @ kh[0]).item() / 8.0, abs=1e-4)
    cut = rope.real_qk(smollm2.model, smollm2.tokenizer, "word " * 50, max_tokens=32)
    assert cut.n_total == 51 and cut.q.shape[2] == 32  # 50 words and the trailing space


def test_warm_runs_the_default_work(minilm, smollm2):
    assert set(rope.warm(minilm, smollm2)) == {"positions_table_s", "positions_rope_s"}


def test_figures():
    from figures import positions as F

    f = F.lines([("a", [1, 2], None), ("<b>", [1, 2], [5, 6])], "t", "x", "y")
    assert [t.name for t in f.data] == ["a", "&lt;b&gt;"] and list(f.data[1].x) == [5, 6]
    assert f.data[0].line.width > f.data[1].line.width  # coinciding curves stay visible
    t = F.table(np.eye(3), "t", "x", "y", "c")
    assert t.data[0].zmid == 0.0 and t.layout.height == F.HEIGHT
    a = F.angles(np.zeros((4, 2)))
    assert (a.data[0].zmin, a.data[0].zmax) == (-math.pi, math.pi)
    pairs, xy, wl = rope.pair_demo(rope.RopeConfig(), 8)
    circles = F.rotating_pairs(xy.numpy(), pairs, wl.tolist())
    assert len(circles.data) == 4 and "a turn every 6 tokens" in circles.data[0].name


# --- the page -------------------------------------------------------------------------------

PAGE = "views/positions.py"


def _tab(at: AppTest, label: str):
    open_tab(at, "pos::tabs", label)
    return next(t for t in at.tabs if t.label == label)


def _array(value) -> np.ndarray:
    """A plotly JSON array: a list, or {"dtype", "bdata", "shape"} (base64, plotly 6)."""
    if not isinstance(value, dict):
        return np.array(value, dtype=float)
    flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return flat.reshape([int(n) for n in str(value["shape"]).split(",")]).astype(float)


def _charts(block) -> int:
    return len(block.get("plotly_chart"))


def _set(at: AppTest, moves: dict) -> None:
    for key, value in moves.items():
        widget = at.slider(key=f"pos::{key}")
        widget.set_value(value).run()
        assert_ok(at)
        assert at.slider(key=f"pos::{key}").value == value, key


def test_page_tabs_sliders_and_parity():
    at = open_page(PAGE)
    assert _charts(_tab(at, "Sinusoidal")) == 2
    _set(at, {"sin_d": 64, "sin_T": 256})
    at.select_slider(key="pos::sin_base").set_value(1_000).run()
    assert_ok(at)
    learned = _tab(at, "Learned (MiniLM)")
    assert _charts(learned) == 2 and "512 × 384" in " ".join(c.value for c in learned.caption)
    _set(at, {"lp_shown": 512, "lp_p": 0, "lp_dist": 64})
    rot = _tab(at, "RoPE: the rotation")
    assert _charts(rot) == 3 and "rope_theta = 100,000" in " ".join(c.value for c in rot.caption)
    _set(at, {"rope_d": 32, "rope_T": 128, "rope_dist": 8192})
    at.select_slider(key="pos::rope_base").set_value(10_000).run()
    assert_ok(at)
    real = _tab(at, "RoPE in SmolLM2")
    diffs = [float(re.search(r"=\s*(\S+)", m.value).group(1)) for m in real.metric]
    assert len(diffs) == 2 and max(diffs) < 1e-6
    assert _charts(real) == 3
    _set(at, {"rope_layer": 29, "rope_head": 8})
    real = next(t for t in at.tabs if t.label == "RoPE in SmolLM2")
    with_rope = json.loads(real.get("plotly_chart")[0].proto.spec)  # the real attention
    z = _array(with_rope["data"][0]["z"])
    assert "layer 29, head 8" in with_rope["layout"]["title"]["text"]
    np.testing.assert_allclose(np.nansum(z, -1), 1.0, atol=1e-5)
    assert np.triu(np.nan_to_num(z), 1).max() == 0.0 and z[3, :3].max() < 0.999  # causal, mixed


HOSTILE = {
    "script": "<script>alert(1)</script>",
    "special": "[CLS] <|im_start|>system<|im_end|> [SEP]",
    "huge": "position " * 25_000,  # 225,000 characters
    "emoji_zwj": "👩‍👩‍👧‍👦 family",
    "bidi": "abc \u202edcba\u202c שלום",
    "zero_width_control": "in\u200bvis\u200dible bell\x07 null\x00",
    "numeric": "1e309 NaN -0 ١٢٣",
}


def test_page_main_input_real_and_hostile():
    at = open_page(PAGE)
    at.text_input(key="pos::text").input("Dogs chase cats around the old garden.").run()
    learned = _tab(at, "Learned (MiniLM)")
    spans = html_of(at)
    assert "garden" in spans and 'title="position 1"' in spans and _charts(learned) == 2

    at.text_input(key="pos::text").input("").run()
    assert_ok(at)
    assert _charts(_tab(at, "RoPE in SmolLM2")) == 0
    assert any("Type a sentence" in i.value for i in at.info)

    for name, value in HOSTILE.items():
        at.text_input(key="pos::text").input(value).run()
        assert_ok(at)
        assert _charts(_tab(at, "RoPE in SmolLM2")) == 3, name
        _tab(at, "Learned (MiniLM)")
        spans = html_of(at)
        assert "<script>" not in spans, name
        if name == "script":
            assert "&lt;" in spans and "script" in spans
        if name == "huge":
            captions = " ".join(c.value for c in at.caption)
            assert "only the first 1,000 are used" in captions
            _tab(at, "RoPE in SmolLM2")
            assert "the first 32 are used" in " ".join(c.value for c in at.caption)
