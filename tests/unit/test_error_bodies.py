"""serve.invalid-rejected reads every 422 body: what counts as the contract's error body."""

from __future__ import annotations

import json

import pytest

from workbench.kernel.http import Response
from workbench.steps.serve.probes import error_body_problem


def _answer(body: bytes) -> Response:
    return Response(422, {}, body)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>bad</html>", "its body is not JSON"),
        (json.dumps({"error": "bad"}).encode(), "its body lists no errors"),
        (json.dumps({"errors": []}).encode(), "its body lists no errors"),
        (json.dumps({"errors": [{"path": "$.x"}]}).encode(), "an error is not {path, message}"),
        (json.dumps({"errors": ["x is wrong"]}).encode(), "an error is not {path, message}"),
    ],
)
def test_a_422_body_without_path_and_message_is_a_problem(body: bytes, problem: str) -> None:
    found = error_body_problem(_answer(body))
    assert found is not None and found.startswith(problem)


def test_the_runtimes_422_body_is_the_contract() -> None:
    body = {
        "error": "the request does not match the schema",
        "errors": [{"path": "$.x", "message": "is required"}],
    }
    assert error_body_problem(_answer(json.dumps(body).encode())) is None
