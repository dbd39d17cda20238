"""The image's health check (`serve/health.py`), run as the engine runs it (a new python3
with the command's arguments) against real servers on loopback: 0 only for a 2xx answer
of /health/ready within 2 s."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from workbench.steps.serve.health import dockerfile_command, health_probe


@contextmanager
def answering(status: int) -> Iterator[tuple[int, list[str]]]:
    """A server on a free loopback port that answers every GET with `status`; the paths
    it was asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], asked
    finally:
        server.shutdown()
        server.server_close()


def check(port: int) -> int:
    command = health_probe(port)
    assert command[0] == "python3"
    return subprocess.run([sys.executable, *command[1:]], timeout=30, check=False).returncode


def test_ready_is_healthy_and_anything_else_is_not() -> None:
    with answering(200) as (port, asked):
        assert check(port) == 0
    assert asked == ["/health/ready"]
    for status in (503, 404, 301):
        with answering(status) as (port, _):
            assert check(port) == 1, status


def test_nothing_listening_or_a_server_that_never_answers_is_unhealthy_within_seconds() -> None:
    with socket.socket() as idle:
        idle.bind(("127.0.0.1", 0))
        port = idle.getsockname()[1]
        assert check(port) != 0  # refused: nothing listens yet
        idle.listen()  # accepts the connection, never answers
        started = time.monotonic()
        assert check(port) != 0
        assert time.monotonic() - started < 10  # its own 2 s timeout, not the engine's


def test_the_dockerfile_gets_the_same_command_as_exec_form_json() -> None:
    assert json.loads(dockerfile_command(8080)) == health_probe(8080)
    assert "8080" in health_probe(8080)[2] and "/health/ready" in health_probe(8080)[2]
