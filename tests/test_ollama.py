"""Project 7: the Ollama client code against a local server speaking Ollama's API
(tests/fake_ollama.py), the page end to end (list, pull, streamed chat with thinking, the four
figures), and a clear message with the server stopped."""

from __future__ import annotations

import pytest

from models.server import Figures, OllamaServer, ServerError
from tests.apptest import assert_ok, open_page, texts
from tests.fake_ollama import FakeOllama

ASK = [{"role": "user", "content": "Why is the sky blue?"}]


@pytest.fixture
def server(monkeypatch):
    with FakeOllama() as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        yield fake


def test_list_show_and_streamed_chat_with_thinking_apart(server):
    s = OllamaServer()
    assert [m.name for m in s.models()] == ["deepseek-r1:1.5b", "llama3.2:1b"]
    assert "thinking" in s.capabilities("deepseek-r1:1.5b")
    chunks = list(s.chat("deepseek-r1:1.5b", ASK, think=True))
    thinking = "".join(c.text for c in chunks if c.kind == "thinking")
    answer = "".join(c.text for c in chunks if c.kind == "content")
    assert thinking.startswith("Okay") and answer == "You asked 20 characters of text."
    f = chunks[-1].figures
    assert chunks[-1].kind == "done" and f is not None
    # Nanoseconds: 50 tokens in 1.25 s, 20 prompt tokens in 0.1 s, 0.5 s to load.
    assert (f.tokens_per_s, f.prompt_tokens_per_s, f.load_s) == (40.0, 200.0, 0.5)
    assert 0 <= f.first_token_s < 5
    no_think = list(s.chat("deepseek-r1:1.5b", ASK, think=False))
    assert not any(c.kind == "thinking" for c in no_think)


def test_pull_streams_progress_and_adds_the_model(server):
    steps = list(OllamaServer().pull("qwen3:0.6b"))
    assert steps[0][0] == "pulling manifest" and steps[-1][0] == "success"
    fractions = [done / total for _, done, total in steps if total]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "qwen3:0.6b" in [m.name for m in OllamaServer().models()]


def test_errors_say_what_to_run(server, monkeypatch):
    with pytest.raises(ServerError, match="ollama pull nope:1b"):
        list(OllamaServer().chat("nope:1b", ASK))
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ServerError, match="ollama serve"):
        OllamaServer(timeout_s=2).models()


def test_figures_guard_zero_durations():
    f = Figures(0, 0, 0, 0, 0, 0, 0.0)
    assert (f.tokens_per_s, f.prompt_tokens_per_s) == (0.0, 0.0)


def test_page_lists_pulls_and_chats_with_the_four_figures(server):
    at = open_page("views/ollama.py")
    assert "2 model(s)" in texts(at)
    assert at.toggle(key="ollama::think").value is True  # the model lists `thinking`
    at.chat_input(key="ollama::ask").set_value("<script>alert(1)</script> why?").run()
    assert_ok(at)
    shown = " ".join(t.value for t in at.main.text)
    assert "<script>alert(1)</script> why?" in shown  # shown as text, never as HTML
    assert "You asked 30 characters of text." in shown and "Okay, the user" in shown
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["Generation"] == "40.0 tok/s" and metrics["Prompt"] == "200 tok/s"
    assert metrics["Load"] == "0.50 s" and metrics["First token"].endswith(" s")
    at.text_input(key="ollama::pull").input("qwen3:0.6b").run()
    at.button(key="ollama::go_pull").click().run()
    assert_ok(at)
    assert "Pulled `qwen3:0.6b`" in texts(at)


def test_page_with_the_server_stopped_says_what_to_run_and_offers_the_stand_in(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    at = open_page("views/ollama.py")
    assert "ollama serve" in texts(at)
    assert at.text_input(key="ollama::standin") is not None
    at.button(key="ollama::go_standin").click().run()
    assert_ok(at)
    assert "tokens/s on this machine" in texts(at)


def test_page_unknown_model_pull_is_a_clear_message(server):
    at = open_page("views/ollama.py")
    at.text_input(key="ollama::pull").input("no-such-model").run()
    at.button(key="ollama::go_pull").click().run()
    assert_ok(at)
    assert "refused the request (500)" in texts(at)
