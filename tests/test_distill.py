"""Knowledge distillation: softened softmax, the loss, the student loop, and the page."""

from __future__ import annotations

import itertools
import math
import random
import tempfile

import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from lessons import distill as kd
from models import sentiment_model as sm
from models.sentiment_data import Encoded, Row, load_tokenizer
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("one_thread")


# --- soft targets ------------------------------------------------------------------------------


def test_soft_targets_sum_to_one_and_flatten_with_temperature():
    logits = torch.tensor([kd.TEN_TEACHER, kd.TEN_STUDENT])  # (2, 10)
    entropies = []
    for T in (0.5, 1.0, 2.0, 5.0, 10.0, 100.0):
        p = kd.soft_targets(logits, T)
        torch.testing.assert_close(p.sum(-1), torch.ones(2))
        # The order of the classes never changes, only how peaked the distribution is.
        assert torch.equal(p.argsort(-1), F.softmax(logits, -1).argsort(-1))
        entropies.append(kd.entropy(p))
    for lo, hi in itertools.pairwise(entropies):
        assert (hi > lo).all()
    assert entropies[-1][0] == pytest.approx(math.log(10), abs=0.01)  # near uniform
    torch.testing.assert_close(kd.soft_targets(logits, 1.0), F.softmax(logits, -1))


def test_dark_knowledge_becomes_visible():
    p1 = kd.soft_targets(torch.tensor(kd.TEN_TEACHER), 1.0)
    p5 = kd.soft_targets(torch.tensor(kd.TEN_TEACHER), 5.0)
    dog, truck = kd.TEN_CLASSES.index("dog"), kd.TEN_CLASSES.index("truck")
    assert p1[truck] < 1e-4 and p5[truck] > 0.01
    assert p5[dog] > 2 * p1[dog]  # 0.07 -> 0.18


@pytest.mark.parametrize("T", [0.0, -1.0])
def test_non_positive_temperature_is_refused(T):
    with pytest.raises(ValueError, match="temperature must be positive"):
        kd.soft_targets(torch.zeros(3), T)


# --- the loss ----------------------------------------------------------------------------------


def test_loss_equals_a_hand_computation():
    s = [[2.0, 0.5, -1.0], [0.0, 1.0, 0.5]]
    t = [[3.0, 1.0, 0.0], [-1.0, 2.0, 1.5]]
    y = [0, 2]
    alpha, T = 0.3, 2.0

    def softmax(z, temp):
        e = [math.exp(v / temp) for v in z]
        return [v / sum(e) for v in e]

    ce = sum(-math.log(softmax(si, 1.0)[yi]) for si, yi in zip(s, y, strict=True)) / 2
    kl = 0.0
    for si, ti in zip(s, t, strict=True):
        p, q = softmax(ti, T), softmax(si, T)
        kl += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    kl /= 2
    parts = kd.distillation_loss(torch.tensor(s), torch.tensor(t), torch.tensor(y), alpha, T)
    assert parts.hard.item() == pytest.approx(ce, rel=1e-5)
    assert parts.kl.item() == pytest.approx(kl, rel=1e-5)
    assert parts.hard_term == pytest.approx(alpha * ce, rel=1e-5)
    assert parts.soft_term == pytest.approx((1 - alpha) * T * T * kl, rel=1e-5)
    assert parts.total.item() == pytest.approx(alpha * ce + (1 - alpha) * T * T * kl, rel=1e-5)


def test_alpha_one_is_cross_entropy_and_alpha_is_checked():
    torch.manual_seed(0)
    s, t, y = torch.randn(4, 3), torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    parts = kd.distillation_loss(s, t, y, 1.0, 7.0)
    torch.testing.assert_close(parts.total, F.cross_entropy(s, y))
    # A student equal to its teacher pays nothing in the soft term.
    assert kd.distillation_loss(t, t, y, 0.0, 3.0).total.item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        kd.distillation_loss(s, t, y, 1.5, 2.0)


def test_t_squared_keeps_the_soft_gradient_comparable_across_temperatures():
    torch.manual_seed(0)
    t = torch.randn(8, 5)  # (B, C)
    s0 = torch.randn(8, 5)
    y = torch.zeros(8, dtype=torch.long)

    def grad_norms(T: float) -> tuple[float, float]:
        s = s0.clone().requires_grad_(True)
        parts = kd.distillation_loss(s, t, y, 0.0, T)
        (g_scaled,) = torch.autograd.grad(parts.total, s, retain_graph=True)
        (g_kl,) = torch.autograd.grad(parts.kl, s)
        return g_scaled.norm().item(), g_kl.norm().item()

    scaled_4, kl_4 = grad_norms(4.0)
    scaled_16, kl_16 = grad_norms(16.0)
    # Without T² the gradient falls ~1/T² (16x from T=4 to T=16); with it, it stays put.
    assert kl_4 / kl_16 > 10
    assert 0.7 < scaled_4 / scaled_16 < 1.4


# --- the loop on a tiny fixture ----------------------------------------------------------------

VOCAB = 40


def fixture_data(n: int, seed: int) -> tuple[Encoded, torch.Tensor]:
    """Random token sequences; a fixed linear bag-of-words teacher gives the logits and labels."""
    rng = random.Random(seed)
    g = torch.Generator().manual_seed(123)  # the same teacher for every split
    w = torch.randn(VOCAB, 2, generator=g) * 3  # (V, 2)
    ids = [[rng.randrange(1, VOCAB) for _ in range(rng.randint(4, 10))] for _ in range(n)]
    bags = torch.stack([F.one_hot(torch.tensor(x), VOCAB).float().mean(0) for x in ids])  # (N, V)
    logits = bags @ w  # (N, 2)
    return Encoded(ids, logits.argmax(-1)), logits


def tiny_student() -> sm.ScratchClassifier:
    torch.manual_seed(0)
    return sm.ScratchClassifier(
        sm.ScratchConfig(vocab_size=VOCAB, max_len=16, **sm.SIZE_PRESETS["tiny"])
    )


def test_distillation_reduces_the_loss_and_follows_the_teacher():
    train, soft = fixture_data(256, 0)
    val, val_logits = fixture_data(64, 1)
    cfg = kd.DistillConfig(alpha=0.0, temperature=2.0, steps=120, eval_every=40, lr=3e-3)
    student = tiny_student()
    before = kd.agreement(student, train, soft)
    history = kd.train_student(student, train, val, cfg, soft)
    assert [h["step"] for h in history] == [40, 80, 120]
    assert history[-1]["train_loss"] < 0.6 * history[0]["train_loss"]
    assert history[0]["train_hard"] == 0.0  # alpha = 0: the soft term is the whole loss
    after = kd.agreement(student, train, soft)
    assert after > 0.8 and after > before
    assert kd.agreement(student, val, val_logits) > 0.7  # it generalises, not memorises


def test_same_seed_same_batches_alpha_one_equals_the_control():
    train, soft = fixture_data(96, 0)
    val, _ = fixture_data(32, 1)
    cfg = kd.DistillConfig(alpha=1.0, temperature=4.0, steps=15, eval_every=5)
    a, b = tiny_student(), tiny_student()
    hist_a = kd.train_student(a, train, val, cfg, soft)
    hist_b = kd.train_student(b, train, val, cfg, None)
    for ra, rb in zip(hist_a, hist_b, strict=True):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], abs=1e-5)
        assert ra["val_loss"] == pytest.approx(rb["val_loss"], abs=1e-5)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    # With soft targets the same start moves elsewhere: the teacher term is really in the loss.
    c = tiny_student()
    kd.train_student(c, train, val, kd.DistillConfig(alpha=0.0, steps=15, eval_every=5), soft)
    assert not torch.allclose(c.head.weight, a.head.weight)


# --- teacher from a model folder, and the page -------------------------------------------------

WORDS = {1: ["great", "wonderful", "superb", "charming"], 0: ["awful", "dull", "boring", "stale"]}


def sample_rows(n: int = 60) -> list[Row]:
    rng = random.Random(0)
    return [
        Row(f"the film was {rng.choice(WORDS[i % 2])} and {rng.choice(WORDS[i % 2])}", i % 2)
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    """A small scratch classifier saved the way `python -m models.sentiment train` saves."""
    out = tmp_path_factory.mktemp("teacher")
    torch.manual_seed(0)
    model = sm.build("scratch", "tiny")
    sm.save(model, load_tokenizer(), out, {"train": {"max_len": 64}})
    return out


def test_teacher_from_a_folder_caches_logits_for_the_training_rows(teacher_dir):
    rows = sample_rows()
    teacher = kd.prepare_teacher(rows, 10, str(teacher_dir))
    assert teacher.soft.shape == (len(teacher.train), 2)
    assert len(teacher.train) + len(teacher.val) == len(rows)
    torch.testing.assert_close(teacher.soft, kd.teacher_logits(teacher.model, teacher.train))
    assert "loaded from" in teacher.source


def test_live_minilm_teacher_goes_through_project_1():
    # A few seconds of fine-tuning: the integration is under test, not the teacher's quality.
    rows = sample_rows(40)
    logged: list[dict] = []
    teacher = kd.prepare_teacher(rows, 6, log=logged.append)
    assert isinstance(teacher.model, sm.MiniLMClassifier)
    assert "fine-tuned live" in teacher.source and logged  # fit's evaluations were reported
    assert teacher.soft.shape == (len(teacher.train), 2)
    torch.testing.assert_close(
        teacher.soft, kd.teacher_logits(teacher.model, teacher.train), rtol=1e-4, atol=1e-4
    )


def test_missing_teacher_folder_is_a_clear_error(tmp_path):
    with pytest.raises(sm.ModelDirError, match=r"no config\.json"):
        kd.prepare_teacher(sample_rows(), 10, str(tmp_path / "nowhere"))


def test_page_renders_sliders_move_and_a_run_shows_curves(teacher_dir):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("views/distillation.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Knowledge distillation"
    total = {m.label: m.value for m in at.metric}["Total"]
    at.slider(key="kd_T").set_value(10.0)
    at.slider(key="kd_alpha").set_value(0.0)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["α · CE"] == "0.000" and metrics["Total"] != total
    assert metrics["Total"] == metrics["(1−α) · T² · KL"]
    assert at.button(key="kd_students_go").disabled  # no teacher yet

    at.radio(key="kd_source").set_value("Load a model folder")
    at.run()
    at.text_input(key="kd_dir").set_value(str(teacher_dir))
    at.run()
    at.button(key="kd_teacher_go").click()
    at.run()
    job = at.session_state["job::distill_teacher"]
    job.join(60)
    assert job.state == "done", (job.state, job.error)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Teacher ready" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) >= 3  # 10-class bars, teacher vs student, your sentence
    assert any(c.value.startswith("Teacher logits:") for c in at.caption)

    at.slider(key="kd_steps").set_value(20)
    at.button(key="kd_students_go").click()
    at.run()
    job = at.session_state["job::distill_students"]
    job.join(90)
    assert job.state == "done", (job.state, job.error)
    runs = {m["run"] for m in job.snapshot() if "val_acc" in m}
    assert runs == {"distilled", "control"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    frame = at.dataframe[0].value
    assert list(frame["model"]) == ["teacher", "distilled student", "control"]
    assert (frame["ms / sentence"] > 0).all()
    assert frame["parameters"].iloc[1] == frame["parameters"].iloc[2]


def test_page_wrong_folder_fails_with_the_message_not_a_trace(tmp_path):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("views/distillation.py")
    at.run()
    at.radio(key="kd_source").set_value("Load a model folder")
    at.run()
    at.text_input(key="kd_dir").set_value(str(tmp_path))
    at.run()
    at.button(key="kd_teacher_go").click()
    at.run()
    job = at.session_state["job::distill_teacher"]
    job.join(30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert job.state == "failed" and "no config.json" in job.error
    assert any("no config.json" in e.value for e in at.error)


def test_typed_model_folder_outside_allowed_roots_is_refused(tmp_path):
    from models import sentiment_model as sm

    assert sm.user_model_dir(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(sm.ModelDirError, match="read only from"):
        sm.user_model_dir("/etc")
    with pytest.raises(sm.ModelDirError):
        sm.user_model_dir(f"{tempfile.gettempdir()}/../etc")  # no escaping through ..
