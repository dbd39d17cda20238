"""The performance probe's requests: each on a new connection, each status as the server
gave it, a connection closed without an answer counted as no answer (status 0)."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator

import pytest

from tests.helpers import loopback_server
from workbench.steps.serve.performance import UNANSWERED_LIMIT, _timed_requests

paths: list[str] = []  # the request targets the server was sent


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[int, dict[str, object]]]]]:
    """Answers 200 to {"x": 1}, 500 to {"x": 2}, and hangs up without an answer on
    {"x": 3}; notes each request's client port and body."""
    seen: list[tuple[int, dict[str, object]]] = []
    paths.clear()

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.client_address[1], body))
            paths.append(self.path)
            if body == {"x": 3}:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.send_response(200 if body == {"x": 1} else 500)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: object) -> None:
            return

    with loopback_server(Answer) as url:
        yield f"{url}/predict", seen


def test_each_status_is_counted_as_given_on_a_connection_of_its_own(
    server: tuple[str, list[tuple[int, dict[str, object]]]],
) -> None:
    url, seen = server
    timed = _timed_requests(url, [{"x": 1}, {"x": 2}], 6)
    assert [t.status for t in timed] == [200, 500, 200, 500, 200, 500]
    assert [body for _, body in seen] == [{"x": 1}, {"x": 2}] * 3  # the records in turn
    assert len({port for port, _ in seen}) == 6  # a new connection each time
    assert all(t.ms > 0 for t in timed)


def test_a_hang_up_is_no_answer_and_ends_the_run_after_the_limit(
    server: tuple[str, list[tuple[int, dict[str, object]]]],
) -> None:
    url, _ = server
    timed = _timed_requests(url, [{"x": 3}], 50)
    assert [t.status for t in timed] == [0] * UNANSWERED_LIMIT


def test_the_query_string_is_sent_with_the_path(
    server: tuple[str, list[tuple[int, dict[str, object]]]],
) -> None:
    url, _ = server
    assert [t.status for t in _timed_requests(f"{url}?model=a", [{"x": 1}], 1)] == [200]
    assert paths == ["/predict?model=a"]
