"""The T5 page: span corruption, relative position buckets (parity with transformers), the
small T5 trained live on prefixed tasks, its three attentions, and the page itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessons import span_corruption as sc
from lessons import t5 as T5
from models import t5_tasks as tt
from tests.apptest import assert_ok, html_of, open_page, train_on_page
from tests.tabs import open_tab
from tests.test_hostile_inputs import HOSTILE

pytestmark = pytest.mark.usefixtures("one_thread")


# ---- span corruption -----------------------------------------------------------------------


@pytest.mark.parametrize("length", [2, 5, 17, 100])
@pytest.mark.parametrize("rate,span", [(0.05, 1.0), (0.15, 3.0), (0.5, 8.0)])
def test_corrupted_input_and_target_rebuild_the_text_at_the_rate(length, rate, span):
    tokens = [f"t{i}" for i in range(length)]
    n_noise, n_spans = sc.counts(length, rate, span)
    for seed in range(20):
        c = sc.corrupt(tokens, rate, span, seed)
        assert sc.reconstruct(c.inputs, c.targets) == tokens
        assert sum(c.noise) == n_noise == round(length * rate) or length * rate < 1
        assert c.n_spans == n_spans == len(c.span_lengths())
        assert not c.noise[0]  # T5 starts with kept tokens
        sentinels = [t for t in c.targets if sc.is_sentinel(t)]
        assert sentinels == [sc.sentinel(i) for i in range(n_spans + 1)]  # in order, one closing
        assert len(c.inputs) == length - n_noise + n_spans
        assert len(c.targets) == n_noise + n_spans + 1


def test_noise_density_and_mean_span_match_the_settings():
    mean, sd, mspan = sc.density_spread(1_000, 0.15, 3.0, seeds=50)
    assert mean == pytest.approx(0.15) and sd < 1e-12  # the count is fixed; positions vary
    assert mspan == pytest.approx(3.0)
    masks = {tuple(sc.corrupt(list("abcdefghijklmnopqrst"), 0.3, 2.0, s).noise) for s in range(30)}
    assert len(masks) > 10  # the spans do move with the seed


def test_span_corruption_refuses_impossible_settings():
    with pytest.raises(ValueError):
        sc.corrupt(["a", "b"], 1.5, 3.0)
    with pytest.raises(ValueError):
        sc.corrupt(["a", "b"], 0.15, 0.5)
    assert sc.corrupt(["only"], 0.15, 3.0).inputs == ("only",)


# ---- relative positions ----------------------------------------------------------------------


def test_relative_buckets_equal_transformers():
    from transformers.models.t5.modeling_t5 import T5Attention

    rel = np.arange(-600, 601)
    for bi in (True, False):
        for nb, md in ((32, 128), (16, 32), (8, 20), (64, 256)):
            ref = T5Attention._relative_position_bucket(torch.tensor(rel), bi, nb, md).numpy()
            assert np.array_equal(T5.relative_bucket(rel, bi, nb, md), ref)
    ranges = T5.bucket_ranges(True, 32, 128, 300)
    # Bucket 16 would be "to the right, distance 0": it never occurs, so 31 buckets are used.
    assert [r.bucket for r in ranges] == [*range(16), *range(17, 32)]
    assert ranges[0].lo == ranges[0].hi == 0 and ranges[15].lo == -300  # exact, then the far end


@pytest.fixture(scope="module")
def trained():
    return tt.train(tt.TaskConfig(n_train=2_000), 12)


def test_bias_matrix_equals_t5_compute_bias(trained):
    model = trained.model
    for stack, bi in ((model.encoder, True), (model.decoder, False)):
        att = stack.block[0].layer[0].SelfAttention
        with torch.no_grad():
            ref = att.compute_bias(7, 7)[0].numpy()  # (H, q, k)
        table = att.relative_attention_bias.weight.detach().numpy()  # (buckets, H)
        md = model.config.relative_attention_max_distance
        ours = T5.bias_matrix(table, 7, 7, bi, max_distance=md)  # (H, q, k)
        np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_unigram_tokenizer_puts_t5_specials_first_and_round_trips():
    tok = T5.unigram_tokenizer(["the cat sat on the mat"] * 20 + ["a dog ran"] * 10, 60,
                               ["<pad>", "</s>", "<unk>"])  # fmt: skip
    assert (tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2)
    ids = tok("the cat ran")["input_ids"]
    assert ids[-1] == 1 and tok.decode(ids, skip_special_tokens=True) == "the cat ran"
    assert tok.convert_ids_to_tokens(ids)[0].startswith("▁")


# ---- the small T5 trained on prefixed tasks --------------------------------------------------


def test_the_small_t5_learns_three_tasks_from_the_prefix(trained):
    untrained = tt.accuracy(tt.build(trained.cfg, trained.tokenizer), trained.tokenizer,
                            trained.val)  # fmt: skip
    best = trained.fit.best
    assert best["val_acc"] > sum(untrained.values()) / 3 + 0.2, (best, untrained)
    losses = [r["train_loss"] for r in trained.fit.history if "train_loss" in r]
    assert losses[-1] < 0.5 * losses[0]
    assert tt.answer("reverse", ["a", "b"]) == ["b", "a"] and tt.answer("sort", ["b", "a"]) == [
        "a", "b"]  # fmt: skip


def test_three_attentions_are_distributions_and_the_view_is_offline(trained):
    att = T5.seq2seq_attention(trained.model, trained.tokenizer, "reverse: fox <script> red",
                               "red <unk> fox")  # fmt: skip
    L, H, S, _ = att.encoder.shape
    T = len(att.decoder_tokens)
    assert att.cross.shape == (L, H, T, S) and att.decoder.shape == (L, H, T, T)
    for a in (att.encoder, att.decoder, att.cross):
        np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(att.decoder, k=1) == 0)  # the decoder never reads the future
    page = T5.model_view_html(att)
    assert "cdnjs" not in page and "<unk>" not in page and "\\u003cunk\\u003e" in page


# ---- the page ----------------------------------------------------------------------------------


def train_t5_on_page(at, page: str, seconds: int = 20):
    """Press the page's Train button with the shortest budget; wait for the run, rerun, check."""
    at.slider(key=f"{page}::budget").set_value(seconds)
    return train_on_page(at, f"{page}::train", 60, states=("done", "timeout"))


def test_page_trains_the_small_t5_and_answers_hostile_input():
    at = open_page("views/t5.py")
    train_t5_on_page(at, "t5")
    assert any("small T5 (trained here" in m.value for m in at.main.markdown)
    box = at.text_input(key="t5::mine")
    for value in HOSTILE.values():
        box.input(value).run()
        assert_ok(at)
    open_tab(at, "t5::tabs", "Three attentions")
    at.radio(key="t5::att_model").set_value(tt_label()).run()
    assert_ok(at)
    assert at.get("iframe"), "the bertviz model view is drawn"
    for value in HOSTILE.values():
        at.text_input(key="t5::att_live").input(value).run()
        assert_ok(at)
    open_tab(at, "t5::tabs", "Span corruption")
    for value in HOSTILE.values():
        at.text_area(key="t5::sc_text").input(value).run()
        assert_ok(at)
        assert "<script>" not in html_of(at)
    open_tab(at, "t5::tabs", "Relative positions")
    at.radio(key="t5::pos_model").set_value(tt_label()).run()
    assert_ok(at)
    assert len(at.get("plotly_chart")) == 2  # the buckets and the learned bias


def tt_label() -> str:
    from views.t5.common import LIVE

    return LIVE


def test_figures_draw_logged_rows_and_buckets():
    from figures import t5 as fig

    assert fig.training_curves([{"step": 1, "t": 0}]) is None
    rows = [{"step": s, "train_loss": 2 / s, "acc_copy": 0.1 * s, "acc_reverse": 0.0,
             "acc_sort": 0.05 * s, "val_acc": 0.05 * s, "examples_per_s": 1500.0}
            for s in (1, 2, 3)]  # fmt: skip
    f = fig.training_curves(rows)
    assert [t.name for t in f.data] == ["loss", "copy:", "reverse:", "sort:"]
    assert list(f.data[1].y) == [0.1, 0.2, 0.30000000000000004]
    assert "1,500 training examples/s" in fig.training_caption(rows)
    rel = np.arange(-10, 11)
    b = fig.buckets(rel, T5.relative_bucket(rel, True, 8, 8), T5.relative_bucket(rel, False, 8, 8),
                    8)  # fmt: skip
    assert len(b.data) == 2 and list(b.data[1].y)[-1] == 0  # causal: the future is bucket 0
    h = fig.bias_heads(np.zeros((2, 3, 3)), "bias")
    assert np.asarray(h.data[0].z).shape == (3, 8)  # 2 heads × (3 keys + a gap)


def test_page_online_path_asks_a_hub_t5_and_draws_its_attention(monkeypatch, tmp_path):
    from tests.fakehub import fake_hub

    fake_hub(monkeypatch, tmp_path, {"google-t5/t5-small": "seq2seq"})
    at = open_page("views/t5.py")
    at.radio(key="t5::hub").set_value("T5 small (Hub)").run()
    assert_ok(at)
    assert any(m.value.startswith("**T5 small (Hub):**") for m in at.main.markdown)
    open_tab(at, "t5::tabs", "Three attentions")
    at.radio(key="t5::att_model").set_value("T5 small (Hub)").run()
    assert_ok(at)
    assert at.get("iframe")
