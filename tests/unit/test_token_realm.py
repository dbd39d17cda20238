"""Credentials go only to a token realm the registry may name (issue 31, point 10): two
real loopback HTTP servers, one a registry naming the other as its realm."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import TRUSTED_REALMS_VARIABLE, ImageRef, RegistryClient, realm_refusal

SECRET = ("ana", "s3cret-password")


class Server:
    """A loopback HTTP server that records every request's path and Authorization."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.realm = ""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Authorization")))
                if self.path.startswith("/token"):
                    self._answer(200, json.dumps({"token": "t0ken"}).encode())
                elif self.headers.get("Authorization") == "Bearer t0ken":
                    self._answer(200, b"{}")
                else:
                    self._answer(401, b"{}", {"WWW-Authenticate": server.challenge})

            def _answer(self, status: int, body: bytes, headers: dict[str, str] = {}) -> None:  # noqa: B006
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def challenge(self) -> str:
        return f'Bearer realm="{self.realm}",service="registry"'


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    registry, foreign = Server(), Server()
    yield registry, foreign
    for server in (registry, foreign):
        server.httpd.shutdown()
        server.httpd.server_close()


def test_no_credentials_reach_a_foreign_realm(servers: tuple[Server, Server]) -> None:
    registry, foreign = servers
    registry.realm = f"http://{foreign.host}/token"
    client = RegistryClient(ImageRef.parse(f"{registry.host}/team/model"), SECRET)
    with pytest.raises(WorkbenchError) as caught:
        client.check()
    assert foreign.seen == [], "nothing at all may reach the foreign realm"
    said = str(caught.value)
    assert f"token service http://{foreign.host}/token" in said
    assert "plain HTTP to a host other than the loopback registry itself" in said
    assert "they were not sent" in said and TRUSTED_REALMS_VARIABLE in said
    assert SECRET[1] not in said


def test_the_registrys_own_realm_gets_them(servers: tuple[Server, Server]) -> None:
    registry, _ = servers
    registry.realm = f"http://{registry.host}/token"
    client = RegistryClient(ImageRef.parse(f"{registry.host}/team/model"), SECRET)
    assert client.check() == 200
    token_calls = [auth for path, auth in registry.seen if path.startswith("/token")]
    assert len(token_calls) == 1 and token_calls[0] and token_calls[0].startswith("Basic ")


def test_anonymous_access_may_use_any_realm(servers: tuple[Server, Server]) -> None:
    """No credentials, nothing to leak: a public registry's separate token service works."""
    registry, foreign = servers
    registry.realm = f"http://{foreign.host}/token"
    foreign.realm = ""
    client = RegistryClient(ImageRef.parse(f"{registry.host}/team/model"), None)
    assert client.check() == 200
    assert [auth for _, auth in foreign.seen] == [None]


@pytest.mark.parametrize(
    ("registry", "realm", "trusted", "refused"),
    [
        ("registry.example.com/a/b", "https://registry.example.com/token", "", None),
        ("registry.example.com:5000/a/b", "https://registry.example.com:443/t", "", None),
        ("registry.example.com/a/b", "http://registry.example.com/token", "", "plain HTTP"),
        ("registry.example.com/a/b", "https://evil.example.net/token", "", "another host"),
        ("registry-1.docker.io/a/b", "https://auth.docker.io/token", "auth.docker.io", None),
        ("registry-1.docker.io/a/b", "http://auth.docker.io/token", "auth.docker.io", "plain"),
        ("localhost:5000/a/b", "http://localhost:5000/token", "", None),
        ("localhost:5000/a/b", "http://localhost:5001/token", "", "plain HTTP"),
        ("localhost:5000/a/b", "file:///etc/passwd", "", "not an http(s) URL"),
    ],
)
def test_which_realms_may_have_credentials(
    monkeypatch: pytest.MonkeyPatch, registry: str, realm: str, trusted: str, refused: str | None
) -> None:
    monkeypatch.setenv(TRUSTED_REALMS_VARIABLE, trusted)
    said = realm_refusal(ImageRef.parse(registry), realm)
    if refused is None:
        assert said is None
    else:
        assert said is not None and refused in said
