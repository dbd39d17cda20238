"""`workbench status` figures from the runtime's own pages (the image's app in process):
requests per second, 5xx share and latency are the change between two readings, drift
pools every answering replica and gives no verdict below the minimum, and a replica
that does not answer is counted out of the healthy ones and says why."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from tests.unit.test_monitoring import client  # noqa: F401  (the runtime in process)
from workbench.steps.push import status
from workbench.steps.serve.drift import Thresholds


def pages(test_client: TestClient) -> dict[str, str]:
    return {p: test_client.get(p).text for p in ("/metrics", "/monitoring", "/metadata")}


def test_figures_from_two_readings_of_every_replica(client: TestClient) -> None:  # noqa: F811
    channel = status.Channel("sizes-production", "production", "2.1.0", "sha256:ab", 3, list)
    first = [status.from_pages(slot, "running", pages(client)) for slot in ("1", "2")]
    for size in range(30):
        assert client.post("/predict", json={"size": size % 10, "colour": "r"}).status_code == 200
    time.sleep(0.01)
    second = [status.from_pages(slot, "running", pages(client)) for slot in ("1", "2")]
    gone = status.Reading("3", "running", time.time(), error="ConnectionRefusedError: refused")
    figures = status.figures(channel, first, [*second, gone], Thresholds(min_observations=40))

    assert figures.desired == 3 and figures.healthy == 2
    one, _, three = figures.replicas
    assert one.version == "2.1.0" and one.answering and one.said == "answering"
    # one process serves both "replicas": each saw the same 30 new predictions
    assert second[0].requests - first[0].requests == 30
    assert one.rps is not None and one.rps > 0 and one.error_rate == 0.0
    assert one.p99_ms is not None and 0 < one.p99_ms <= 2500
    assert not three.answering and three.said == "ConnectionRefusedError: refused"
    assert three.rps is None
    drift = {d.what: d for d in figures.drift}
    # pooled: both readings count, so 2 x (every record answered so far) per field
    assert drift["size"].n == 2 * sum(second[0].bins["size"].values())
    assert drift["size"].n >= 60  # the 30 records of this test, in both replicas
    assert drift["colour"].verdict != "too few"


def test_no_drift_verdict_below_the_minimum(client: TestClient) -> None:  # noqa: F811
    channel = status.Channel("s", "c", "", "", 1, list)
    reading = status.from_pages("1", "running", pages(client))
    total = int(sum(reading.bins.get("colour", {}).values()))
    figures = status.figures(channel, [], [reading], Thresholds(min_observations=total + 1))
    colour = {d.what: d for d in figures.drift}.get("colour")
    if colour is not None:
        assert colour.verdict == "too few"
        assert colour.said == f"not enough traffic yet: {total} of {total + 1}"
    assert figures.rps is None  # one reading: no rate yet


@pytest.mark.parametrize(
    ("buckets", "q", "expected"),
    [
        ({0.1: 0.0, 0.5: 100.0, float("inf"): 100.0}, 0.99, 0.1 + 0.4 * 0.99),
        ({0.1: 50.0, 0.5: 100.0, float("inf"): 100.0}, 0.5, 0.1),
        ({0.1: 0.0, 2.5: 0.0, float("inf"): 10.0}, 0.99, 2.5),  # past the last bucket
        ({0.1: 0.0, float("inf"): 0.0}, 0.99, None),
    ],
)
def test_quantile_is_prometheus_histogram_quantile(
    buckets: dict[float, float], q: float, expected: float | None
) -> None:
    assert status.quantile(q, buckets) == (pytest.approx(expected) if expected else None)


def test_a_replica_that_restarted_has_no_rate_until_read_again() -> None:
    old = status.Reading("1", "running", 0.0, requests=500.0)
    new = status.Reading("1", "running", 2.0, requests=20.0)  # counters started again
    channel = status.Channel("s", "c", "", "", 1, list)
    figures = status.figures(channel, [old], [new], Thresholds())
    assert figures.replicas[0].rps is None and figures.rps is None


def test_sparkline_draws_the_history_with_gaps() -> None:
    assert status.sparkline([0.0, 5.0, 10.0, None]) == "▁▅█ "


def test_status_json_exits_1_when_a_replica_does_not_answer() -> None:
    """A listed replica where nothing listens: healthy 0 of 1, said, and exit 1 for CI."""
    import json

    from typer.testing import CliRunner

    from commands.main import app
    from workbench.kernel.http import free_port

    down = f"http://127.0.0.1:{free_port()}"
    done = CliRunner().invoke(app, ["status", down, "--json", "--interval", "0.5"])
    assert done.exit_code == 1, done.output
    (channel,) = json.loads(done.output)["channels"]
    assert (channel["healthy"], channel["desired"]) == (0, 1)
    (replica,) = channel["replicas"]
    assert replica["replica"] == down and not replica["answering"]
    assert "ConnectionError" in replica["said"]
