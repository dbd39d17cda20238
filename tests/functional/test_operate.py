"""Operating a deployed channel (issue #30) on the real engine: one swarm deploy of two
replicas, the monitoring files deploy wrote (deploy/monitoring/production/) passing
promtool, and Debian's own Prometheus reading that very configuration: both replicas
scraped through the Docker Swarm task discovery (no routing mesh), then one replica
killed and `WorkbenchReplicasMissing` seen firing, and arriving in Debian's Alertmanager
(read through its v2 API), as the drift alert did before it.

Prometheus and Alertmanager run as Debian's binaries inside containers of the test's base
image on the service's attachable overlay network (the tasks' addresses live there; so
does Alertmanager, which Prometheus is configured to send to), their web ports published
on 127.0.0.1 only, the engine's socket mounted read-only for the discovery.
Only the timing of the written files is shortened for the test (scrape and evaluation
every second, alerts held 0 s instead of 1 min); the rules and the discovery are as
written. Everything the test starts carries its project's id label and is removed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.functional.test_deploy import a_swarm  # noqa: F401  (the swarm fixture)
from tests.helpers import git, pass_gates
from workbench.demo import parts as harness
from workbench.project.manifest import load_manifest
from workbench.project.releases import load_channels, load_deployments
from workbench.project.scaffold import copy_example
from workbench.steps.push import prometheus as prometheus_files
from workbench.steps.push import publish, swarm
from workbench.steps.serve.run import PROJECT_ID_LABEL
from workbench.steps.snapshot.take import run_snapshot
from workbench.steps.tag import release as tagging

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]


def released_and_deployed(
    root: Path,
    python: Path,
    registry: harness.Registry,
    name: str = "operate",
    settings: str = "",
    message: str = "the iris model",
) -> Any:
    """The iris example as `iris-NAME` (its own service name: another run's deploy test may
    run iris-classifier-production), with `settings` added to workbench.yaml, committed,
    released as 1.0.0, pushed to the registry under NAME/iris and promoted to production."""
    text = (root / "workbench.yaml").read_text()
    text = text.replace("python: .venv/bin/python", f"python: {python}", 1)
    text = text.replace("name: iris-classifier", f"name: iris-{name}", 1)
    text = text.replace("  memory_limit: 512m\n", "  memory_limit: 512m\n  ready_timeout: 60\n")
    text += settings + f"registry: {registry.host}/{name}/iris\n"
    (root / "workbench.yaml").write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Ana Tester")
    git(root, "config", "user.email", "ana@example.com")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", message)
    manifest = load_manifest(root)
    run_snapshot(manifest, lambda _: None)
    tagging.create_release(pass_gates(root))
    list(publish.push_release(manifest))
    publish.promote(manifest, "1.0.0", "production", "Ana")
    return manifest


def for_the_test(folder: Path, into: Path, alertmanager: str) -> None:
    """The written files with the test's timing (every second, alerts held 0 s), and the
    test's Alertmanager (`host:port`) to send alerts to."""
    into.mkdir()
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    for job in config["scrape_configs"]:
        for discovery in job["dockerswarm_sd_configs"]:
            discovery["refresh_interval"] = "1s"
    (into / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    rules = yaml.safe_load((folder / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    (into / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))


def query(port: int, promql: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as answer:
        document = json.loads(answer.read())
    assert document["status"] == "success", document
    return document["data"]["result"]  # type: ignore[no-any-return]


def wait_for(
    port: int, promql: str | Callable[[], str], enough: int, seconds: float
) -> list[dict[str, Any]]:
    """The query's result once it has `enough` series (`enough` 0: none at all); bounded,
    the last result else."""
    deadline, result = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        try:
            result = query(port, promql() if callable(promql) else promql)
        except OSError:  # Prometheus still starting
            result = []
        if (len(result) >= enough) if enough else not result:
            return result
        time.sleep(1)
    return result


TEMPLATES = "/usr/share/prometheus/alertmanager"  # its default.tmpl (prometheus-alertmanager)
ALERTMANAGER = {
    "route": {
        "receiver": "test",
        "group_by": ["alertname", "service"],
        "group_wait": "1s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    },
    "receivers": [{"name": "test"}],  # no notification goes anywhere: the API is read
}


def start_alertmanager(
    client: Any, base_image: str, binary: str, network: str, into: Path, labels: dict[str, str]
) -> tuple[Any, str, int]:
    """Debian's Alertmanager in a container of the base image on the service's network (where
    Prometheus reaches it), clustering off, its API published on 127.0.0.1 only: the
    container, its address on the network, and its port on loopback."""
    into.mkdir()
    (into / "alertmanager.yml").write_text(yaml.safe_dump(ALERTMANAGER, sort_keys=False))
    container = client.containers.run(
        base_image,
        [
            "/usr/bin/alertmanager",
            "--config.file=/etc/workbench/alertmanager.yml",
            "--storage.path=/tmp/alertmanager",
            "--web.listen-address=0.0.0.0:9093",
            "--cluster.listen-address=",
        ],
        network=network,
        volumes={
            binary: {"bind": "/usr/bin/alertmanager", "mode": "ro"},
            TEMPLATES: {"bind": TEMPLATES, "mode": "ro"},  # Debian's build reads it from there
            str(into): {"bind": "/etc/workbench", "mode": "ro"},
        },
        ports={"9093/tcp": ("127.0.0.1", None)},
        labels=labels,
        detach=True,
    )
    container.reload()
    address = container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"]
    return container, address, int(container.ports["9093/tcp"][0]["HostPort"])


def alerts_in(port: int, alertname: str, service: str) -> list[dict[str, Any]]:
    """The alerts Alertmanager holds as active (its v2 API) of that name and service."""
    query = urllib.parse.urlencode(
        [("filter", f'alertname="{alertname}"'), ("filter", f'service="{service}"')]
    )
    url = f"http://127.0.0.1:{port}/api/v2/alerts?{query}"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


class Watching(threading.Thread):
    """Reads Alertmanager's alerts of one name every 0.2 s until stopped (bounded): an alert
    the swarm's healing resolves within seconds is seen all the same."""

    def __init__(self, port: int, alertname: str, service: str, seconds: float) -> None:
        super().__init__(daemon=True)
        self.args_ = (port, alertname, service)
        self.deadline = time.monotonic() + seconds
        self.seen: list[dict[str, Any]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            try:
                self.seen += alerts_in(*self.args_)
            except OSError:
                pass
            if self.seen:
                return
            self.stopping.wait(0.2)

    def stop(self) -> list[dict[str, Any]]:
        self.stopping.set()
        self.join(timeout=10)
        return self.seen


PREDICT = """
import sys, urllib.request
ok = 0
for _ in range(int(sys.argv[2])):
    request = urllib.request.Request("http://127.0.0.1:8080/predict", data=sys.argv[1].encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        ok += answer.status == 200
print(ok)
"""


def status_json(root: Path) -> dict[str, Any]:
    """`workbench status --json` of the project's channels, as a user runs it; exit 0 when
    every replica is healthy, 1 when one is short."""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "workbench"),
            *("status", "--json", "--interval", "1", "-p", str(root)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    document = json.loads(done.stdout)
    short = any(c["healthy"] < c["desired"] for c in document["channels"])
    assert done.returncode == (1 if short else 0), done.stdout + done.stderr
    return document  # type: ignore[no-any-return]


def test_prometheus_scrapes_both_replicas_and_a_killed_one_fires_its_alert(
    tmp_path: Path,
    example_python: Path,
    registry: harness.Registry,
    a_swarm: Any,  # noqa: F811
    base_image: str,
    prometheus: str,
    alertmanager: str,
) -> None:
    root = copy_example("iris", tmp_path / "iris")
    manifest = released_and_deployed(root, example_python, registry)
    deployed = swarm.deploy(manifest, "production", replicas=2, by="Ana")
    assert deployed.result == "created", deployed.message
    folder = root / "deploy" / "monitoring" / "production"
    assert sorted(p.name for p in deployed.monitoring) == sorted(
        ["prometheus.yml", "rules.yml", "rules.test.yml", "dashboard.json"]
    )
    assert load_deployments(manifest)[-1].files == [
        f"deploy/monitoring/production/{p.name}" for p in deployed.monitoring
    ]
    digest = load_channels(manifest)["production"].digest or ""
    verdict = prometheus_files.verify(manifest, "production", digest)
    assert verdict.ok, verdict.said
    # The drift reference came from the running image: the rules know its fields' bins.
    assert "what: petal_length" in (folder / "rules.yml").read_text()

    # `workbench status`: figures read from each of the two replicas themselves, after 60
    # predictions sent to each (from inside its container: the tasks live on the overlay)
    record = (root / "schema" / "examples" / "setosa.json").read_text()
    tasks = a_swarm.containers.list(
        ignore_removed=True, filters={"label": f"com.docker.swarm.service.name={deployed.service}"}
    )
    assert len(tasks) == 2
    for task in tasks:
        code, output = task.exec_run(["python3", "-c", PREDICT, record, "60"])
        assert code == 0 and output.decode().strip() == "60", output
    (channel,) = status_json(root)["channels"]
    assert (channel["channel"], channel["version"]) == ("production", "1.0.0")
    assert channel["digest"] == digest and (channel["healthy"], channel["desired"]) == (2, 2)
    replicas = channel["replicas"]
    assert sorted(r["replica"] for r in replicas) == ["1", "2"], replicas
    assert all(r["answering"] and r["version"] == "1.0.0" for r in replicas), replicas
    assert all(r["rps"] is not None for r in replicas), replicas  # two readings apart
    assert {d["what"] for d in channel["drift"]} <= {
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
        "prediction",
    }
    assert record  # (the example the replicas were built with)

    labels = {"io.workbench.test": "operate-prometheus", PROJECT_ID_LABEL: manifest.project_id}
    network = swarm.network_name(manifest)
    manager, address, manager_port = start_alertmanager(
        a_swarm, base_image, alertmanager, network, tmp_path / "alertmanager", labels
    )
    config = tmp_path / "prometheus"
    for_the_test(folder, config, f"{address}:9093")
    job = deployed.service
    try:
        container = a_swarm.containers.run(
            base_image,
            [
                "/usr/bin/prometheus",
                "--config.file=/etc/workbench/prometheus.yml",
                "--storage.tsdb.path=/tmp/data",
                "--web.listen-address=0.0.0.0:9090",
            ],
            network=network,
            volumes={
                prometheus: {"bind": "/usr/bin/prometheus", "mode": "ro"},
                str(config): {"bind": "/etc/workbench", "mode": "ro"},
                "/var/run/docker.sock": {"bind": "/var/run/docker.sock", "mode": "ro"},
            },
            ports={"9090/tcp": ("127.0.0.1", None)},
            labels=labels,
            detach=True,
        )
    except BaseException:
        manager.remove(force=True)
        raise
    try:
        container.reload()
        port = int(container.ports["9090/tcp"][0]["HostPort"])
        up = wait_for(port, f'up{{job="{job}", task_state="running"}} == 1', 2, 120)
        assert len(up) == 2, (up, container.logs()[-3000:])
        assert {s["metric"]["replica"] for s in up} == {"1", "2"}
        assert all(s["metric"]["digest"] == digest for s in up), up
        assert all(s["metric"]["version"] == "1.0.0" for s in up), up
        # figures of both replicas, read by Prometheus from each one's /metrics
        served = wait_for(
            port, f'sum by (replica) (workbench_requests_total{{job="{job}"}})', 2, 30
        )
        assert {s["metric"]["replica"] for s in served} == {"1", "2"}, served
        firing = (
            f'ALERTS{{alertname="WorkbenchReplicasMissing", alertstate="firing", service="{job}"}}'
        )
        # while Prometheus starts, fewer than two targets fire it: quiet once both are read
        assert wait_for(port, firing, 0, 60) == []
        # the 120 identical predictions: petal_length drifted, past the minimum of 100
        drifted = (
            f'ALERTS{{alertname="WorkbenchFieldDrifted", alertstate="firing", service="{job}"}}'
        )
        fields = wait_for(port, drifted, 1, 60)
        assert "petal_length" in {s["metric"]["what"] for s in fields}, fields
        # ... and Prometheus sent it to Alertmanager, which holds it (bounded wait)
        held = Watching(manager_port, "WorkbenchFieldDrifted", job, 60)
        held.start()
        held.join(timeout=65)
        arrived = held.stop()
        assert arrived, manager.logs()[-3000:]
        assert {a["labels"]["what"] for a in arrived} >= {"petal_length"}, arrived
        assert all(a["status"]["state"] == "active" for a in arrived), arrived
        others = "WorkbenchErrorRateOverBudget|WorkbenchP99OverBudget|WorkbenchDigestNotTheChannels"
        assert query(port, f'ALERTS{{service="{job}", alertname=~"{others}"}}') == []

        (victim, *_) = a_swarm.containers.list(
            ignore_removed=True,
            filters={"label": f"com.docker.swarm.service.name={job}", "status": "running"},
        )
        watching = Watching(manager_port, "WorkbenchReplicasMissing", job, 180)
        watching.start()  # from before the kill: the alert lasts only until the swarm heals
        killed = time.time()
        victim.kill()
        # status says so: fewer healthy than desired, the killed slot not answering
        for _ in range(30):  # bounded: the swarm notices within seconds
            (channel,) = status_json(root)["channels"]
            if channel["healthy"] < 2:
                break
        assert channel["healthy"] < channel["desired"] == 2, channel
        assert (
            any(not r["answering"] for r in channel["replicas"]) or len(channel["replicas"]) < 2
        ), channel
        # firing at some evaluation since the kill (the swarm may have healed since)
        seen = wait_for(
            port, lambda: f"max_over_time({firing}[{int(time.time() - killed) + 1}s])", 1, 120
        )
        assert len(seen) == 1, (seen, container.logs()[-3000:])
        assert seen[0]["metric"]["channel"] == "production"
        # Alertmanager received it from Prometheus (its v2 API read while it was active)
        for _ in range(60):  # bounded: the watcher reads every 0.2 s, for at most 180 s
            if watching.seen or not watching.is_alive():
                break
            time.sleep(1)
        received = watching.stop()
        assert received, manager.logs()[-3000:]
        (alert,) = received[:1]
        assert alert["labels"]["channel"] == "production", alert
        assert alert["labels"]["severity"] == "page", alert
        assert alert["status"]["state"] == "active", alert
        started = datetime.fromisoformat(alert["startsAt"]).timestamp()
        assert started >= killed - 1, (alert, killed)  # this failure's, not start-up's
    finally:
        container.remove(force=True)
        manager.remove(force=True)
