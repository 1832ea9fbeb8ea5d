"""The alignment track's pages through the real router: every tab renders, the numbers shown are
the lessons' numbers, the training pages open on their prepared adapters (built here by the
steps' own commands, cut to 2 steps, when `make prepare` has not run: a clean clone), show what
the command measured and train more live on SmolLM2 (stopped after the first logged step), and
the button that answers a typed prompt survives hostile text."""

from __future__ import annotations

import json
import re

import pytest

from models import dpo as D
from models import prepared
from tests.alignment_tiny import build_reduced
from tests.apptest import assert_ok, click, open_page, texts, train_on_page
from tests.test_hostile_inputs import HOSTILE

NAMES = ("dpo-smollm2", "grpo-smollm2")
REDUCED_STEPS = 2


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    """The prepared states the training pages open on: `make prepare`'s own when this machine
    has both, else the same commands cut to `REDUCED_STEPS` steps, in a temporary folder."""
    with pytest.MonkeyPatch.context() as mp:
        if not all(prepared.ready(n) for n in NAMES):
            tmp = tmp_path_factory.mktemp("prepared")
            mp.setattr(prepared, "root", lambda: tmp)
            for name in NAMES:
                build_reduced(name, REDUCED_STEPS)
        yield {n: prepared.record(n) for n in NAMES}


def trace_names(at, key: str) -> list[str]:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id)
    return [t["name"] for t in json.loads(chart.proto.spec)["data"]]


def table(at, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def tab(at, key: str, label: str):
    at.session_state[key] = label
    at.run()
    assert_ok(at)
    return at


def train_one_step(at, run_key: str, metric: str, timeout: float = 180):
    """Press Train, wait for TRL's first logged row, stop, and let the page show the result."""
    at.slider(key=f"{run_key.split('::')[0]}::budget").set_value(120).run()
    until = lambda rows: any(metric in r for r in rows)  # noqa: E731
    return train_on_page(at, run_key, timeout, until=until, states=("done", "stopped"))


def test_rlhf_dpo_page_tabs_show_the_lessons_numbers():
    at = open_page("views/alignment.py")
    assert at.title[0].value == "Alignment: RLHF & DPO"
    assert len(at.dataframe[0].value) == 120  # the training pairs
    tab(at, "align::tabs", "Reward model")
    held = next(m for m in at.main.metric if m.label == "Held-out accuracy")
    assert held.value.endswith("%") and "over 5 seeds" in held.delta
    assert len(at.get("plotly_chart")) == 2
    tab(at, "align::tabs", "PPO & the KL leash")
    assert "KL(π* ‖ π_ref)" in texts(at)
    at.select_slider(key="align::beta_kl").set_value(0.01).run()
    assert_ok(at)
    tab(at, "align::tabs", "DPO's loss")
    shown = texts(at)
    # β = 0.1, chosen −5, rejected −20 nats: margin 1.5, loss −log σ(1.5) = 0.201
    assert "rewards/margins +1.50" in shown and "loss 0.201" in shown
    assert "loss 0.201 — unchanged" in shown
    assert "of the held-out pairs right and still wrote worse answers" in shown


def test_training_pages_without_a_prepared_adapter_say_how_to_make_one(monkeypatch, tmp_path):
    monkeypatch.setattr(prepared, "root", lambda: tmp_path)
    for page, key, label in (("views/dpo.py", "dpo", "Held-out pairs"),
                             ("views/grpo.py", "grpo", "Groups step by step")):  # fmt: skip
        at = open_page(page)
        assert any("has not been prepared on this machine" in i.value for i in at.info)
        assert not at.toggle(key=f"{key}::cont").value and at.toggle(key=f"{key}::cont").disabled
        tab(at, f"{key}::tabs", label)
        assert any("make prepare" in i.value for i in at.info)
        assert not at.dataframe


def test_dpo_page_opens_on_the_prepared_adapter_and_trains_more_live(adapters):
    rec = adapters["dpo-smollm2"]
    at = open_page("views/dpo.py")
    assert "Project 5" in at.title[0].value
    assert "Opened on **Project 5's DPO adapter" in texts(at) and rec.command in texts(at)
    assert trace_names(at, "prep_fig") == ["rewards/chosen", "rewards/rejected", "rewards/margins"]
    tab(at, "dpo::tabs", "Held-out pairs")
    held = table(at, "after DPO")
    base, after = held["base (adapter off)"], held["after DPO"]
    # The page scores the same held-out pairs as the command did, with the same adapter.
    assert after["reward_accuracy"] == pytest.approx(rec.result["reward_accuracy"], abs=1e-6)
    assert after["mean_margin"] == pytest.approx(rec.result["mean_margin"], abs=1e-3)
    assert base["reward_accuracy"] == 0.0 and base["mean_margin"] == 0.0  # the base vs itself
    # The direction, even after 2 steps (measured: 0.725 of the pairs, margin +0.055): chosen
    # answers gain on rejected ones they never saw, against the base model as the reference.
    assert after["mean_margin"] > 0 and after["reward_accuracy"] >= 0.6
    tab(at, "dpo::tabs", "Before / after answers")
    shown = table(at, "before")
    assert list(shown["prompt"]) == list(D.PROBE_PROMPTS)
    assert (shown["before"] != "").all() and (shown["after"] != "").all()
    # More live, continuing from the prepared adapter (the toggle's default when it is there).
    tab(at, "dpo::tabs", "Training")
    assert at.toggle(key="dpo::cont").value
    job = train_one_step(at, "dpo::train", "rewards/margins")
    first = next(r for r in job.snapshot() if "rewards/margins" in r)
    assert first["rewards/margins"] > 0  # the reference stays the base: the margin starts > 0
    assert re.search(r"Trained [12] steps? in", texts(at))
    assert trace_names(at, "curves::dpo::train") == [
        "rewards/chosen", "rewards/rejected", "rewards/margins"
    ]  # fmt: skip
    tab(at, "dpo::tabs", "Before / after answers")
    assert "this session's run" in texts(at)
    box = at.text_input(key="dpo::prompt")
    for name in ("empty", "html_script", "huge", "special_tokens"):
        box.input(HOSTILE[name]).run()
        assert_ok(at)
        if name == "html_script":  # one real generation pair: the button, escaped output
            click(at, "dpo::ask", timeout=120)
            assert "Adapter on (DPO)" in texts(at)
            assert all("<script>" not in h.proto.body for h in at.get("html"))


def test_grpo_page_opens_on_the_prepared_adapter_and_trains_more_live(adapters):
    rec = adapters["grpo-smollm2"]
    at = open_page("views/grpo.py")
    assert at.title[0].value.startswith("GRPO")
    assert "Opened on **GRPO's arithmetic adapter" in texts(at) and rec.command in texts(at)
    tab(at, "grpo::tabs", "Groups step by step")
    shown = texts(at)
    steps = rec.result["steps"]
    assert f"{steps:,} steps, {steps * 2:,} groups," in shown and "with zero spread" in shown
    groups = table(at, "advantage")
    assert len(groups) == 4 and {"correct", "format", "total"} <= set(groups.columns)
    tab(at, "grpo::tabs", "Held-out")
    held = table(at, "after GRPO")
    base, after = held["base (adapter off)"], held["after GRPO"]
    for key in ("accuracy", "reward", "format_rate"):  # the page and the command agree
        assert after[key] == pytest.approx(rec.result[key], abs=1e-6), key
    replies = table(at, "question")
    assert len(replies) == rec.result["questions"] == 40
    assert (replies["base"] != replies["after GRPO"]).any()  # the adapter changed some replies
    assert 0 <= base["accuracy"] <= 1
    tab(at, "grpo::tabs", "Training")
    job = train_one_step(at, "grpo::train", "reward")
    assert any("groups" in r for r in job.snapshot())
    assert re.search(r"Trained [12] steps? in", texts(at))
    tab(at, "grpo::tabs", "Groups step by step")
    assert re.search(r"\b[12] steps?, ", texts(at))
