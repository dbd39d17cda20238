"""Requests to the image under test (plain HTTP on loopback) never go through a proxy the
environment names, and do not read the environment at all; others still do."""

from __future__ import annotations

import http.server
from collections.abc import Iterator

import pytest

from tests.helpers import loopback_server
from workbench.kernel.http import _plain_loopback, request


@pytest.fixture
def server() -> Iterator[str]:
    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"here")

        def log_message(self, *_: object) -> None:
            return

    with loopback_server(Answer) as url:
        yield f"{url}/"


def test_a_proxy_in_the_environment_is_not_used_for_the_image_on_loopback(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = "http://127.0.0.1:9"  # the discard port: nothing answers there
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    answer = request("GET", server, timeout=5)
    assert (answer.status, answer.body) == (200, b"here")


def test_only_plain_http_on_loopback_skips_the_environment() -> None:
    assert _plain_loopback("http://127.0.0.1:8080/predict")
    assert _plain_loopback("http://localhost:5000/v2/")
    assert _plain_loopback("http://[::1]:8080/")
    assert not _plain_loopback("https://127.0.0.1:5000/v2/")  # a CA bundle may be named
    assert not _plain_loopback("http://registry.example.com/v2/")
    assert not _plain_loopback("http://127.example.com/")
