"""`workbench status`: how each deployed channel (or a list of URLs) is doing now, read from
every replica itself: /metrics (requests, 5xx, latency histogram, drift counts),
/monitoring (the drift reference) and /metadata (the version it serves).

A swarm channel's replicas are its service's tasks: their addresses live on the overlay
network, so each is asked from inside its own container (`docker exec` of the image's
Python, on this engine); a task that does not answer within the timeout is shown as not
answering, with what it said. Rates (requests per second, the 5xx share, p50/p99) are the
change between two readings; drift pools the counts of every answering replica since
each started, judged as `workbench monitor` judges (no verdict below the minimum)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.kernel.http import request
from workbench.project.manifest import Manifest
from workbench.steps.serve.drift import Drift, Thresholds, compare, parse_counts

TIMEOUT = 5
ROUTES = (  # the runtime's prediction routes, as its route label names them
    "/predict",
    "/predict/batch",
    "/v2/models/{name}/infer",
    "/v2/models/{name}/versions/{version}/infer",
)
SPARKS = "▁▂▃▄▅▆▇█"
ASK = """
import json, sys, urllib.request
out = {}
for path in ("/metrics", "/monitoring", "/metadata"):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s" % sys.argv[1] + path, timeout=3) as a:
            out[path] = a.read().decode()
    except Exception as exc:
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
        break
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Reading:
    """One replica at one moment."""

    replica: str  # a task slot, or a URL
    state: str  # the swarm task's state, or "listed" for a URL
    at: float
    error: str = ""  # why it did not answer
    version: str | None = None
    requests: float = 0.0  # prediction requests served since the replica started
    failed: float = 0.0  # of which 5xx
    buckets: dict[float, float] = field(default_factory=dict)  # /predict latency, cumulative
    bins: dict[str, dict[str, float]] = field(default_factory=dict)
    reference: dict[str, Any] | None = None

    @property
    def answered(self) -> bool:
        return not self.error


def from_pages(replica: str, state: str, pages: dict[str, str]) -> Reading:
    from prometheus_client.parser import text_string_to_metric_families

    now = time.time()
    if pages.get("error"):
        return Reading(replica, state, now, error=pages["error"])
    requests = failed = 0.0
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(pages["/metrics"]):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "workbench_requests_total" and labels.get("route") in ROUTES:
                requests += sample.value
                failed += sample.value if labels.get("status", "").startswith("5") else 0
            elif sample.name == "workbench_request_seconds_bucket" and (
                labels.get("route") == "/predict"
            ):
                le = float(labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
    monitoring = json.loads(pages.get("/monitoring") or "{}")
    metadata = json.loads(pages.get("/metadata") or "{}")
    return Reading(
        replica,
        state,
        now,
        version=metadata.get("version"),
        requests=requests,
        failed=failed,
        buckets=buckets,
        bins=parse_counts(pages["/metrics"]),
        reference=monitoring.get("reference"),
    )


def read_url(url: str) -> Reading:
    base, pages = url.rstrip("/"), {}
    for path in ("/metrics", "/monitoring", "/metadata"):
        try:
            answer = request("GET", base + path, timeout=TIMEOUT)
        except OSError as exc:
            pages["error"] = f"{type(exc).__name__}: {exc}"[:200]
            break
        if answer.status != 200:
            pages["error"] = f"{path} answered {answer.status}"
            break
        pages[path] = answer.body.decode()
    return from_pages(url, "listed", pages)


def read_task(container: Any, slot: str, state: str, port: int) -> Reading:
    """Ask a task from inside its container (its address is on the overlay network)."""
    try:
        _, output = container.exec_run(["python3", "-c", ASK, str(port)], demux=False)
        pages = json.loads(output.decode().strip().splitlines()[-1])
    except Exception as exc:  # a container gone, paused or hung: said, never raised
        pages = {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return from_pages(slot, state, pages)


@dataclass(frozen=True)
class Channel:
    """What a channel is supposed to be, and how to read its replicas now."""

    name: str  # the service, or "urls"
    channel: str
    version: str
    digest: str
    desired: int
    read: Callable[[], list[Reading]]


def swarm_channels(manifest: Manifest, only: list[str] | None = None) -> list[Channel]:
    """Every channel deployed to the swarm (releases/deployments.yaml), or `only` these."""
    from workbench.project.releases import load_channels, load_deployments
    from workbench.steps.push import swarm

    deployed = sorted({d.channel for d in load_deployments(manifest) if d.target == "swarm"})
    if not deployed:
        return []
    client = swarm.swarm_client()
    found = []
    for channel in [c for c in deployed if not only or c in only]:
        name = swarm.service_name(manifest, channel)
        service = swarm.find_service(client, name)
        entry = load_channels(manifest).get(channel)
        runs = swarm.running_image(service) if service is not None else "(the service is gone)"
        labels = (service.attrs["Spec"].get("Labels") or {}) if service is not None else {}
        found.append(
            Channel(
                name,
                channel,
                labels.get("io.workbench.version", entry.current if entry else "?") or "?",
                runs.split("@", 1)[-1],
                swarm._replicas(service) if service is not None else 0,
                _reader(client, name, manifest.serve.port),
            )
        )
    return found


def _reader(client: Any, name: str, port: int) -> Callable[[], list[Reading]]:
    return lambda: _tasks(client, name, port)


def _tasks(client: Any, name: str, port: int) -> list[Reading]:
    from workbench.steps.push import swarm

    service = swarm.find_service(client, name)
    if service is None:
        return []
    readings = []
    for task in sorted(
        service.tasks(filters={"desired-state": "running"}), key=lambda t: t.get("Slot", 0)
    ):
        slot, state = str(task.get("Slot", "?")), task["Status"]["State"]
        container_id = (task["Status"].get("ContainerStatus") or {}).get("ContainerID")
        if state != "running" or not container_id:
            readings.append(Reading(slot, state, time.time(), error=f"the task is {state}"))
            continue
        try:
            container = client.containers.get(container_id)
        except Exception:  # on another node, or just gone
            readings.append(Reading(slot, state, time.time(), error="not on this engine"))
            continue
        readings.append(read_task(container, slot, state, port))
    return readings


def url_channel(urls: list[str]) -> Channel:
    return Channel("urls", "urls", "", "", len(urls), lambda: [read_url(u) for u in urls])


@dataclass(frozen=True)
class ReplicaFigures:
    replica: str
    state: str
    answering: bool
    said: str
    version: str | None
    rps: float | None
    error_rate: float | None
    p50_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class ChannelFigures:
    name: str
    channel: str
    version: str
    digest: str
    desired: int
    healthy: int  # running and answering
    rps: float | None
    error_rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    replicas: list[ReplicaFigures]
    drift: list[Drift]


def quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Prometheus's histogram_quantile on cumulative buckets (upper bound -> count)."""
    bounds = sorted(buckets)
    total = buckets.get(float("inf"), 0.0)
    if not bounds or total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower  # past the last bucket: its bound is all that can be said
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return lower


def _rates(
    old: Reading | None, new: Reading
) -> tuple[float | None, float | None, float | None, float | None]:
    if old is None or not old.answered or not new.answered or new.requests < old.requests:
        return None, None, None, None  # no earlier reading, or the replica restarted
    seconds = max(new.at - old.at, 1e-3)
    served = new.requests - old.requests
    delta = {b: new.buckets.get(b, 0.0) - old.buckets.get(b, 0.0) for b in new.buckets}
    p50, p99 = quantile(0.5, delta), quantile(0.99, delta)
    return (
        served / seconds,
        (new.failed - old.failed) / served if served else None,
        p50 * 1000 if p50 is not None else None,
        p99 * 1000 if p99 is not None else None,
    )


def figures(
    channel: Channel, before: list[Reading], after: list[Reading], thresholds: Thresholds
) -> ChannelFigures:
    earlier = {r.replica: r for r in before}
    replicas = []
    for reading in after:
        rps, errors, p50, p99 = _rates(earlier.get(reading.replica), reading)
        replicas.append(
            ReplicaFigures(
                reading.replica,
                reading.state,
                reading.answered,
                reading.error or "answering",
                reading.version,
                rps,
                errors,
                p50,
                p99,
            )
        )
    answering = [r for r in after if r.answered]
    pooled = _pool(earlier, answering)
    counts: dict[str, dict[str, float]] = {}
    for reading in answering:
        for what, bins in reading.bins.items():
            for name, value in bins.items():
                counts.setdefault(what, {})[name] = counts.get(what, {}).get(name, 0.0) + value
    reference = next((r.reference for r in answering if r.reference), None)
    return ChannelFigures(
        channel.name,
        channel.channel,
        channel.version,
        channel.digest,
        channel.desired,
        sum(1 for r in replicas if r.answering and r.state in ("running", "listed")),
        *pooled,
        replicas=replicas,
        drift=compare(reference, counts, thresholds) if reference else [],
    )


def _pool(
    earlier: dict[str, Reading], answering: list[Reading]
) -> tuple[float | None, float | None, float | None, float | None]:
    """The rates of every replica with an earlier reading, as one."""
    pairs = [(earlier[r.replica], r) for r in answering if r.replica in earlier]
    pairs = [(o, n) for o, n in pairs if o.answered and n.requests >= o.requests]
    if not pairs:
        return None, None, None, None
    old = Reading(
        "all",
        "",
        min(o.at for o, _ in pairs),
        requests=sum(o.requests for o, _ in pairs),
        failed=sum(o.failed for o, _ in pairs),
        buckets=_sum([o.buckets for o, _ in pairs]),
    )
    new = Reading(
        "all",
        "",
        max(n.at for _, n in pairs),
        requests=sum(n.requests for _, n in pairs),
        failed=sum(n.failed for _, n in pairs),
        buckets=_sum([n.buckets for _, n in pairs]),
    )
    return _rates(old, new)


def _sum(histograms: list[dict[float, float]]) -> dict[float, float]:
    out: dict[float, float] = {}
    for histogram in histograms:
        for bound, count in histogram.items():
            out[bound] = out.get(bound, 0.0) + count
    return out


def sparkline(values: list[float | None]) -> str:
    """A short history as block characters; a gap where nothing was measured."""
    present = [v for v in values if v is not None]
    top = max(present, default=0.0) or 1.0
    return "".join(" " if v is None else SPARKS[min(7, int(7 * v / top + 0.5))] for v in values)
