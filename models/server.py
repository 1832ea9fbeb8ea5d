"""A local model server (Ollama) through its official client: list, show, pull, streamed chat.

The registry's `server` role loads `connect`: the handle's model is an `OllamaServer`, which reads
`OLLAMA_HOST` (the client's own variable; default http://localhost:11434) on every call, so a
server started or moved after the app started is found. Errors become `ServerError`s whose
message says what to run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_HOST = "http://localhost:11434"
NS = 1e9  # Ollama reports durations in nanoseconds


class ServerError(RuntimeError):
    """The server is down, slow, or refused the request; the message says what to do."""


@dataclass(frozen=True)
class ServedModel:
    name: str
    size_bytes: int
    parameters: str  # "1.8B" as the server reports it
    quantization: str
    family: str


@dataclass(frozen=True)
class Figures:
    """What the final chunk of a streamed answer reports, plus the time to first token the
    client measured. Tokens/s = eval_count / eval_duration (nanoseconds)."""

    eval_count: int
    eval_duration_ns: int
    prompt_eval_count: int
    prompt_eval_duration_ns: int
    load_duration_ns: int
    total_duration_ns: int
    first_token_s: float

    @property
    def tokens_per_s(self) -> float:
        return self.eval_count / (self.eval_duration_ns / NS) if self.eval_duration_ns else 0.0

    @property
    def prompt_tokens_per_s(self) -> float:
        d = self.prompt_eval_duration_ns
        return self.prompt_eval_count / (d / NS) if d else 0.0

    @property
    def load_s(self) -> float:
        return self.load_duration_ns / NS


@dataclass(frozen=True)
class Chunk:
    kind: str  # "thinking" | "content" | "done"
    text: str = ""
    figures: Figures | None = None
    live_tokens_per_s: float = 0.0  # chunks so far / seconds since the first (one token each)


def explain(exc: BaseException, host: str, model: str | None = None) -> str:
    """A failure of the client, in words, with the command that fixes it."""
    import httpx
    import ollama

    if isinstance(exc, ollama.ResponseError):
        if exc.status_code == 404 and model:
            return f"The server at {host} has no model `{model}`: run `ollama pull {model}`."
        return f"The server at {host} refused the request ({exc.status_code}): {exc.error}"[:400]
    if isinstance(exc, httpx.TimeoutException):
        return f"The server at {host} did not answer in time: is it busy loading a model?"
    if isinstance(exc, (ConnectionError, httpx.TransportError)):
        return (
            f"No Ollama server answers at {host}: start one with `ollama serve` (and "
            "`ollama pull deepseek-r1:1.5b`), or set OLLAMA_HOST to where it runs."
        )
    return f"The server at {host} failed: {type(exc).__name__}: {exc}"[:400]


class OllamaServer:
    """The server at OLLAMA_HOST, read on every call."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.timeout_s = timeout_s

    @property
    def host(self) -> str:
        return os.environ.get("OLLAMA_HOST") or DEFAULT_HOST

    def client(self, timeout_s: float | None = None):
        import ollama

        return ollama.Client(host=self.host, timeout=timeout_s or self.timeout_s)

    def _call(self, fn, model: str | None = None):
        try:
            return fn()
        except Exception as exc:  # the client raises httpx, ollama and builtin errors
            raise ServerError(explain(exc, self.host, model)) from exc

    def models(self) -> list[ServedModel]:
        listed = self._call(lambda: self.client().list())
        out = []
        for m in listed.models:
            d = m.details
            out.append(ServedModel(m.model or "?", int(m.size or 0),
                                   (d.parameter_size if d else None) or "?",
                                   (d.quantization_level if d else None) or "?",
                                   (d.family if d else None) or "?"))  # fmt: skip
        return out

    def capabilities(self, model: str) -> list[str]:
        shown = self._call(lambda: self.client().show(model), model)
        return list(shown.capabilities or [])

    def pull(self, model: str) -> Iterator[tuple[str, int, int]]:
        """(status, completed bytes, total bytes) as the server streams them."""
        stream = self._call(lambda: self.client(timeout_s=600).pull(model, stream=True), model)
        try:
            for part in stream:
                yield part.status or "", int(part.completed or 0), int(part.total or 0)
        except Exception as exc:
            raise ServerError(explain(exc, self.host, model)) from exc

    def chat(self, model: str, messages: Sequence[dict[str, str]], think: bool = False,
             options: dict[str, Any] | None = None) -> Iterator[Chunk]:  # fmt: skip
        """Stream an answer: thinking and content chunks apart, then the figures."""
        start = time.perf_counter()
        first: float | None = None
        n = 0
        stream = self._call(lambda: self.client(timeout_s=300).chat(
            model=model, messages=list(messages), stream=True, think=think or None,
            options=options), model)  # fmt: skip
        try:
            for part in stream:
                msg = part.message
                for kind, text in (("thinking", msg.thinking), ("content", msg.content)):
                    if text:
                        now = time.perf_counter()
                        first = first if first is not None else now
                        n += 1
                        rate = (n - 1) / (now - first) if now > first else 0.0
                        yield Chunk(kind, text, live_tokens_per_s=rate)
                if part.done:
                    yield Chunk("done", figures=Figures(
                        int(part.eval_count or 0), int(part.eval_duration or 0),
                        int(part.prompt_eval_count or 0), int(part.prompt_eval_duration or 0),
                        int(part.load_duration or 0), int(part.total_duration or 0),
                        (first or time.perf_counter()) - start))  # fmt: skip
        except Exception as exc:
            raise ServerError(explain(exc, self.host, model)) from exc


def connect(choice: Any) -> tuple[None, OllamaServer]:
    """The registry's loader for the `server` role: no tokenizer, the server as the model."""
    return None, OllamaServer()


def on_a_space() -> bool:
    """A hosted Hugging Face Space cannot reach the visitor's localhost."""
    return bool(os.environ.get("SPACE_ID"))
