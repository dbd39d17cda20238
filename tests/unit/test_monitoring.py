"""Monitoring in the image (issue #17): the runtime bins values exactly as the build's
reference does, /metrics stays bounded under any input, prediction logs carry inputs and
outputs without `x-log: false` fields, and the PSI says drifted only when it is."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from workbench.runtime import app as runtime
from workbench.runtime.monitoring import bin_of as runtime_bin
from workbench.steps.serve import drift

PREDICTOR = """\
class Model:
    def load(self, artifacts_dir):
        pass

    def predict(self, record):
        return {"prediction": "big" if record["size"] > 5 else "small", "secret_score": 1.0}
"""


def test_the_runtime_bins_values_as_the_build_does() -> None:
    assert drift.bin_of is runtime_bin  # one rule, in workbench.runtime.rules
    rng = random.Random(0)
    numbers = [rng.uniform(0, 10) for _ in range(200)] + [None, 3, 7]
    words = [rng.choice("abcdefghijklmno") for _ in range(200)] + [None, True, 12]
    for values in (numbers, words):
        spec = drift.bins_for(values)
        probes = [*values, -1e9, 1e9, "zzz", 5.0, False, "3.5"]
        assert [runtime_bin(spec, v) for v in probes] == [drift.bin_of(spec, v) for v in probes]
        assert sum(spec["reference"].values()) == pytest.approx(1.0)


def test_psi_flags_a_shifted_distribution_and_not_the_same_one() -> None:
    rng = random.Random(1)
    spec = drift.bins_for([rng.gauss(0, 1) for _ in range(2000)])
    same = [drift.bin_of(spec, rng.gauss(0, 1)) for _ in range(2000)]
    moved = [drift.bin_of(spec, rng.gauss(1.5, 1)) for _ in range(2000)]
    names = list(spec["reference"])
    assert drift.psi(spec["reference"], drift.shares(same, names)) < drift.MODERATE
    assert drift.psi(spec["reference"], drift.shares(moved, names)) > drift.DRIFTED


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "sizes.py").write_text(PREDICTOR)
    (tmp_path / "schema").mkdir()
    request = {
        "type": "object",
        "properties": {
            "size": {"type": "number"},
            "colour": {"type": "string"},
            "email": {"type": "string", "x-log": False},
        },
    }
    response = {
        "type": "object",
        "properties": {
            "prediction": {"type": "string"},
            "secret_score": {"type": "number", "x-log": False},
        },
    }
    (tmp_path / "schema" / "request.json").write_text(json.dumps(request))
    (tmp_path / "schema" / "response.json").write_text(json.dumps(response))
    rows = [{"size": s, "colour": c} for s, c in zip(range(10), "rrggbbrrgg", strict=True)]
    reference = {
        "source": "held-out",
        "n": 10,
        "features": {
            "size": drift.bins_for([r["size"] for r in rows]),
            "colour": drift.bins_for([r["colour"] for r in rows]),
        },
        "prediction": {**drift.bins_for(["small"] * 6 + ["big"] * 4), "field": "prediction"},
    }
    config = {
        "name": "sizes",
        "version": "2.1.0",
        "flavor": "python",
        "predictor": "sizes:Model",
        "monitoring": {"log_predictions": True, "sample": 1.0, "reference": reference},
    }
    (tmp_path / "serving.json").write_text(json.dumps(config))
    with TestClient(runtime.create_app(tmp_path)) as test_client:
        for _ in range(100):
            if test_client.get("/health/ready").status_code == 200:
                break
            time.sleep(0.02)
        yield test_client


def test_predictions_are_logged_without_the_fields_marked_x_log_false(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.post("/predict", json={"size": 7, "colour": "r", "email": "ana@example.com"})
    client.post("/predict/batch", json=[{"size": 1, "colour": "g"}, {"size": 9, "colour": "b"}])
    lines = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"event":"prediction"' in line
    ]
    assert [line["inputs"] for line in lines] == [
        {"size": 7, "colour": "r"},
        {"size": 1, "colour": "g"},
        {"size": 9, "colour": "b"},
    ]
    assert [line["outputs"] for line in lines] == [
        {"prediction": "big"},
        {"prediction": "small"},
        {"prediction": "big"},
    ]
    assert {line["model_version"] for line in lines} == {"2.1.0"}
    assert len({line["request_id"] for line in lines}) == 2  # the batch shares one id
    assert "ana@example.com" not in json.dumps(lines)


def test_the_images_own_log_lines_read_back_for_a_replay(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """`workbench replay` reads what the image writes: each logged prediction, and the
    latency of a single request from its access line (a batch's is not one record's)."""
    from workbench.steps.push.replay import parse

    capsys.readouterr()
    single = client.post("/predict", json={"size": 7, "colour": "r", "email": "a@b.c"})
    client.post("/predict/batch", json=[{"size": 1, "colour": "g"}, {"size": 9, "colour": "b"}])
    found = parse(capsys.readouterr().out.splitlines())
    assert [(f.inputs, f.outputs, f.version) for f in found] == [
        ({"size": 7, "colour": "r"}, {"prediction": "big"}, "2.1.0"),
        ({"size": 1, "colour": "g"}, {"prediction": "small"}, "2.1.0"),
        ({"size": 9, "colour": "b"}, {"prediction": "big"}, "2.1.0"),
    ]
    assert found[0].request_id == single.headers["x-request-id"]
    assert found[0].latency_ms is not None and found[0].latency_ms >= 0
    assert [f.latency_ms for f in found[1:]] == [None, None]


def test_the_drift_metrics_stay_bounded_whatever_is_sent(client: TestClient) -> None:
    before = drift.parse_counts(client.get("/metrics").text)  # one registry per process
    rng = random.Random(2)
    for _ in range(50):
        batch = [
            {"size": rng.uniform(-1e6, 1e6), "colour": f"hostile-{rng.random()}"} for _ in range(20)
        ]
        assert client.post("/predict/batch", json=batch).status_code == 200
    after = drift.parse_counts(client.get("/metrics").text)
    counts = {
        what: {b: n - before.get(what, {}).get(b, 0.0) for b, n in bins.items()}
        for what, bins in after.items()
    }
    described = client.get("/monitoring").json()
    size_bins = set(described["reference"]["features"]["size"]["reference"])
    colour_bins = set(described["reference"]["features"]["colour"]["reference"])
    assert set(counts["size"]) <= size_bins and set(counts["colour"]) <= colour_bins
    assert counts["colour"]["(other)"] == 1000  # every unknown colour in one bin
    assert sum(counts["size"].values()) == 1000
    drifted = {d.what: d.verdict for d in drift.compare(described["reference"], counts)}
    assert drifted["colour"] == "drifted" and drifted["size"] == "drifted"
    assert described["hidden_fields"] == ["email", "secret_score"]


def test_a_batch_counted_with_numpy_lands_in_the_same_bins_as_value_by_value() -> None:
    from workbench.runtime.monitoring import Monitor

    rng = random.Random(3)
    spec = drift.bins_for([rng.uniform(0, 10) for _ in range(100)])
    monitor = Monitor({}, {}, {})
    column = [rng.uniform(-5, 15) for _ in range(200)] + [None, 5, True, "7.5", 2.0] * 4
    fast: dict[str, int] = {}
    monitor._add(column, spec, lambda label, n: fast.__setitem__(label, fast.get(label, 0) + n))
    slow: dict[str, int] = {}
    for value in column:
        label = drift.bin_of(spec, value)
        slow[label] = slow.get(label, 0) + 1
    assert fast == slow


def test_no_verdict_below_the_minimum_and_the_thresholds_are_the_users() -> None:
    """Two requests are not a distribution: no verdict, saying how much traffic there is;
    with enough, the usual thresholds (0.1 watch, 0.25 drifted), or the ones given."""
    reference = {"features": {"x": {"reference": {"a": 0.5, "b": 0.5}}}}
    few = drift.compare(reference, {"x": {"a": 2.0}})
    assert [(d.verdict, d.said) for d in few] == [("too few", "not enough traffic yet: 2 of 100")]
    many = drift.compare(reference, {"x": {"a": 70.0, "b": 30.0}})  # PSI about 0.17
    assert [d.verdict for d in many] == ["watch"]
    strict = drift.Thresholds(min_observations=50, watch=0.05, drifted=0.15)
    assert [d.verdict for d in drift.compare(reference, {"x": {"a": 70.0, "b": 30.0}}, strict)] == [
        "drifted"
    ]
    lenient = drift.Thresholds(min_observations=200)
    assert [d.said for d in drift.compare(reference, {"x": {"a": 70.0, "b": 30.0}}, lenient)] == [
        "not enough traffic yet: 100 of 200"
    ]


def test_the_window_the_counts_cover_is_said() -> None:
    import time

    since = time.time() - 600
    said = drift.window({"counting_since": since})
    assert said.startswith("every record answered since ") and "(10 min)" in said
    assert drift.window({}) == "every record answered since the image started"
