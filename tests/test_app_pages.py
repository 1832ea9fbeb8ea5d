"""AppTest: every page in the navigation renders offline with the embedded models."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from lessons.course import all_pages
from tests.apptest import assert_ok, open_page
from tests.conftest import ROOT

APP = ROOT / "app.py"

PAGES = all_pages()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page):
    at = open_page(page)
    assert_ok(at)
    assert at.title or at.header or at.subheader, f"{page} rendered no heading"


def test_sidebar_shows_offline_state_and_roles():
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception
    texts = " ".join(w.value for w in at.sidebar.warning)
    assert "Offline" in texts
    labels = [s.label for s in at.sidebar.selectbox]
    assert "Encoder (WordPiece)" in labels and "Causal chat LM" in labels
    assert any("CPU" in c.value or "CUDA" in c.value for c in at.sidebar.caption)


def test_choosing_a_hub_model_offline_falls_back_visibly():
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    at.sidebar.selectbox(key="model::encoder").set_value("bert-base-uncased").run()
    at.switch_page("views/architecture.py").run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = " ".join(w.value for w in at.main.warning)
    assert "BERT base uncased" in warnings and "MiniLM-L6 (embedded) instead" in warnings
    assert "unavailable offline" in at.sidebar.selectbox(key="model::encoder").format_func(
        "bert-base-uncased"
    )
