"""The page kit: figures, the trainer protocol, cached calls on handles, lazy tabs, the panel."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

import figures
from models.training import CliReporter, Recorder, Reporter, Stopped


def test_log_ticks_read_as_numbers_not_mantissas():
    vals, text = figures.log_ticks(0.3, 1200)
    assert vals[0] == 0.5 and vals[-1] == 1000
    assert text == ["0.5", "1", "2", "5", "10", "20", "50", "100", "200", "500", "1,000"]
    assert figures.log_ticks(0, 10) == ([], [])


def test_numbers_have_thousands_separators():
    assert figures.number(22713986) == "22,713,986"
    assert figures.number(0.5) == "0.5" and figures.number(2.5e-5) == "2.5e-05"


def test_curves_from_logged_rows():
    rows = [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5, "acc": 0.6}, {"note": "x"}]
    fig = figures.curves(rows, "step", {"loss": "train loss", "acc": "accuracy"})
    assert [t.name for t in fig.data] == ["train loss", "accuracy"]
    assert list(fig.data[0].y) == [2.0, 1.5] and list(fig.data[1].x) == [2]
    assert figures.curves([{"t": 0}], "step", {"loss": "loss"}) is None
    grouped = figures.curves(
        [{"run": "a", "step": 1, "loss": 1.0}, {"run": "b", "step": 1, "loss": 2.0}],
        "step",
        {"loss": "loss"},
        group="run",
    )
    assert [t.name for t in grouped.data] == ["a · loss", "b · loss"]


def test_user_text_in_figures_is_escaped():
    fig = figures.bar(["<b>x</b>"], [1.0], "score")
    assert fig.data[0].y[0] == "&lt;b&gt;x&lt;/b&gt;"


def test_overlapping_series_get_distinct_styles():
    a, b = figures.style(0), figures.style(1)
    assert a["line"]["dash"] != b["line"]["dash"] and a["line"]["width"] > b["line"]["width"]


def test_recorder_is_a_reporter_and_stops_at_its_budget():
    rec = Recorder(budget_s=0.0)
    assert isinstance(rec, Reporter)
    rec.log(step=1, loss=0.5)
    assert rec.rows[0]["loss"] == 0.5 and "t" in rec.rows[0]
    with pytest.raises(Stopped):
        rec.check()


def test_cli_reporter_prints_on_rank_zero_only(monkeypatch, capsys):
    CliReporter().log(step=1)
    assert '"step": 1' in capsys.readouterr().out
    monkeypatch.setenv("RANK", "1")
    CliReporter().log(step=2)
    assert capsys.readouterr().out == ""


def _on_handle_app():
    import threading

    import streamlit as st

    from models.registry import MINILM
    from ui.page import on_handle

    class FakeHandle:
        choice = MINILM
        lock = threading.RLock()

    calls = st.session_state.setdefault("calls", [])

    @on_handle()
    def shout(handle, text: str, times: int = 1) -> str:
        calls.append((text, handle.lock._is_owned()))
        return (text.upper() + "!") * times

    st.write(shout(FakeHandle(), "hi"))
    st.write(shout(FakeHandle(), "hi"))
    st.write(shout(FakeHandle(), "hi", times=2))


def test_on_handle_caches_per_argument_and_holds_the_lock():
    at = AppTest.from_function(_on_handle_app).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["HI!", "HI!", "HI!HI!"]
    assert at.session_state["calls"] == [("hi", True), ("hi", True)]  # the repeat was cached


def _tabs_app():
    import streamlit as st

    from ui.page import lazy_tabs

    a, b = lazy_tabs(["A", "B"], "kit::tabs")
    ran = st.session_state.setdefault("ran", [])
    if a.open:
        ran.append("A")
    if b.open:
        ran.append("B")


def test_lazy_tabs_compute_only_the_open_tab():
    at = AppTest.from_function(_tabs_app).run()
    assert not at.exception and at.session_state["ran"] == ["A"]


def _code_app():
    from lessons.sampling import entropy_bits
    from ui.widgets import show_code

    show_code(entropy_bits, key="kit::code")


def test_show_code_sends_the_source_only_once_opened():
    at = AppTest.from_function(_code_app).run()
    assert not at.exception and not at.code
    at.session_state["kit::code"] = True  # what opening the expander sets
    at.run()
    assert [c.value for c in at.code if "def entropy_bits" in c.value]


def _panel_app():
    import time

    import streamlit as st

    from ui.training import training_panel

    def work(rep):
        for step in range(3):
            rep.check()
            rep.log(step=step, loss=1.0 / (step + 1))
            rep.progress((step + 1) / 3, f"step {step}")
            time.sleep(0.01)
        return "trained"

    result = training_panel(
        "kit::run",
        work=work,
        budget_s=10,
        curves=lambda rows: None,
        caption=lambda rows: f"{len(rows)} rows" if rows else None,
    )
    st.session_state["result"] = result


def test_training_panel_starts_runs_and_returns_the_result():
    at = AppTest.from_function(_panel_app).run()
    assert at.session_state["result"] is None
    assert any("press the button" in i.value for i in at.info)
    at.button(key="go::kit::run").click().run()
    job = at.session_state["job::kit::run"]
    job.join(10)
    assert job.state == "done" and [r["step"] for r in job.snapshot()] == [0, 1, 2]
    at.run()
    assert not at.exception
    assert at.session_state["result"] == "trained"
    assert any("3 rows" in c.value for c in at.caption)
    assert any("Finished" in s.value for s in at.success)


def test_a_failing_trainer_shows_its_error_not_a_trace():
    def boom(rep):
        raise ValueError("bad row 3")

    from models import jobs

    job = jobs.start("kit-fail", boom, budget_s=5)
    job.join(5)
    assert job.state == "failed" and "bad row 3" in job.error
    assert isinstance(job, Reporter) and not threading.current_thread().name.startswith("job:")


def test_reduced_argv_replaces_drops_and_appends_flags():
    from tests.conftest import reduced_argv

    argv = ("models.x", "train", "--out", "{out}", "--minutes", "3", "--seeds", "0,1,2")
    got = reduced_argv(argv, {"--minutes": "0.5", "--seeds": None, "--techniques": ("a", "b")})
    assert got == ("models.x", "train", "--out", "{out}", "--minutes", "0.5", "--techniques", "a",
                   "b")  # fmt: skip


def test_settle_heap_freezes_only_after_new_imports():
    import gc
    import sys
    import types

    from models import runtime

    runtime.settle_heap()
    before = gc.get_freeze_count()
    kept = [[i] for i in range(1_000)]  # lists are tracked by the collector
    runtime.settle_heap()  # no new module: no collection, nothing frozen
    assert gc.get_freeze_count() == before
    sys.modules["gallery_kit_probe"] = types.ModuleType("gallery_kit_probe")
    try:
        runtime.settle_heap()
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        del sys.modules["gallery_kit_probe"]
