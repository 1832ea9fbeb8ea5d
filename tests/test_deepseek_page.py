"""The DeepSeek page through the real router: the MoE tab opens on the prepared comparison (its
load figure, the 3-seed table, routing of the user's text, escaped), balancing lowers max/mean on
that state, the MLA tab's figure and printed max |Δ|, R1's format live from a server speaking
Ollama's API and recorded with none, and hostile input in every box and button."""

from __future__ import annotations

import pytest

from lessons import mla_cache
from lessons.llm_arch import Arch, published
from models.moe import state
from models.moe.trainer import VARIANTS
from tests.apptest import assert_ok, click, html_of, open_page, texts
from tests.fake_ollama import FakeOllama
from tests.tabs import open_tab

PAGE = "views/deepseek.py"
TABS = "deepseek::tabs"
# A clean clone has no prepared state: the step's own command cut to one seed of 200 steps.
REDUCED = {state.NAME: {"--steps": "200", "--seeds": "0", "--minutes": "3"}}
HOSTILE = ("", "   ", "<script>alert(1)</script>", "👩‍👩‍👧 \u202eabc", "x" * 5_000, "\x00\x1b[31m")


@pytest.fixture(scope="module")
def moe_state(prepared_states):
    return prepared_states(REDUCED)[state.NAME]


def test_balancing_lowers_the_worst_load_on_the_prepared_state(moe_state):
    runs = state.read(moe_state).runs
    worst = {v: [max(r["max_over_mean"]) for r in runs if r["run"] == v] for v in VARIANTS[:2]}
    on, off = worst[VARIANTS[0]], worst[VARIANTS[1]]
    assert max(on) < min(off), worst  # every seed: balanced below every unbalanced seed
    assert max(on) < 1.5, worst
    active = {r["run"]: r["active_parameters"] for r in runs}
    assert active[VARIANTS[0]] == active["dense"]


def test_moe_tab_shows_the_load_table_and_routes_text_escaped(moe_state):
    at = open_page(PAGE)
    assert "mixtures of experts" in texts(at) and "Opened on" in texts(at)
    assert len(at.get("plotly_chart")) >= 2  # expert load and the loss curves
    table = at.main.table[0].value  # a static table: nothing to scroll on a projector
    assert list(table.index) == list(VARIANTS) and "layer 0 max/mean" in table
    box = at.text_input(key="deepseek::route_prepared")
    for value in HOSTILE:
        box.input(value).run()
        assert_ok(at)
    box.input("<b>MARA</b>").run()
    shown = html_of(at)
    assert "&lt;" in shown and "<b>" not in shown and ">e" in shown  # one span per character


def test_mla_tab_prints_the_equality_and_the_cache_sizes():
    at = open_tab(open_page(PAGE), TABS, "Latent attention (MLA)")
    metric = next(m for m in at.main.metric if m.label.startswith("max |expanded"))
    check = mla_cache.absorbed_vs_expanded(0)
    assert float(metric.value) < 2e-6 * check.scale and check.scale > 1  # rounding, nothing else
    assert len(at.get("plotly_chart")) == 1
    table = at.main.dataframe[0].value
    assert table["layout"].iloc[0] == "MLA (this model)" and "as MQA" in list(table["layout"])
    v3 = mla_cache.per_token(Arch.from_config(published("deepseek-v3").config))
    assert v3["as MHA"] > 50 * v3["MLA (this model)"]


def test_think_tab_recorded_without_a_server(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    at = open_tab(open_page(PAGE), TABS, "R1's <think> format")
    assert "ollama serve" in texts(at) and "Recorded example" in texts(at)
    assert "not a transcript" in texts(at) and "</think>" in at.main.code[0].value


def test_think_tab_live_from_a_server_with_hostile_questions(monkeypatch):
    with FakeOllama() as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        at = open_tab(open_page(PAGE), TABS, "R1's <think> format")
        assert at.selectbox(key="deepseek::model").options == ["deepseek-r1:1.5b"]
        for value in HOSTILE[2:]:
            at.text_input(key="deepseek::ask").input(value).run()
            click(at, "deepseek::go_ask")
            raw = at.main.code[0].value
            assert raw.startswith("<think>\nOkay, the user") and "You asked" in raw
        assert "Live from `deepseek-r1:1.5b`" in texts(at)
        metrics = {m.label: m.value for m in at.main.metric}
        assert metrics["Format reward"] == "1" and metrics["Answer"] == "6 words"
        fake.httpd.shutdown()  # the server goes away between two questions
        click(at, "deepseek::go_ask")
        assert at.warning or "ollama serve" in texts(at)


def test_live_training_button_runs_the_three_models(moe_state, one_thread):
    from tests.apptest import train_on_page

    at = open_page(PAGE)
    at.select_slider(key="deepseek::steps").set_value(100).run()
    train_on_page(at, "deepseek::train", timeout=90)
    assert_ok(at)
    assert at.text_input(key="deepseek::route_live").value
    assert "dense: " in texts(at)
