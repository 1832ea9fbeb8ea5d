"""DistilBERT page: sizes from the real configurations, layer selection on a private copy,
measured latency and probe accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lessons import distilbert as db
from tests.apptest import assert_ok, open_page

SENTENCES = ["a fresh and funny film", "a dull, lifeless story", "the cast is wonderful"]


def test_distilbert_is_about_sixty_percent_of_bert_base():
    bert, distil = db.base_configs()
    assert (bert.layers, distil.layers) == (12, 6)
    assert bert.width == distil.width == 768 and bert.vocab == distil.vocab
    assert 0.59 < distil.params / bert.params < 0.62  # the paper's "40% smaller"
    # Embeddings are kept whole: removing 6 of 12 layers removes less than half the parameters.
    per_layer = (bert.params - distil.params) / 6
    assert distil.params > 6 * per_layer


def test_keeping_every_layer_reproduces_the_teacher(minilm):
    student = db.select_layers(minilm.model, list(range(6)))
    a = db.sentence_embeddings(minilm.model, minilm.tokenizer, SENTENCES)
    b = db.sentence_embeddings(student, minilm.tokenizer, SENTENCES)
    torch.testing.assert_close(a, b)


def test_every_other_layer_is_a_private_half_size_copy(minilm):
    before = sum(p.numel() for p in minilm.model.parameters())
    keep = db.every_other(6)
    assert keep == [0, 2, 4]
    student = db.select_layers(minilm.model, keep)
    one_layer = sum(p.numel() for p in minilm.model.encoder.layer[0].parameters())
    assert sum(p.numel() for p in student.parameters()) == before - 3 * one_layer
    assert len(minilm.model.encoder.layer) == 6  # the shared model is untouched
    assert sum(p.numel() for p in minilm.model.parameters()) == before == 22_713_216
    # The copied layers are the teacher's weights, not re-initialised ones.
    torch.testing.assert_close(
        student.encoder.layer[1].attention.self.query.weight,
        minilm.model.encoder.layer[2].attention.self.query.weight,
    )
    a = db.sentence_embeddings(minilm.model, minilm.tokenizer, SENTENCES)
    b = db.sentence_embeddings(student, minilm.tokenizer, SENTENCES)
    assert 0.0 < db.agreement(a, b) < 0.999  # related, but no longer the same vectors


def test_bad_layer_choice_is_a_clear_error(minilm):
    with pytest.raises(ValueError, match=r"0\.\.5"):
        db.select_layers(minilm.model, [7])
    with pytest.raises(ValueError):
        db.select_layers(minilm.model, [])


def test_probe_accuracy_separates_learnable_from_random_labels():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    x = rng.normal(size=(100, 8)) + y[:, None] * 2.0  # separable
    assert db.probe_accuracy(x, y) > 0.9
    assert db.probe_accuracy(rng.normal(size=(100, 8)), y) < 0.75


def test_page_measures_teacher_and_student():
    at = open_page("views/distilbert.py")
    assert at.title[0].value == "DistilBERT"
    assert "66,362,880" in " ".join(str(d.value) for d in at.dataframe)
    claims = at.table[0].value  # a table, not a scrolling grid: no clipped cells
    assert len(claims) == len(db.CLAIMS) and "97% of BERT" in " ".join(claims.iloc[:, 1])
    assert any("Offline: the real" in c.value for c in at.caption)
    at.button(key="db::go").click().run()
    assert_ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Speed-up"].rstrip("×")) > 1.0
    assert 0 < float(metrics["Probe accuracy kept"].rstrip("%")) <= 110
    assert "22,713,216" in " ".join(at.dataframe[-1].value["parameters"])
    at.multiselect(key="db::keep").set_value([]).run()
    assert_ok(at)
    assert any("at least one layer" in i.value for i in at.info)


def test_page_with_the_real_checkpoints_from_the_hub(monkeypatch, tmp_path):
    from tests.conftest import fresh_model_caches
    from tests.fakehub import fake_hub

    fake_hub(monkeypatch, tmp_path, {"distilbert/distilbert-base-uncased": "encoder",
                                     "google-bert/bert-base-uncased": "encoder"})  # fmt: skip
    # A server that has seen this page offline cached "not on the Hub": start as a new one would.
    fresh_model_caches()
    at = open_page("views/distilbert.py")
    assert any("config.json:" in c.value for c in at.caption)  # read from the (local) Hub cache
    at.button(key="db::real_go").click().run()
    assert_ok(at)
    real = at.dataframe[1].value
    assert list(real["model"]) == ["BERT base uncased (Hub)", "DistilBERT base uncased (Hub)"]
    assert (real["ms / sentence"] > 0).all() and (real["layers"] == 2).all()  # the tiny models
    fresh_model_caches()  # later tests must not get these tiny models' handles


def test_kept_layers_figure():
    from figures import distilbert as fig

    bars = fig.kept_layers(6, [0, 2, 4]).data[0]
    assert list(bars.y) == [1, 0.15, 1, 0.15, 1, 0.15]
    assert bars.hovertext[1] == "dropped"
