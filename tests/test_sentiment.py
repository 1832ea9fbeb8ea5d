"""Project 1: the from-scratch sentiment transformer, its training loop, command line and page."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest
import torch
import torch.nn.functional as F

from models import jobs
from models import sentiment as sent
from models import sentiment_model as sm
from models.sentiment_data import DataError, Row, encode, load_tokenizer, parse_bytes, split
from models.training import Recorder, Stopped
from tests.apptest import open_page
from tests.conftest import ROOT

POS = ["great", "wonderful", "superb", "moving", "delightful", "brilliant", "funny", "charming"]
NEG = ["awful", "boring", "dull", "clumsy", "tedious", "lifeless", "painful", "stale"]
FILL = ["the", "film", "movie", "story", "acting", "plot", "was", "is", "really", "quite", "and"]


def synthetic_rows(n: int, seed: int = 0) -> list[Row]:
    """Filler words plus one or two sentiment words: learnable, but not from length or position."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = rng.choices(FILL, k=rng.randint(3, 8))
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(POS if label else NEG))
        rows.append(Row(" ".join(words), label))
    return rows


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def tiny_model(**kw) -> sm.ScratchClassifier:
    torch.manual_seed(0)
    return sm.ScratchClassifier(sm.ScratchConfig(**{**sm.SIZE_PRESETS["tiny"], **kw}))


# --- the model ---------------------------------------------------------------------------------


def test_attention_matches_sdpa_with_padding_mask():
    torch.manual_seed(0)
    B, nh, T, hs = 3, 4, 7, 16
    q, k, v = (torch.randn(B, nh, T, hs) for _ in range(3))
    lengths = torch.tensor([7, 4, 1])
    mask = torch.arange(T)[None, :] < lengths[:, None]  # (B, T)
    ours, att = sm.attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    assert torch.allclose(att.sum(-1), torch.ones(B, nh, T), atol=1e-6)
    assert att[1, :, :, 4:].abs().max() == 0  # nobody attends to padding
    assert att[2, :, :, 1:].abs().max() == 0


def test_self_attention_module_matches_sdpa():
    cfg = sm.ScratchConfig(n_embd=32, n_head=4, dropout=0.0)
    torch.manual_seed(1)
    layer = sm.SelfAttention(cfg).eval()
    x = torch.randn(2, 5, 32)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    ours, _ = layer(x, mask)
    q, k, v = layer.qkv(x).split(32, dim=2)
    q, k, v = (t.view(2, 5, 4, 8).transpose(1, 2) for t in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
    ref = layer.proj(y.transpose(1, 2).reshape(2, 5, 32))
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)


def test_forward_shapes_and_padding_does_not_change_the_answer(tokenizer):
    model = tiny_model().eval()
    enc = encode(tokenizer, [Row("a wonderful film", 1), Row("dull, dull and dull again", 0)], 64)
    input_ids, mask = sent.collate(enc.ids)  # (2, T)
    logits, att = model(input_ids, mask)
    T = input_ids.shape[1]
    assert logits.shape == (2, 2) and att.shape == (2, 2, T, T)
    # The short sentence alone (no padding) must get the same logits as when padded in a batch.
    alone, _ = model(*sent.collate(enc.ids[:1]))
    torch.testing.assert_close(alone[0], logits[0], atol=1e-5, rtol=0)
    cls = tiny_model(pool="cls").eval()
    assert cls(input_ids, mask)[0].shape == (2, 2)


def test_a_few_steps_reduce_the_loss(tokenizer):
    model = tiny_model(dropout=0.0, emb_dropout=0.0)
    enc = encode(tokenizer, synthetic_rows(64), 32)
    input_ids, mask = sent.collate(enc.ids)
    opt = sent.optimizer(model, sent.TrainConfig(lr=3e-3, weight_decay=0.0))
    losses = []
    for _ in range(40):
        loss = F.cross_entropy(model(input_ids, mask)[0], enc.labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[::8]


def test_fit_beats_chance_on_held_out_rows_and_keeps_the_best(tokenizer):
    train_rows, val_rows = split(synthetic_rows(400, seed=1), 0.2, seed=0)
    cfg = sent.default_config("scratch", size="tiny", warmup_steps=10, lr=3e-3)
    model = sent.build("scratch", "tiny")
    rec = Recorder()
    res = sent.fit(
        model,
        encode(tokenizer, train_rows, 32),
        encode(tokenizer, val_rows, 32),
        cfg,
        budget_s=120.0,
        reporter=rec,
        max_steps=80,  # a fixed amount of training, however busy the machine is
    )
    logged = [{k: v for k, v in r.items() if k != "t"} for r in rec.rows]
    assert logged and res.best in logged and res.steps > 0
    assert res.best["val_acc"] == max(r["val_acc"] for r in logged)
    assert res.best["val_acc"] >= 0.8, logged
    # The model ends with the best checkpoint's weights: its accuracy is the best one logged.
    ev = sent.evaluate(model, encode(tokenizer, val_rows, 32))
    assert ev["accuracy"] == pytest.approx(res.best["val_acc"], abs=1e-4)


def test_a_stop_during_fit_still_returns_a_model(tokenizer):
    class StopAfterFive(Recorder):
        calls = 0

        def check(self):
            self.calls += 1
            if self.calls > 5:
                raise Stopped("stopped by the user")

    rows = synthetic_rows(60)
    res = sent.fit(
        sent.build("scratch", "tiny"),
        encode(tokenizer, rows[:50], 32),
        encode(tokenizer, rows[50:], 32),
        sent.default_config("scratch", size="tiny"),
        budget_s=30,
        reporter=StopAfterFive(),
    )
    assert res.stopped == "stopped by the user" and res.steps <= 5 and res.best is not None


def test_minilm_classifier_is_a_private_copy_and_round_trips(minilm, tokenizer, tmp_path):
    model = sm.fresh_minilm().eval()
    shared = minilm.model.embeddings.word_embeddings.weight
    ours = model.encoder.embeddings.word_embeddings.weight
    assert ours.data_ptr() != shared.data_ptr() and torch.equal(ours, shared)
    model.want_attention = True
    enc = encode(tokenizer, [Row("fine", 1), Row("a long one", 0)], 64)
    input_ids, mask = sent.collate(enc.ids)
    logits, att = model(input_ids, mask)
    assert logits.shape == (2, 2) and att.shape == (2, 12, input_ids.shape[1], input_ids.shape[1])
    with torch.no_grad():
        model.head.weight.add_(0.5)  # a "trained" head, so the round trip has something to keep
        expected, _ = model(input_ids, mask)
    sm.save(model, tokenizer, tmp_path / "m")
    loaded, _, config = sm.load(tmp_path / "m")
    assert config["arch"] == "minilm" and config["bert"]["num_hidden_layers"] == 6
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids, mask)[0], expected, atol=1e-5, rtol=0)


# --- data files and the command line -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b'{"text": "good"}\n', "a.jsonl", "line 1: missing 'label'"),
        (b'{"text": "ok", "label": 1}\n{"text": "x", "label": 3}\n', "a.jsonl", "label must be 0"),
        (b"", "a.jsonl", "no rows"),
        (b"this is not json\n", "a.jsonl", "not valid JSON"),
        (b"review,stars\nnice,5\n", "a.csv", "needs a header with 'text' and 'label'"),
        (b"text,label\nnice,pos\n", "a.csv", "line 2: label must be 0 or 1"),
        (b"\xff\xfe\x00", "a.jsonl", "not UTF-8"),
    ],
)
def test_bad_data_gives_a_clear_message(content, name, message):
    with pytest.raises(DataError, match=message):
        parse_bytes(content, name)


def test_huge_upload_is_refused_before_parsing(monkeypatch):
    from models import sentiment_data

    monkeypatch.setattr(sentiment_data, "MAX_BYTES", 100)
    with pytest.raises(DataError, match="over the 100 byte limit"):
        parse_bytes(b'{"text": "a", "label": 1}\n' * 10, "big.jsonl")


def test_csv_upload_is_read():
    rows = parse_bytes(b'label,text\n1,great film\n0,"dull, slow"\n', "r.csv")
    assert rows == [Row("great film", 1), Row("dull, slow", 0)]


def _write(path, rows):
    path.write_text("".join(json.dumps({"text": r.text, "label": r.label}) + "\n" for r in rows))
    return path


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_cli_split_train_evaluate(tmp_path, capsys):
    data = _write(tmp_path / "all.jsonl", synthetic_rows(80))
    sent.main(["split", "--data", str(data), "--out", str(tmp_path / "s"), "--test-frac", "0.25"])
    first = (tmp_path / "s" / "test.jsonl").read_text()
    sent.main(["split", "--data", str(data), "--out", str(tmp_path / "s"), "--test-frac", "0.25"])
    assert (tmp_path / "s" / "test.jsonl").read_text() == first  # deterministic
    train_lines = set((tmp_path / "s" / "train.jsonl").read_text().splitlines())
    assert len(first.splitlines()) == 20 and not train_lines & set(first.splitlines())
    capsys.readouterr()

    out = tmp_path / "model"
    args = ["train", "--arch", "scratch", "--size", "tiny", "--minutes", "0.1"]
    sent.main([*args, "--data", str(tmp_path / "s" / "train.jsonl"), "--out", str(out)])
    lines = _json_lines(capsys.readouterr().out)
    evals = [r for r in lines if "val_acc" in r]
    keys = {"step", "train_loss", "val_loss", "val_acc", "examples_per_s"}
    assert evals and keys <= set(evals[0])
    assert lines[-1]["saved"] == str(out)
    assert (out / "model.safetensors").stat().st_size > 0
    config = json.loads((out / "config.json").read_text())
    assert config["arch"] == "scratch" and config["model"]["n_embd"] == 64
    assert (out / "tokenizer.json").exists()

    sent.main(["evaluate", "--model", str(out), "--data", str(tmp_path / "s" / "test.jsonl")])
    result = _json_lines(capsys.readouterr().out)[-1]
    assert list(result)[-1] == "accuracy" and result["n"] == 20
    assert 0.0 <= result["accuracy"] <= 1.0 and result["ms_per_sentence"] > 0
    # The saved model is the trained one: same predictions after a round trip.
    model, tok, _ = sm.load(out)
    again = sent.evaluate(model, encode(tok, sent.read_rows(tmp_path / "s" / "test.jsonl"), 64))
    assert again["accuracy"] == pytest.approx(result["accuracy"], abs=1e-4)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"text": "good"}\n', "missing 'label'"),
        ('{"text": "good", "label": 3}\n', "label must be 0 or 1, got 3"),
        ("", "no rows"),
        ("not json at all\n", "not valid JSON"),
    ],
)
def test_cli_bad_data_exits_2_with_a_message(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    with pytest.raises(SystemExit) as exc:
        sent.main(["train", "--data", str(bad), "--out", str(tmp_path / "m"), "--minutes", "0.1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_as_a_module_missing_model_dir(tmp_path):
    data = _write(tmp_path / "d.jsonl", synthetic_rows(4))
    proc = subprocess.run(
        [sys.executable, "-m", "models.sentiment", "evaluate", "--model", tmp_path, "--data", data],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no config.json" in proc.stderr and "Traceback" not in proc.stderr


# --- background jobs and the page --------------------------------------------------------------


def test_two_trainings_queue_for_the_slot():
    rows = synthetic_rows(60)

    def work(job):
        return sent.run_training(rows, "scratch", "tiny", 20, job)

    first = jobs.start("sent-first", work, budget_s=30)
    deadline = time.monotonic() + 20
    while first.fraction == 0 and time.monotonic() < deadline:  # training steps have begun
        time.sleep(0.05)
    second = jobs.start("sent-second", work, budget_s=30)
    time.sleep(0.5)
    try:
        assert first.state == "running" and second.state == "waiting"
    finally:
        second.stop()
        first.stop()
        first.join(30)
        second.join(30)
    assert not first.alive and not second.alive
    assert isinstance(first.result, sent.Trained)  # a stopped run still hands back its model


def test_page_trains_and_shows_curves_and_results():
    at = open_page("views/sentiment.py")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Project 1")
    at.select_slider(key="sent::size").set_value("tiny")
    budget = at.slider(key="sent::budget")
    budget.set_value(budget.min)
    at.button(key="go::sent::train").click()
    at.run()
    job = at.session_state["job::sent::train"]
    assert job.budget_s >= 10
    job.join(90)
    assert job.state in ("done", "timeout"), (job.state, job.error)
    assert any("val_acc" in m for m in job.snapshot())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert len(charts) >= 3  # curves, confusion matrix, attention heatmap
    assert job.result.fit.steps > 0
    frame = at.dataframe[0].value
    assert {"text", "label", "predicted", "P(positive)"} <= set(frame.columns)
    assert at.metric[0].label == "Best validation accuracy"


def test_page_offline_hub_source_is_unavailable_not_an_error():
    at = open_page("views/sentiment.py")
    at.radio(key="sent::source").set_value("Hub: rotten_tomatoes")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("the Hub dataset is unavailable" in w.value for w in at.main.warning)
    assert at.button(key="go::sent::train").disabled
