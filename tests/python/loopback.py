"""The plumbing the in-tree receivers share (Firehose HTTP endpoint, OpenSearch bulk API,
Splunk HEC): a threaded HTTP server on 127.0.0.1 and a free port, optionally TLS, whose POSTs
go to the receiver's `handle(handler)`, and JSON answers."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Mixed into a receiver (a dataclass with a `server` field)."""

    server: ThreadingHTTPServer | None = None
    tls: bool = False
    #: The Content-Type of answers.
    content_type = "application/json"

    @property
    def url(self) -> str:
        host, port = self.server.server_address
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def start(self, tls: "ssl.SSLContext | None" = None):
        """Listens on a free loopback port; with `tls`, speaks HTTPS with that context."""
        self.tls = tls is not None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                receiver.handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def handle(self, handler) -> None:
        raise NotImplementedError

    def answer(self, handler, status: int, body: dict | bytes) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
