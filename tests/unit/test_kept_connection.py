"""serve.performance times its requests on kept connections, as a pooled caller sends them:
ten requests on each, not one connection per request (which measured the engine's port
proxy and a handshake each, and cost more CPU than the answers). A loopback server counts
them."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from workbench.steps.serve.performance import _timed_requests


class Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn answers
    connections = 0
    statuses = [200]

    def setup(self) -> None:
        super().setup()
        Counting.connections += 1

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status = Counting.statuses[0]
        body = b'{"prediction": 1}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/predict"


def test_a_run_of_requests_keeps_each_connection_for_ten_and_counts_every_status() -> None:
    server, url = serve()
    try:
        Counting.connections, Counting.statuses = 0, [200]
        timed = _timed_requests(url, [{"x": 1}], 25)
        assert [t.status for t in timed] == [200] * 25
        assert Counting.connections == 3  # ten on each: every worker of a port is reached
        Counting.connections, Counting.statuses = 0, [503]
        timed = _timed_requests(url, [{"x": 1}], 5)
        assert [t.status for t in timed] == [503] * 5  # an error status is an error, kept
    finally:
        server.shutdown()
