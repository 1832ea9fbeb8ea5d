"""The talk preflight: its checks say green or red with a reason, and its page shows them."""

from __future__ import annotations

import json

import pytest

from models import loader
from models import preflight_checks as checks
from tests.apptest import click, open_page


def test_offline_choices_are_the_embedded_models_and_ready_prepared_ones():
    keys = {c.key for c in checks.offline_choices()}
    assert {"minilm-embedded", "smollm2-embedded"} <= keys
    assert all(c.source in ("embedded", "prepared") and c.available()
               for c in checks.offline_choices())  # fmt: skip


def test_models_check_goes_red_when_a_load_fails():
    def broken(key, *a, **kw):
        raise loader.ModelLoadError(f"{key} is broken")

    ok, detail = checks.models_check(load=broken)
    assert not ok and "minilm-embedded is broken" in detail
    ok, detail = checks.models_check(load=lambda key, *a, **kw: None)
    assert ok and "minilm-embedded" in detail


def test_network_check_says_offline_and_why():
    ok, detail = checks.network_check()
    assert ok and detail.startswith("offline") and "HF_HUB_OFFLINE" in detail


def test_ollama_not_configured_is_green_and_a_dead_server_is_red(monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert checks.ollama_check() == (True, "not configured (set OLLAMA_HOST to check a server)")
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens on port 9
    ok, detail = checks.ollama_check()
    assert not ok and "did not answer" in detail and "ollama serve" in detail


def test_report_round_trips(monkeypatch, tmp_path):
    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    assert checks.load_report() is None
    checks.save_report({"all_ok": True, "lines": []})
    assert json.loads((tmp_path / "preflight.json").read_text())["all_ok"] is True


@pytest.mark.slow
def test_preflight_page_checks_this_server(monkeypatch, tmp_path):
    monkeypatch.setenv("GALLERY_CACHE", str(loader.cache_root()))
    at = open_page("views/preflight.py")
    click(at, "preflight::go")
    frame = at.dataframe[0].value
    models = frame[frame["check"].str.startswith("model: ")]
    assert {"model: MiniLM-L6 (embedded)", "model: SmolLM2-135M-Instruct (embedded)"} <= set(
        models["check"]
    )
    assert models["ok"].all() and (models["seconds"] >= 0).all()
    net = frame[frame["check"] == "network"].iloc[0]
    assert net["ok"] and "offline" in net["detail"]


def test_a_first_open_is_slower_only_past_its_warm_opens_and_their_spread():
    first = {"cold": 2.4, "noisy": 1.3, "fast": 1.0}
    warm = {"cold": [1.1, 1.2], "noisy": [1.1, 1.3], "fast": [1.1, 1.0]}
    assert checks.first_open_slower(first, warm) == {"cold": (2.4, 1.15)}
    # past the slowest warm open and past the slack over their median: slower
    assert checks.first_open_slower({"p": 1.6}, {"p": [1.2, 1.2, 1.25]}) == {"p": (1.6, 1.2)}
    # one warm open as slow as the first: the first open is within the warm render times
    assert checks.first_open_slower({"p": 1.6}, {"p": [1.0, 1.2, 1.6]}) == {}
    # within the slack of the median, though past every warm open: host noise, not a cold page
    assert checks.first_open_slower({"p": 1.45}, {"p": [1.2, 1.2, 1.25]}) == {}


def test_each_first_open_is_timed_seconds_from_its_warm_opens_after_the_same_page():
    pages = [f"p{i}" for i in range(8)]
    schedule = checks.open_schedule(pages, warm_opens=2, block=3)
    roles = [role for _, role in schedule]
    assert roles[:8] == ["warming"] * 8 and roles[8:].count("warming") == 0
    timed = [(i, p, r) for i, (p, r) in enumerate(schedule) if r in ("first", "warm")]
    for page in pages:
        opens = [(i, r) for i, p, r in timed if p == page]
        assert [r for _, r in opens] == ["first", "warm", "warm"]  # one first open, then warm
        first = opens[0][0]
        # the first open is the page's first since the warming tour: no primer before it
        assert all(p != page for p, _ in schedule[8:first])
        assert opens[-1][0] - first <= 2 * 4 + 2  # within its block: seconds, not a whole tour
        before = {schedule[i - 1][0] for i, _ in opens}
        if page != "p0":  # the first block's first page follows the warming tour's last page
            assert len(before) == 1 and page not in before  # each after the same, other page
    assert sum(r == "primer" for r in roles) == 2 * 2  # one per warm round of blocks 2 and 3


REPORT = {
    "finished": "2026-12-01 20:00:00",
    "total_s": 210.0,
    "all_ok": False,
    "lines": [{"name": "pages", "ok": False, "seconds": 150.0, "detail": "gpt slower than warm"}],
    "warming_open_s": {"home": 3.0, "gpt": 9.0},
    "audience_open_s": {"home": 1.0, "gpt": 2.5},
    "warm_open_s": {"home": 1.1, "gpt": 1.2},
    "warm_opens": 2,
    "render_clock": True,
    "open_slack": 1.3,
    "server_logged": True,
    "audience_server_s": {"home": 0.05, "gpt": 1.4},
    "warm_server_s": {"home": 0.06, "gpt": 0.1},
    "first_open_slower": ["gpt"],
    "first_open_cold": ["gpt"],
}


def test_the_preflight_page_shows_each_first_open_against_its_warm_render(monkeypatch, tmp_path):
    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    checks.save_report(REPORT)
    at = open_page("views/preflight.py")
    frame = at.dataframe[-1].value
    assert list(frame["page"]) == ["home", "gpt"]
    assert list(frame["within"]) == [True, False]
    assert list(frame["warm render (s)"]) == [1.1, 1.2]
    assert list(frame["server share, first (s)"]) == [0.05, 1.4]
    assert list(frame["server warm"]) == [True, False]
    assert "some lines are red" in at.caption[0].value
    how = at.caption[1].value
    assert "1.3x their median" in how and "logged script time" in how
    assert "browser's clock to the last element" in how


def test_an_older_report_without_warm_opens_still_shows(monkeypatch, tmp_path):
    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    kept = ("finished", "total_s", "all_ok", "lines", "warming_open_s", "audience_open_s")
    checks.save_report({k: REPORT[k] for k in kept})
    frame = checks.first_open_table(checks.load_report())
    assert list(frame.columns) == ["page", "first open after preflight (s)", "warming open (s)"]


def test_the_slack_is_one_opens_spread_measured_on_the_warm_opens():
    assert checks.open_spread({"a": [1.0], "b": [2.0]}) == 0.0  # nothing to measure a spread on
    steady = {"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0]}
    assert checks.open_spread(steady) == 0.0 and checks.open_slack(steady) == 1.25  # the floor
    noisy = {"a": [1.0, 1.4], "b": [2.0, 2.8]}  # each open 1/6 off its page's mean
    assert checks.open_spread(noisy) == pytest.approx((2 * 2 * (0.2 / 1.2) ** 2 / 2) ** 0.5)
    assert checks.open_slack(noisy) == round(1 + 3 * checks.open_spread(noisy), 2) > 1.25


def test_the_servers_share_is_its_logged_runs_of_that_page_in_the_opens_window():
    runs = [
        {"page": "gpt", "start": 10.0, "seconds": 0.05},
        {"page": "gpt", "start": 10.5, "seconds": 0.02},  # a rerun in the same open
        {"page": "home", "start": 10.2, "seconds": 0.9},  # another page
        {"page": "gpt", "start": 12.0, "seconds": 3.0},  # after this open
    ]
    assert checks.server_seconds(runs, "gpt", 9.9, 11.0) == 0.07
    cold = checks.server_slower({"gpt": 3.0, "home": 0.15}, {"gpt": [0.07, 0.05], "home": [0.06]})
    assert cold == {"gpt": (3.0, 0.07)}  # home: within SERVER_SLACK_S of its slowest warm run


def test_the_server_logs_each_page_run_only_when_asked(monkeypatch, tmp_path):
    from models import runtime

    log = tmp_path / "runs.jsonl"
    monkeypatch.delenv(runtime.RUN_LOG_ENV, raising=False)
    runtime.log_run("gpt", 1.0, 0.1)
    assert not log.exists()
    monkeypatch.setenv(runtime.RUN_LOG_ENV, str(log))
    open_page("views/tokenization.py")
    pages = [r["page"] for r in runtime.read_run_log(log)]
    assert pages[0] == "home" and pages[-1] == "tokenization"
    assert all(r["seconds"] > 0 for r in runtime.read_run_log(log))
    with log.open("a") as f:
        f.write('{"page": "gpt", "sta')  # a line the server is writing as the log is read
    assert runtime.read_run_log(log)[-1]["page"] == "tokenization"
    monkeypatch.setattr(runtime, "RUN_LOG_MAX_BYTES", 0)  # a full log stops growing
    size = log.stat().st_size
    runtime.log_run("gpt", 1.0, 0.1)
    assert log.stat().st_size == size


def test_a_report_from_before_the_slack_was_recorded_still_renders(monkeypatch, tmp_path):
    monkeypatch.setenv("GALLERY_CACHE", str(tmp_path))
    dropped = ("open_slack", "warm_opens", "server_logged", "audience_server_s", "first_open_cold")
    dropped += ("render_clock",)
    checks.save_report({k: v for k, v in REPORT.items() if k not in dropped})
    at = open_page("views/preflight.py")  # fails on an exception
    assert "1.25x their median" in at.caption[1].value and "browser's view" in at.caption[1].value
    assert "browser's clock" not in at.caption[1].value  # timed by polling, as it was then
    assert list(at.dataframe[-1].value["server warm"]) == [True, True]


def test_bench_goal_compares_each_first_open_with_its_own_runs_warm_render():
    from scripts.bench import goals

    out = {
        "page_render_s": {"home": 9.0, "gpt": 9.0},  # another section's figures play no part
        "preflight_audience_open_s": {"home": 1.0, "gpt": 1.5},
        "preflight_warm_open_s": {"home": 1.0, "gpt": 1.2},
        "preflight_open_slack": 1.3,
        "preflight_first_open_slower": [],
        "preflight_first_open_cold": [],
    }
    goals(out)
    goal = out["goals"]["first_open_after_preflight"]
    assert goal["met"] and goal["page"] == "gpt" and goal["worst_ratio_to_warm"] == 1.25
    for key in ("preflight_first_open_slower", "preflight_first_open_cold"):
        failed = {**out, key: ["gpt"]}
        goals(failed)
        assert not failed["goals"]["first_open_after_preflight"]["met"]
