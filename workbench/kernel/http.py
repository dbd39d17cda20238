"""HTTP from the domain, through `requests` (installed with the docker SDK; no Rich import).

A `Response` is a small frozen record so callers never hold a connection open;
HTTP error statuses are returned, network failures raise `OSError` (requests'
`RequestException` is one).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any


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

    answer = requests.request(
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
