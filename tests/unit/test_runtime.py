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
        (client.post("/predict", json={"x": "two"}), 422),
        (client.post("/v2/models/doubler/infer", json={"inputs": [], "outputs": "y"}), 400),
        (
            client.post(
                "/predict", content=b"{" * 40, headers={"Content-Type": "application/json"}
            ),
            400,
        ),
    ):
        assert answer.status_code == status, (status, answer.text)
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["error"]
        # Every error, 4xx included, names its request id: the one in the header.
        assert body["request_id"] == answer.headers["x-request-id"], (status, body)
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


def infer(client: TestClient, *inputs: dict[str, object], **extra: object) -> object:
    return client.post("/v2/models/doubler/infer", json={"inputs": list(inputs), **extra})


def x(shape: list[int], data: object, datatype: str = "FP32") -> dict[str, object]:
    return {"name": "x", "shape": shape, "datatype": datatype, "data": data}


def test_open_inference_protocol_metadata_and_readiness(client: TestClient) -> None:
    assert client.get("/v2").json()["extensions"] == []
    assert client.get("/v2/health/ready").json() == {"ready": True}
    assert client.get("/v2/models/doubler/ready").json() == {"name": "doubler", "ready": True}
    assert client.get("/v2/models/doubler/versions/1.0.0/ready").status_code == 200
    assert client.get("/v2/models/doubler/versions/9.9.9").status_code == 404
    assert client.get("/v2/models/other").status_code == 404
    meta = client.get("/v2/models/doubler").json()
    assert meta["versions"] == ["1.0.0"]
    assert {"name": "x", "datatype": "FP64", "shape": [-1]} in meta["inputs"]
    assert meta["outputs"] == [{"name": "y", "datatype": "FP64", "shape": [-1]}]


def test_open_inference_protocol_infer_checks_shapes_and_datatypes(client: TestClient) -> None:
    ok = infer(client, x([3], [1, 2, 3]), id="r-1")
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["id"] == "r-1" and body["model_version"] == "1.0.0"
    assert body["outputs"] == [
        {"name": "y", "datatype": "FP64", "shape": [3], "data": [2.0, 4.0, 6.0]}
    ]
    assert infer(client, x([3, 1], [[1], [2], [3]])).json()["outputs"][0]["data"] == [2.0, 4.0, 6.0]
    empty = infer(client, x([0], []))
    assert empty.status_code == 200 and empty.json()["outputs"][0]["shape"] == [0]
    for bad, says in (
        (infer(client, x([3], [1, 2])), "shape [3] holds 3 values, `data` has 2"),
        (infer(client, x([2], ["a", "b"], "BYTES")), "datatype BYTES does not fit a number"),
        (
            infer(client, {"name": "z", "shape": [1], "datatype": "FP32", "data": [1]}),
            "unknown input `z`",
        ),
        (infer(client, x([2, 2], [1, 2, 3, 4])), "one value per record"),
        (infer(client, x([1], [1]), outputs=[{"name": "nope"}]), "unknown outputs: nope"),
    ):
        assert bad.status_code == 400, bad.text
        assert says in bad.json()["error"]
    binary = client.post(
        "/v2/models/doubler/infer",
        content=b"{}",
        headers={"Inference-Header-Content-Length": "2"},
    )
    assert binary.status_code == 400 and "binary tensor data extension" in binary.json()["error"]
    crash = infer(client, x([1], [10]))  # the model raises on x > 9: a 500 with the request id
    assert crash.status_code == 500 and crash.json()["request_id"] == crash.headers["x-request-id"]


@pytest.mark.parametrize("outputs", ["y", {"name": "y"}, 7, ["y"], [{"name": "y"}, 3]])
def test_open_inference_protocol_refuses_outputs_that_are_not_a_list_of_objects(
    client: TestClient, outputs: object
) -> None:
    body = {
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": [2.0]}],
        "outputs": outputs,
    }
    answer = client.post("/v2/models/doubler/infer", json=body)
    assert answer.status_code == 400, answer.text  # was a 500
    assert "`outputs` must be a list of objects" in answer.json()["error"]
    body["outputs"] = [{"name": "y"}]
    assert client.post("/v2/models/doubler/infer", json=body).json()["outputs"][0]["data"] == [4.0]


def test_headers_that_trickle_in_get_408_and_the_connection_closed(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import threading

    import uvicorn

    from workbench.kernel.http import free_port
    from workbench.runtime import protocol

    monkeypatch.setattr(protocol, "HEADER_TIMEOUT_SECONDS", 0.5)
    port = free_port()
    config = uvicorn.Config(
        runtime.create_app(tmp_path),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http=protocol.HeaderTimeoutProtocol,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")  # never ends the headers
            started = time.monotonic()
            answer = b""
            while chunk := slow.recv(4096):  # until the server closes it (bounded by timeout=5)
                answer += chunk
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"did not arrive within 0.5 s" in answer
        assert waited < 4
        # A connection that sends its headers in time is served as usual.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as quick:
            quick.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert quick.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_every_module_of_the_runtime_goes_into_the_image() -> None:
    from workbench.kernel.paths import runtime_dir
    from workbench.steps.serve.build import HOST_ONLY, SERVING_FILES

    modules = {p.name for p in runtime_dir().glob("*.py")} - set(HOST_ONLY)
    assert set(SERVING_FILES) == modules  # a new module left out crashes the image at start


def test_metadata_says_when_the_image_was_built(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/metadata").json()["created"] is None  # not an image: nothing to say
    monkeypatch.setenv("WORKBENCH_IMAGE_CREATED", "2026-12-05T06:00:00Z")
    assert client.get("/metadata").json()["created"] == "2026-12-05T06:00:00Z"
