"""A local HTTP server speaking Ollama's REST API as its documentation and the official client
describe it (tests only): GET /api/tags, POST /api/show (with `capabilities`), POST /api/pull
(NDJSON status lines with total/completed), POST /api/chat (NDJSON chunks with
`message.thinking` / `message.content`, a final chunk with `done` and nanosecond durations);
errors as JSON `{"error": ...}` with their status codes (404 for an unknown model).

    with FakeOllama() as server:   # server.url -> "http://127.0.0.1:PORT"
        ...
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = {
    "deepseek-r1:1.5b": {"family": "qwen2", "parameter_size": "1.8B",
                         "quantization_level": "Q4_K_M", "size": 1_117_322_599,
                         "capabilities": ["completion", "thinking"]},
    "llama3.2:1b": {"family": "llama", "parameter_size": "1.2B", "quantization_level": "Q8_0",
                    "size": 1_321_098_329, "capabilities": ["completion", "tools"]},
}  # fmt: skip
PULLABLE = {"qwen3:0.6b": {"family": "qwen3", "parameter_size": "751.63M",
                           "quantization_level": "Q4_K_M", "size": 522_653_767,
                           "capabilities": ["completion", "thinking", "tools"]}}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def _json(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, parts) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for part in parts:
            self.wfile.write((json.dumps(part) + "\n").encode())
            self.wfile.flush()

    def _body(self) -> dict:
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self._json(200, {"models": [
                {"name": name, "model": name, "modified_at": "2026-11-30T10:00:00Z",
                 "size": m["size"], "digest": "a" * 64,
                 "details": {"format": "gguf", "family": m["family"], "families": [m["family"]],
                             "parameter_size": m["parameter_size"],
                             "quantization_level": m["quantization_level"]}}
                for name, m in self.server.models.items()]})  # fmt: skip
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = self._body()
        name = body.get("model", "")
        if self.path == "/api/show":
            if name not in self.server.models:
                return self._json(404, {"error": f"model '{name}' not found"})
            m = self.server.models[name]
            return self._json(200, {"modelfile": "", "parameters": "", "template": "",
                                    "details": {"family": m["family"]}, "model_info": {},
                                    "capabilities": m["capabilities"]})  # fmt: skip
        if self.path == "/api/pull":
            if name not in PULLABLE:
                return self._json(500, {"error": "pull model manifest: file does not exist"})
            total = PULLABLE[name]["size"]
            parts = [{"status": "pulling manifest"}]
            parts += [
                {
                    "status": f"pulling {'b' * 12}",
                    "digest": "sha256:" + "b" * 64,
                    "total": total,
                    "completed": total * i // 4,
                }
                for i in range(5)
            ]
            parts += [{"status": "verifying sha256 digest"}, {"status": "success"}]
            self.server.models[name] = PULLABLE[name]
            return self._stream(parts)
        if self.path == "/api/chat":
            if name not in self.server.models:
                return self._json(404, {"error": f"model '{name}' not found"})
            thinks = body.get("think") and "thinking" in self.server.models[name]["capabilities"]
            question = body["messages"][-1]["content"]
            return self._stream(self.server.answer(name, question, bool(thinks)))
        self._json(404, {"error": "not found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    models: dict

    def answer(self, model: str, question: str, thinks: bool):
        at = "2026-12-01T12:00:00Z"
        if thinks:
            for word in ["Okay,", " the", " user", " asks", " something;", " answer", " briefly."]:
                yield {
                    "model": model,
                    "created_at": at,
                    "done": False,
                    "message": {"role": "assistant", "content": "", "thinking": word},
                }
        words = ["You", " asked", f" {len(question)}", " characters", " of", " text."]
        for word in words:
            yield {
                "model": model,
                "created_at": at,
                "done": False,
                "message": {"role": "assistant", "content": word},
            }
        yield {"model": model, "created_at": at, "done": True, "done_reason": "stop",
               "message": {"role": "assistant", "content": ""},
               "total_duration": 2_500_000_000, "load_duration": 500_000_000,
               "prompt_eval_count": 20, "prompt_eval_duration": 100_000_000,
               "eval_count": 50, "eval_duration": 1_250_000_000}  # fmt: skip


class FakeOllama:
    def __enter__(self) -> FakeOllama:
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.models = dict(MODELS)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
