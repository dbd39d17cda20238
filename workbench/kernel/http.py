"""HTTP from the domain, through `requests` (installed with the docker SDK; no Rich import).

A `Response` is a small frozen record so callers never hold a connection open;
HTTP error statuses are returned, network failures raise `OSError` (requests'
`RequestException` is one).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    timeout: float = 10,
) -> Response:
    """Send one request; HTTP error statuses are returned, network failures raise OSError."""
    import requests  # ~0.1 s to import: paid only by the commands that talk HTTP

    with requests.Session() as session:  # one connection per request, as requests.request
        # Plain HTTP on loopback (the image under test) goes through no proxy and uses no
        # CA bundle or .netrc: the environment is not read for them (it cost ~0.6 ms of CPU
        # a request, and the serve test sends about 900).
        session.trust_env = not _plain_loopback(url)
        answer = session.request(
            method,
            url,
            data=body,
            headers=headers,
            auth=auth,
            timeout=timeout,
        )
    return Response(
        answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content
    )


def _plain_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return parts.hostname == "localhost"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now (TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
