"""`serve.quality` sends held-out records to the image: when the image answers an error,
the evidence says whose it is. A 5xx is the model failing on records the contract accepts;
it used to be blamed on the held-out data ("make the held-out data follow the request
schema") while the model had raised (a new user's trial)."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tests.helpers import loopback_server
from workbench.kernel.errors import WorkbenchError
from workbench.steps.serve.batches import ask_container, batches


@pytest.fixture
def image() -> Iterator[tuple[str, dict[str, int]]]:
    answer = {"status": 500}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"error": "ValueError: Found unknown categories [\'purple\']"}'
            if answer["status"] == 422:
                body = b'{"detail": [{"loc": "colour", "msg": "not one of the enum"}]}'
            if answer["status"] == 501:  # the runtime's 500 for an answer off the contract
                answer["status"] = 500
                body = b'{"error": "the model\'s answer broke the response schema"}'
            self.send_response(answer["status"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with loopback_server(Handler) as url:
        yield url, answer


def test_a_server_error_is_the_models_and_a_refusal_is_the_datas(
    image: tuple[str, dict[str, int]],
) -> None:
    url, answer = image
    with pytest.raises(WorkbenchError) as failed:
        ask_container(url, [{"colour": "purple"}], 1 << 20)
    said = failed.value.paragraph
    assert "the model failed on held-out records 0-0 (500:" in said and "purple" in said, said
    assert "held-out data follow" not in said, said

    answer["status"] = 422
    with pytest.raises(WorkbenchError) as refused:
        ask_container(url, [{"colour": "purple"}], 1 << 20)
    said = refused.value.paragraph
    assert "the image refused held-out records 0-0 (422:" in said, said
    assert "held-out data follow the request schema" in said, said


def test_an_answer_off_the_contract_is_the_models_answer_not_its_failure(
    image: tuple[str, dict[str, int]],
) -> None:
    url, answer = image
    answer["status"] = 501
    with pytest.raises(WorkbenchError) as broke:
        ask_container(url, [{"colour": "red"}], 1 << 20)
    said = broke.value.paragraph
    assert "the model's answers to held-out records 0-0 (500:" in said, said
    assert "broke the response schema" in said and "follow the response schema" in said, said


def test_batches_stay_under_the_images_body_limit() -> None:
    """256 records of 120 numbers are over a megabyte: the image answered 413 and the
    evidence blamed the held-out data (a reviewer's read). Batches are cut by size."""
    wide = [{f"feature_{i}": 0.123456789 * n for i in range(120)} for n in range(600)]
    limit = 1_048_576
    cut = list(batches(wide, limit))
    assert all(len(body) <= limit for _, _, body in cut)
    assert [r for _, chunk, _ in cut for r in chunk] == wide  # all, in order, once
    assert all(start == sum(len(c) for _, c, _ in cut[:n]) for n, (start, _, _) in enumerate(cut))
    assert len(list(batches(wide[:10], limit))) == 1  # small ones still go together
    assert [len(c) for _, c, _ in batches([{"x": 1}] * 600, limit)] == [256, 256, 88]
    huge = [{"text": "x" * 2000}]
    assert [len(body) > 1000 for _, _, body in batches(huge, 1000)] == [True]  # alone


def test_a_record_over_the_limit_alone_is_named_with_the_setting() -> None:
    class TooLarge(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(413)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    with loopback_server(TooLarge) as url, pytest.raises(WorkbenchError) as refused:
        ask_container(url, [{"t": "x" * 900}], 500)
    said = f"{refused.value.paragraph}"
    assert "record 0 alone is 911 bytes, over the 500 bytes serve.max_body_bytes" in said, said
