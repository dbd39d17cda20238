"""The serving runtime in-process, with a tiny predictor (as cog tests its server)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from workbench.runtime import app as runtime
from workbench.runtime.openapi import openapi_document

PREDICTOR = """\
class Doubler:
    def load(self, artifacts_dir):
        pass

    def predict(self, record):
        if record["x"] > 9:
            raise ValueError("cannot handle large x")
        return {"y": 2.0 * record["x"]}
"""


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "predict.py").write_text(PREDICTOR)
    (tmp_path / "schema").mkdir()
    request = {
        "type": "object",
        "additionalProperties": False,
        "required": ["x"],
        "properties": {"x": {"type": "number"}, "tags": {"type": "array"}},
    }
    response = {"type": "object", "required": ["y"], "properties": {"y": {"type": "number"}}}
    (tmp_path / "schema" / "request.json").write_text(json.dumps(request))
    (tmp_path / "schema" / "response.json").write_text(json.dumps(response))
    (tmp_path / "serving.json").write_text(
        json.dumps(
            {
                "name": "doubler",
                "version": "1.0.0",
                "flavor": "python",
                "predictor": "predict:Doubler",
            }
        )
    )
    with TestClient(runtime.create_app(tmp_path), raise_server_exceptions=False) as test_client:
        for _ in range(100):
            if test_client.get("/health/ready").status_code == 200:
                break
            time.sleep(0.02)
        yield test_client


def test_answers_and_validates(client: TestClient) -> None:
    assert client.post("/predict", json={"x": 2}).json() == {"y": 4.0}
    bad = client.post("/predict", json={"x": "two"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"path": "$.x", "message": "must be of type number"}]
    assert "two" not in bad.text  # never echoes the payload


def test_unknown_paths_never_grow_the_metrics(client: TestClient) -> None:
    for index in range(2000):
        assert client.get(f"/no/such/path/{index}").status_code == 404
    text = client.get("/metrics").text
    routes = set(re.findall(r'route="([^"]*)"', text))
    assert "(unmatched)" in routes
    assert not any(r.startswith("/no/such") for r in routes)
    assert len(routes) <= 12  # the route templates, whatever was asked


def test_every_error_is_json_with_the_request_id(client: TestClient) -> None:
    for answer, status in (
        (client.get("/nowhere"), 404),
        (client.get("/predict"), 405),
        (client.post("/predict", json={"x": 10}), 500),  # the model raises: logged, 500
        (client.post("/predict", content=b"x=1", headers={"Content-Type": "text/plain"}), 415),
        (
            client.post(
                "/predict", content=b'{"x": 1,', headers={"Content-Type": "application/json"}
            ),
            400,
        ),
        (
            client.post(
                "/predict", content=b'{"x": NaN}', headers={"Content-Type": "application/json"}
            ),
            400,
        ),
        (client.post("/predict/batch", json=[]), 422),
    ):
        assert answer.status_code == status, (status, answer.text)
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["error"]
        if status in (404, 405, 500):
            assert body["request_id"] == answer.headers["x-request-id"]
    assert client.post("/predict", json={"x": 3}).json() == {"y": 6.0}  # still up


def test_deep_nesting_is_a_4xx_not_a_crash(client: TestClient) -> None:
    nested: object = 1
    for _ in range(500):
        nested = [nested]
    answer = client.post("/predict", json={"x": 1, "tags": nested})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"path": "$", "message": "nested deeper than 32 levels"}]


def test_the_batch_contract_needs_at_least_one_record() -> None:
    document = openapi_document(
        {"name": "m", "version": "1"}, {"type": "object"}, {"type": "object"}
    )
    batch = document["paths"]["/predict/batch"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert batch["minItems"] == 1
