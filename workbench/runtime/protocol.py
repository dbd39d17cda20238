"""The HTTP protocol the server speaks: uvicorn's httptools protocol with a bound on the time
a client may take to send a request's headers.

Uvicorn bounds the wait between requests (keep-alive) and we bound a request's body (408
after `BODY_TIMEOUT`), but nothing bounds the headers: a client that sends one header
byte every few seconds holds a connection, and a worker's slot, for ever (slowloris).
Here the clock starts when a connection opens or a request's first byte arrives and
stops when its headers are complete; past `HEADER_TIMEOUT_SECONDS` the server answers
408 and closes the connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0
log = logging.getLogger("workbench.runtime")


def _timeout_answer() -> bytes:
    body = orjson.dumps(
        {"error": f"the request's headers did not arrive within {HEADER_TIMEOUT_SECONDS:g} s"}
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"connection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """httptools' protocol, closing connections whose headers trickle in."""

    header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.header_timer is None:
            self.header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._too_slow)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _too_slow(self) -> None:
        self.header_timer = None
        if self.transport.is_closing():
            return
        client: Any = self.client
        log.warning(
            orjson.dumps(
                {"event": "header_timeout", "client": client[0] if client else None}
            ).decode()
        )
        self.transport.write(_timeout_answer())
        self.transport.close()
