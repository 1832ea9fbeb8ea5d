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
