"""`serve.quality` sends held-out records to the image: when the image answers an error,
the evidence says whose it is. A 5xx is the model failing on records the contract accepts;
it used to be blamed on the held-out data ("make the held-out data follow the request
schema") while the model had raised (a new user's trial)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.steps.serve.quality import ask_container


@pytest.fixture
def image() -> Iterator[tuple[str, dict[str, int]]]:
    answer = {"status": 500}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"error": "ValueError: Found unknown categories [\'purple\']"}'
            if answer["status"] == 422:
                body = b'{"detail": [{"loc": "colour", "msg": "not one of the enum"}]}'
            self.send_response(answer["status"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answer
    server.shutdown()
    server.server_close()


def test_a_server_error_is_the_models_and_a_refusal_is_the_datas(
    image: tuple[str, dict[str, int]],
) -> None:
    url, answer = image
    with pytest.raises(WorkbenchError) as failed:
        ask_container(url, [{"colour": "purple"}])
    said = failed.value.paragraph
    assert "the model failed on held-out records 0-0 (500:" in said and "purple" in said, said
    assert "held-out data follow" not in said, said

    answer["status"] = 422
    with pytest.raises(WorkbenchError) as refused:
        ask_container(url, [{"colour": "purple"}])
    said = refused.value.paragraph
    assert "the image refused held-out records 0-0 (422:" in said, said
    assert "held-out data follow the request schema" in said, said
