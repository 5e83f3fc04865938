"""Recorded answers handed to `aiohttp` through a loopback HTTP server in this process.

An httpx response can be built from a recording and handed back in place of the network's; an
aiohttp response cannot: `aiohttp.ClientResponse` is bound to the connection that read it, and
SDKs check that they got one (`google-genai` reads a stream only from an
`isinstance(..., aiohttp.ClientResponse)`). So a replayed aiohttp request is sent to a server on
127.0.0.1, started on first use, that answers it with the recorded status, content type and
body: aiohttp reads a real response, and the agent's code cannot tell it from the model's. Each
answer is served once, under a token in the path that only its request knows.
"""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from ._cassette import Exchange

PREFIX = "/proctor-replay/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # token -> the answer its one request gets
    answers: dict[str, Exchange]
    lock: threading.Lock


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        server = cast(_Server, self.server)
        token = self.path[len(PREFIX):] if self.path.startswith(PREFIX) else ""
        with server.lock:
            exchange = server.answers.pop(token, None)
        if exchange is None:
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        self.send_response(exchange.status)
        self.send_header("content-type", exchange.content_type)
        self.send_header("content-length", str(len(exchange.body)))
        self.end_headers()
        self.wfile.write(exchange.body)

    do_POST = _answer
    do_GET = _answer


_server: _Server | None = None
_starting = threading.Lock()


def _started() -> _Server:
    global _server
    with _starting:
        if _server is None:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.answers = {}
            server.lock = threading.Lock()
            threading.Thread(target=server.serve_forever, name="proctor-replay", daemon=True).start()
            _server = server
        return _server


def url_for(exchange: Exchange) -> str:
    """The URL whose one request is answered with `exchange`."""
    server = _started()
    token = uuid.uuid4().hex
    with server.lock:
        server.answers[token] = exchange
    return "http://127.0.0.1:%d%s%s" % (server.server_address[1], PREFIX, token)
