"""Knowledge distillation: softened softmax, the loss (with unlabelled rows), the student loop, the
teacher's saved logits, the prepared 5-seed result (teacher > distilled > control), the page."""

from __future__ import annotations

import itertools
import math
import random
import tempfile

import pytest
import torch
import torch.nn.functional as F

from lessons import distill as kd
from models import distill as md
from models import sentiment as sent
from models import sentiment_model as sm
from models.sentiment_data import Encoded, encode, load_tokenizer, read_rows
from models.sentiment_data import test_rows as held_out_rows
from models.training import Recorder
from tests.apptest import assert_ok, click, open_page

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
    panels = kd.softened(logits[0], (1.0, 5.0))
    assert [t for t, _, _ in panels] == [1.0, 5.0] and panels[1][2] > panels[0][2]


def test_dark_knowledge_becomes_visible():
    p1 = kd.soft_targets(torch.tensor(kd.TEN_TEACHER), 1.0)
    p5 = kd.soft_targets(torch.tensor(kd.TEN_TEACHER), 5.0)
    dog, truck = kd.TEN_CLASSES.index("dog"), kd.TEN_CLASSES.index("truck")
    assert p1[truck] < 1e-4 and p5[truck] > 0.01
    assert p5[dog] > 2 * p1[dog]  # 0.07 -> 0.18
    with pytest.raises(ValueError, match="temperature must be positive"):
        kd.soft_targets(torch.zeros(3), 0.0)


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
    assert parts.soft_term == pytest.approx((1 - alpha) * T * T * kl, rel=1e-5)
    assert parts.total.item() == pytest.approx(alpha * ce + (1 - alpha) * T * T * kl, rel=1e-5)
    # An unlabelled row adds to the KL only: the CE is the first row's alone.
    one = kd.distillation_loss(torch.tensor(s), torch.tensor(t), torch.tensor([0, kd.IGNORE]),
                               alpha, T)  # fmt: skip
    assert one.hard.item() == pytest.approx(-math.log(softmax(s[0], 1.0)[0]), rel=1e-5)
    assert one.kl.item() == pytest.approx(kl, rel=1e-5)


def test_unlabelled_rows_have_only_the_soft_term_and_alpha_is_checked():
    torch.manual_seed(0)
    s, t = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3)
    parts = kd.distillation_loss(s, t, torch.full((4,), kd.IGNORE), 0.5, 2.0)
    assert parts.hard.item() == 0.0 and parts.kl.item() > 0
    parts.total.backward()
    assert s.grad.abs().sum() > 0  # the teacher's opinion is a gradient even without labels
    y = torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(kd.distillation_loss(s, t, y, 1.0, 7.0).total, F.cross_entropy(s, y))
    assert kd.distillation_loss(t, t, y, 0.0, 3.0).total.item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        kd.distillation_loss(s, t, y, 1.5, 2.0)


def test_t_squared_keeps_the_soft_gradient_comparable_across_temperatures():
    torch.manual_seed(0)
    t, s0, y = torch.randn(8, 5), torch.randn(8, 5), torch.zeros(8, dtype=torch.long)

    def grad_norms(T: float) -> tuple[float, float]:
        s = s0.clone().requires_grad_(True)
        parts = kd.distillation_loss(s, t, y, 0.0, T)
        (g_scaled,) = torch.autograd.grad(parts.total, s, retain_graph=True)
        (g_kl,) = torch.autograd.grad(parts.kl, s)
        return g_scaled.norm().item(), g_kl.norm().item()

    scaled_4, kl_4 = grad_norms(4.0)
    scaled_16, kl_16 = grad_norms(16.0)
    assert kl_4 / kl_16 > 10  # without T² the gradient falls ~1/T² (16x from T=4 to T=16)
    assert 0.7 < scaled_4 / scaled_16 < 1.4  # with it, it stays put


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


def test_unlabelled_soft_labels_teach_what_few_labels_cannot():
    few, few_soft = fixture_data(24, 0)
    more, more_soft = fixture_data(400, 2)
    val, val_logits = fixture_data(128, 1)
    data, soft = kd.transfer_set(few, few_soft, more, more_soft)
    assert len(data) == 424 and (data.labels[24:] == kd.IGNORE).all() and soft.shape == (424, 2)
    cfg = kd.DistillConfig(alpha=0.3, temperature=2.0, steps=150, eval_every=50, lr=3e-3)
    distilled, control = tiny_student(), tiny_student()
    rec = Recorder()
    history = kd.train_student(distilled, data, val, cfg, soft, rec, test=val)
    assert [h["step"] for h in history] == [50, 100, 150] and rec.rows[-1]["test_acc"] > 0
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    kd.train_student(control, few, val, cfg)
    d, c = (kd.agreement(m, val, val_logits) for m in (distilled, control))
    assert d > 0.8 and d > c + 0.1, (d, c)  # it generalises from the teacher's labels


def test_same_seed_alpha_one_equals_the_control():
    train, soft = fixture_data(96, 0)
    val, _ = fixture_data(32, 1)
    cfg = kd.DistillConfig(alpha=1.0, temperature=4.0, steps=15, eval_every=5)
    a, b = tiny_student(), tiny_student()
    hist_a = kd.train_student(a, train, val, cfg, soft)
    hist_b = kd.train_student(b, train, val, cfg, None)
    for ra, rb in zip(hist_a, hist_b, strict=True):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], abs=1e-5)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb)
    c = tiny_student()  # with soft targets the same start moves elsewhere
    kd.train_student(c, train, val, kd.DistillConfig(alpha=0.0, steps=15, eval_every=5), soft)
    assert not torch.allclose(c.head.weight, a.head.weight)


# --- the teacher -------------------------------------------------------------------------------

SAMPLE_ROWS = read_rows(md.SAMPLE)
UNLABELLED = md.read_unlabelled()


@pytest.fixture(scope="module")
def folder_teacher(tmp_path_factory):
    """A tiny scratch classifier saved the way `python -m models.sentiment train` saves."""
    out = tmp_path_factory.mktemp("teacher")
    torch.manual_seed(0)
    sm.save(sm.build("scratch", "tiny"), load_tokenizer(), out, {"train": {"max_len": 64}})
    return out


def test_teacher_logits_cover_every_part_and_round_trip(folder_teacher, tmp_path):
    teacher = md.teacher_from_folder(folder_teacher, SAMPLE_ROWS, UNLABELLED[:50])
    sizes = {p: len(teacher.data[p]) for p in md.PARTS}
    assert sizes == {"train": 160, "val": 40, "test": 100, "unlabelled": 50}
    for part in md.PARTS:
        assert teacher.logits[part].shape == (sizes[part], 2)
    torch.testing.assert_close(teacher.logits["test"],
                               kd.teacher_logits(teacher.model, teacher.data["test"]))  # fmt: skip
    assert teacher.ms_per_sentence > 0 and "loaded from" in teacher.source
    md.save_teacher(teacher, tmp_path)
    again = md.load_teacher(tmp_path, SAMPLE_ROWS, UNLABELLED[:50])
    torch.testing.assert_close(again.logits["unlabelled"], teacher.logits["unlabelled"])
    assert again.acc("test") == teacher.acc("test")
    assert md.load_teacher(tmp_path, SAMPLE_ROWS, UNLABELLED[:49]) is None  # other data: stale
    with pytest.raises(sm.ModelDirError, match=r"no config\.json"):
        md.teacher_from_folder(tmp_path / "nowhere", SAMPLE_ROWS, UNLABELLED)


def test_unlabelled_reviews_are_not_the_labelled_ones():
    labelled = {r.text for r in SAMPLE_ROWS}
    assert len(UNLABELLED) == 1_000 == len(set(UNLABELLED)) and not labelled & set(UNLABELLED)
    from scripts.unlabelled_reviews import reviews

    assert reviews(1_000, 0, labelled) == UNLABELLED  # the file is what its script writes


# --- the prepared state: the direction of the effect, over seeds -------------------------------


@pytest.fixture(scope="module")
def distill_state(prepared_states):
    """`make prepare`'s states when they were built here with today's defaults (Project 1's
    MiniLM teacher, 3 min; the 5-seed distillation, ~2.5 min). Otherwise the same two commands
    reduced: the teacher fine-tuned for 30 s, 2 seeds, no sweep (~75 s on 2 idle cores)."""

    def current() -> bool:
        res = md.results()
        return bool(res) and res["config"]["unlabelled"] == kd.DistillConfig.unlabelled

    states = prepared_states(
        {"sentiment-minilm": {"--minutes": "0.5"},
         "distill": {"--seeds": "0,1", "--sweep": None, "--sweep-seeds": None}},
        usable=current,
    )  # fmt: skip
    return states["distill"]


def test_teacher_beats_distilled_beats_control_on_every_seed(distill_state):
    res = md.results()
    assert len(res["per_seed"]) >= 2 and res["config"]["unlabelled"] > 160  # more than labelled
    teacher = res["summary"]["teacher_test_acc"]
    for s in res["per_seed"]:
        acc = s["test_acc"]
        assert teacher > acc["distilled"] + 0.02, s["seed"]
        assert acc["distilled"] > acc["control"] + 0.1, s["seed"]
        assert acc["distilled"] > acc["soft only"] + 0.1, s["seed"]  # the extra text is the gain
    summ = res["summary"]
    assert summ["distilled_test_min"] > summ["control_test_max"]
    assert summ["control_test_mean"] < 0.62  # the labels alone never show the new words


def test_the_prepared_students_and_teacher_give_the_recorded_accuracy(distill_state):
    from models import prepared

    held = held_out_rows(SAMPLE_ROWS)
    tok = load_tokenizer()
    first = md.results()["per_seed"][0]["test_acc"]
    for run in ("distilled", "control"):
        model, _, _ = sm.load(distill_state / "students" / run)
        acc = sent.evaluate(model, encode(tok, held, 64))["accuracy"]
        assert acc == pytest.approx(first[run], abs=1e-4)
    teacher, _, _ = sm.load(prepared.path("sentiment-minilm"))
    acc = sent.evaluate(teacher, encode(tok, held, 64))["accuracy"]
    assert acc == pytest.approx(md.results()["summary"]["teacher_test_acc"], abs=1e-4)


# --- the page ----------------------------------------------------------------------------------


def _students_tab():
    at = open_page("views/distillation.py")
    at.session_state["kd::tabs"] = "Distil a review classifier"
    at.run()
    assert_ok(at)
    return at


def test_page_loss_sliders_move_the_numbers():
    at = open_page("views/distillation.py")
    assert at.title[0].value == "Knowledge distillation"
    total = {m.label: m.value for m in at.metric}["Total"]
    at.slider(key="kd::T").set_value(10.0)
    at.slider(key="kd::alpha").set_value(0.0).run()
    assert_ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["α · CE"] == "0.000" and metrics["Total"] != total
    assert metrics["Total"] == metrics["(1−α) · T² · KL"]
    assert len(at.get("plotly_chart")) == 2  # the softened panels and the KL pair


def test_page_opens_on_the_prepared_seeds_and_distils_live(distill_state):
    at = _students_tab()
    metrics = {m.label: m.value for m in at.metric}
    teacher = float(metrics["Teacher: new wording"].rstrip("%"))
    distilled = float(metrics["distilled: new wording"].rstrip("%"))
    control = float(metrics["control: new wording"].rstrip("%"))
    assert teacher > distilled > control + 10
    assert "22,713,986" in at.dataframe[0].value["parameters"].tolist()  # separators
    assert any("Teacher logits:" in c.value for c in at.caption)  # the sentence box
    at.slider(key="kd::steps").set_value(50)
    click(at, "go::kd::students")
    job = at.session_state["job::kd::students"]
    job.join(120)
    assert job.state == "done", (job.state, job.error)
    assert {m["run"] for m in job.snapshot() if "test_acc" in m} == {"distilled", "control"}
    at.run()
    assert_ok(at)
    frame = at.dataframe[-1].value
    assert list(frame["model"]) == ["teacher", "distilled", "control"]
    assert frame["parameters"].iloc[1] == frame["parameters"].iloc[2]
    assert any("Distilled minus control" in c.value for c in at.caption)


def test_page_teacher_folders_are_checked(folder_teacher, tmp_path):
    at = _students_tab()
    at.radio(key="kd::source").set_value("Load a model folder").run()
    at.text_input(key="kd::dir").set_value("/etc").run()
    assert_ok(at)
    assert any("read only from" in w.value for w in at.warning)
    at.text_input(key="kd::dir").set_value(str(tmp_path)).run()
    click(at, "go::kd::teacher_run", expect_error="no config.json")  # it may fail at once
    job = at.session_state["job::kd::teacher_run"]
    job.join(30)
    at.run()
    assert job.state == "failed" and "no config.json" in job.error
    assert_ok(at, expect_error="no config.json")  # shown as the run's message, not a trace
    at.text_input(key="kd::dir").set_value(str(folder_teacher)).run()
    click(at, "go::kd::teacher_run")
    at.session_state["job::kd::teacher_run"].join(60)
    at.run()
    assert_ok(at)
    assert any("loaded from" in s.value for s in at.success)


def test_typed_model_folder_outside_allowed_roots_is_refused(tmp_path):
    assert sm.user_model_dir(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(sm.ModelDirError, match="read only from"):
        sm.user_model_dir("/etc")
    with pytest.raises(sm.ModelDirError):
        sm.user_model_dir(f"{tempfile.gettempdir()}/../etc")  # no escaping through ..


def test_cli_bad_teacher_folder_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        md.main(["--teacher", str(tmp_path), "--out", str(tmp_path / "o")])
    assert exc.value.code == 2 and "no teacher there" in capsys.readouterr().err


def test_figures_show_each_seed_and_the_teacher():
    from figures import distillation as fig

    per_seed = [{"seed": s, "test_acc": {"teacher": 0.8, "distilled": d, "control": c}}
                for s, d, c in ((0, 0.75, 0.5), (1, 0.76, 0.48))]  # fmt: skip
    dots = fig.seed_results(per_seed, 0.8)
    assert [t.name for t in dots.data] == ["distilled", "control"]
    assert list(dots.data[1].y) == [0.5, 0.48]
    assert any("teacher 80%" in a.text for a in dots.layout.annotations)
    rows = [
        {"run": r, "step": 10, "test_acc": 0.6, "val_acc": 0.7} for r in ("distilled", "control")
    ]
    assert len(fig.student_curves(rows).data) == 4
    assert fig.students_caption(rows).startswith("control: step 10")
    panels = kd.softened(torch.tensor([2.0, 0.0]), (1.0, 4.0))
    assert len(fig.softened(("neg", "pos"), panels, "t").data) == 2
    points = [{"unlabelled": n, "seed": s, "test_acc": a}
              for n, s, a in ((0, 0, 0.5), (0, 1, 0.6), (200, 0, 0.7), (200, 1, 0.72))]  # fmt: skip
    swept = fig.sweep(points, 0.8, 0.5)
    means = swept.data[1]  # the line through the means
    assert list(means.x) == [0, 200] and list(means.y) == pytest.approx([0.55, 0.71])
    assert {a.text for a in swept.layout.annotations} >= {"teacher 80%", "control 50%"}


def test_the_teacher_sentence_box_survives_hostile_values(distill_state):
    from tests.test_hostile_inputs import HOSTILE

    at = _students_tab()
    for name in ("empty", "huge", "emoji_zwj", "rtl_override", "html_script", "control"):
        at.text_input(key="kd::sentence").input(HOSTILE[name]).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        shown = [c.value for c in at.caption] + [i.value for i in at.info]
        want = "Type a review sentence" if name == "empty" else "Teacher logits:"
        assert any(want in v for v in shown), name
