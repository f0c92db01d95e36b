"""A local OpenAI-compatible chat-completions server on 127.0.0.1 for the caption tests and bench_caption.

Each request is answered by a script function (request number -> Reply), so tests can stage 429s, 500s, slow or
malformed answers. It records every request's headers and the highest number of requests in flight at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def completion(text: str, prompt_tokens: int = 20, completion_tokens: int = 10) -> bytes:
    """A well-formed chat-completions response body."""
    return json.dumps(
        {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "model": "local-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    ).encode()


def always_ok(number: int, request: dict) -> Reply:
    return Reply(body=completion(f"A dog barks in a park, reply {number}."))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 resets connections at concurrency 32


class ChatServer:
    """Context manager: ``with ChatServer(script) as server: ... server.base_url``."""

    def __init__(self, script: Callable[[int, dict], Reply] = always_ok, request_timeout_s: float = 10.0) -> None:
        self.script = script
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class(request_timeout_s))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="chat-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with self._lock:
            number = len(self.requests)
            request = json.loads(body) if handler.path.endswith("/chat/completions") else {}
            self.requests.append(request)
            self.headers.append(dict(handler.headers.items()))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            reply = self.script(number, request)
            time.sleep(reply.delay_s)
        finally:
            with self._lock:
                self._in_flight -= 1
        payload = reply.body if reply.body is not None else b""
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    def _handler_class(self, request_timeout_s: float) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as separate writes on kept-alive sockets
            timeout = request_timeout_s

            def do_POST(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: tests read the recorded requests instead."""

        return Handler
