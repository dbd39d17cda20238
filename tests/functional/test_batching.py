"""Micro-batching on the real image (issue 27): a model with a fixed cost per call is timed at
load and batched; 1,000 mixed requests from 16 clients get the same answers with batching on
as with it off (valid, invalid and poisoned records alike); a poisoned record in a coalesced
call fails only its own request; a full queue answers 503 with Retry-After."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.doubler import make_project
from tests.helpers import remove_image
from workbench.kernel.docker import docker_client
from workbench.kernel.http import free_port, request
from workbench.project.manifest import load_manifest
from workbench.steps.serve import run, session
from workbench.steps.serve.performance import batching_in_force

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# A fixed cost per call, as a pipeline's: 8 ms for one record or for thirty.
BATCHED = """\
import time


class Model:
    def load(self, artifacts_dir):
        pass

    def predict(self, record):
        return self.predict_batch([record])[0]

    def predict_batch(self, records):
        xs = [r["x"] for r in records]
        time.sleep(3.0 if 9.5 in xs else 0.008)  # 9.5: a slow call (the queue fills)
        if 7.5 in xs:
            raise ValueError("cannot answer x = 7.5")
        return [{"y": 2.0 * x, "batch": len(records)} for x in xs]
"""
RESPONSE = """\
type: object
additionalProperties: false
required: [y, batch]
properties:
  y: {type: number, minimum: 0, description: twice the input}
  batch: {type: integer, minimum: 1, description: how many records the call answered}
"""


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Iterator[str]:
    project = make_project(
        tmp_path_factory.mktemp("batching") / "doubler", faulty=False, predictor=BATCHED
    )
    (project / "schema" / "response.yaml").write_text(RESPONSE)
    _, built = session.build(load_manifest(project), lambda _: None, threading.Event())
    yield built.image_id
    remove_image(docker_client(), built.image_id, force=True)


def _serve(image: str, mode: str) -> Iterator[str]:
    port = free_port()
    container = docker_client().containers.run(
        image,
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", port)},
        labels={run.RUN_LABEL: "1", run.PROJECT_LABEL: "batching-test"},
        environment={"WORKBENCH_BATCHING": mode, "WORKBENCH_WORKERS": "1"},
        tmpfs={"/tmp": ""},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        run.wait_ready(container, url, timeout=60)
        yield url
    finally:
        run.remove(container)


def _post(url: str, body: bytes) -> tuple[int, dict[str, Any], str]:
    kind = {"Content-Type": "application/json"}
    answer = request("POST", f"{url}/predict", body=body, headers=kind, timeout=30)
    if answer.status == 503:  # told when to come back
        assert answer.header("retry-after") == "1", answer.headers
    return answer.status, answer.json(), answer.header("x-request-id") or ""


def _mixed(count: int) -> list[bytes]:
    """Valid records, records the schema refuses, and poisoned ones the model fails on."""
    rng = random.Random(27)
    bodies = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.05:
            bodies.append(b'{"x": 7.5}')  # the model raises
        elif kind < 0.10:
            bodies.append(b'{"x": -1}')  # below the minimum: 422
        elif kind < 0.13:
            bodies.append(b'{"z": 1}')  # unknown field, x missing: 422
        else:
            bodies.append(json.dumps({"x": round(rng.uniform(0, 7), 2)}).encode())
    return bodies


def _comparable(status: int, body: dict[str, Any], request_id: str) -> tuple[int, str]:
    """The answer without what differs by design: the request id (checked to be the
    request's own) and the size of the call that answered it."""
    if "request_id" in body:
        assert body.pop("request_id") == request_id
    body.pop("batch", None)
    return status, json.dumps(body, sort_keys=True)


def test_answers_are_the_same_with_batching_on_and_off_and_a_poisoned_record_fails_alone(
    image: str,
) -> None:
    bodies = _mixed(1000)
    seen: dict[str, list[tuple[int, str]]] = {}
    sizes: dict[str, list[int]] = {}
    counted: dict[str, list[str]] = {}
    for mode in ("on", "off"):
        for url in _serve(image, mode):
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(lambda body: _post(url, body), bodies))  # noqa: B023
            metrics = request("GET", f"{url}/metrics", timeout=10).body.decode()
            counted[mode] = sorted(
                line
                for line in metrics.splitlines()
                if line.startswith("workbench_") and "_bin_total{" in line
            )
            metadata = request("GET", f"{url}/metadata", timeout=10).json()
            assert metadata["batching"]["enabled"] is (mode == "on"), metadata["batching"]
            sizes[mode] = [body.get("batch", 0) for status, body, _ in answers if status == 200]
            seen[mode] = [_comparable(*answer) for answer in answers]
    assert seen["on"] == seen["off"]
    # The monitor counted every answered record into the same drift bins both ways.
    assert counted["on"] == counted["off"] and counted["on"], counted
    statuses = {status for status, _ in seen["on"]}
    assert statuses == {200, 422, 500}, statuses
    poisoned = [i for i, body in enumerate(bodies) if body == b'{"x": 7.5}']
    assert all(seen["on"][i][0] == 500 for i in poisoned)
    assert max(sizes["on"]) > 1, "16 clients never shared a model call"
    assert set(sizes["off"]) == {1}


def test_auto_batches_a_model_with_a_fixed_cost_per_call(image: str) -> None:
    for url in _serve(image, "auto"):
        decision = request("GET", f"{url}/metadata", timeout=10).json()["batching"]
        assert decision["enabled"] is True, decision
        assert decision["per_record_in_batch_ms"] < decision["single_ms"] / 2, decision
        assert decision["why"] == "a record costs less in a batch"
        # What the serve test's performance item reads back and records.
        said = batching_in_force(url)
        assert said.startswith("on (a record costs less in a batch; ") and "ms alone" in said
    for url in _serve(image, "off"):
        assert batching_in_force(url) == "off (switched off)"


def test_a_full_queue_answers_503_with_retry_after(image: str) -> None:
    """While the model thread is held by a slow call (3 s), 300 requests arrive: 256 wait,
    the rest are told to come back (never queued without bound); every one that waited is
    answered once the model is free."""
    for url in _serve(image, "on"):
        with ThreadPoolExecutor(301) as pool:
            slow = pool.submit(_post, url, b'{"x": 9.5}')
            time.sleep(0.3)  # the slow record is in the model's hands
            answers = list(pool.map(lambda _: _post(url, b'{"x": 1}'), range(300)))  # noqa: B023
            assert slow.result()[0] == 200
    refused = [a for a in answers if a[0] == 503]
    assert refused, "the queue never filled"
    assert all(a[0] in (200, 503) for a in answers), {a[0] for a in answers}
    for _, body, request_id in refused:
        assert body["request_id"] == request_id and "capacity" in body["error"]
    assert len(answers) - len(refused) >= 256
