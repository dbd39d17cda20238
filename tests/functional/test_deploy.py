"""Deploying a channel to a real Docker Swarm (issue #18): two replicas of 1.0.0, a rolling
update to 1.0.1 while a client calls the service without pause (no failed request), then
a release whose model fails its readiness check: the swarm rolls the update back by
itself and the service keeps answering from 1.0.1. The swarm is left as it was found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import git, image_from_files, pass_gates, swarm_turn
from workbench.checklist.checks import report_of
from workbench.checklist.state import load_state
from workbench.demo import parts as harness
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import free_port
from workbench.project.manifest import load_manifest, project_id
from workbench.project.records import ChannelMove
from workbench.project.releases import (
    load_channels,
    load_deployments,
    load_release,
    save_channels,
    save_release,
)
from workbench.project.scaffold import copy_example
from workbench.steps.push import prometheus, publish, swarm
from workbench.steps.push.rehearsal import Rehearsals
from workbench.steps.serve import run
from workbench.steps.snapshot.take import run_snapshot
from workbench.steps.tag import release as tagging

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

CLIENT = """
import json, signal, sys, time, urllib.request
host, record = sys.argv[1], sys.argv[2].encode()
counts = {"ok": 0, "failed": 0, "errors": [], "versions": []}
def stop(*_):
    print(json.dumps(counts), flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    try:
        request = urllib.request.Request(
            f"http://{host}:8080/predict", data=record,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            answer.read()
        counts["ok"] += 1
        if counts["ok"] % 25 == 0:
            with urllib.request.urlopen(f"http://{host}:8080/metadata", timeout=5) as answer:
                version = json.loads(answer.read())["version"]
            if version not in counts["versions"]:
                counts["versions"].append(version)
    except Exception as exc:
        counts["failed"] += 1
        counts["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
    time.sleep(0.02)
"""


@pytest.fixture
def a_swarm(docker_engine: object, tmp_path: Path) -> Iterator[Any]:
    """A single-node swarm for the test; afterwards, the engine as it was found. Only what
    this test's own projects (those under its tmp_path, by their id label) deployed is
    removed: the engine is shared with other runs, whose services, networks and
    containers are never touched."""
    with swarm_turn():
        client = docker_client()
        was = client.info()["Swarm"]["LocalNodeState"]
        networks = {n.name for n in client.networks.list()}
        if was != "active":
            client.swarm.init(advertise_addr="127.0.0.1", listen_addr="127.0.0.1:2377")
        try:
            yield client
        finally:
            ours = [
                f"{run.PROJECT_ID_LABEL}={project_id(found.parent)}"
                for found in tmp_path.rglob("workbench.yaml")
            ]
            for label in ours:
                for service in client.services.list(filters={"label": label}):
                    service.remove()
            for _ in range(90):  # the tasks' containers go (asynchronously) before the network
                if not any(
                    client.containers.list(ignore_removed=True, all=True, filters={"label": x})
                    for x in ours
                ):
                    break
                time.sleep(1)
            for label in ours:
                for network in client.networks.list(filters={"label": label}):
                    network.remove()
            if was != "active" and not client.services.list():  # nobody else uses the swarm
                client.swarm.leave(force=True)
                for network in client.networks.list(names=["docker_gwbridge"]):  # contains
                    if network.name == "docker_gwbridge" and network.name not in networks:
                        network.remove()
                assert client.info()["Swarm"]["LocalNodeState"] == was
            for label in ours:
                assert not client.containers.list(
                    ignore_removed=True, all=True, filters={"label": label}
                )
                assert not client.networks.list(filters={"label": label})


def start_client(client: Any, network: str, host: str, record: str) -> Any:
    return client.containers.run(
        harness.DEFAULT_BASE_IMAGE,
        ["python3", "-c", CLIENT, host, record],
        network=network,
        detach=True,
        labels={"io.workbench.test": "deploy-client"},
    )


def stop_client(container: Any) -> dict[str, Any]:
    container.stop(timeout=10)
    lines = container.logs().decode().strip().splitlines()
    container.remove(force=True)
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def broken_image(client: Any, base: str, target: str) -> str:
    """The released image with its model file truncated: it starts, but never loads."""
    dockerfile = (
        f"FROM {base}\nUSER root\n"
        "RUN for f in $(find /app/model -name '*.joblib'); do head -c 100 $f > /tmp/m "
        "&& cp /tmp/m $f; done\nUSER 10001:10001\n"
    ).encode()
    image_from_files(
        client, {"Dockerfile": dockerfile}, tag=target, pull=False, rm=True, forcerm=True
    )
    client.images.push(target)
    pushed = client.images.get_registry_data(target)
    return str(pushed.id)


def way_back_rehearsed_and_monitoring_followed(root: Path, manifest: Any) -> None:
    """`workbench promote 1.0.1` of production, deployed at 1.0.0: before the move, 1.0.0
    (the way back after it) is pulled by digest, started and asked once, recorded as
    push.rollback-rehearsed; after it, the channel's monitoring files watch 1.0.1 while the
    service still runs 1.0.0 (until the deploy below)."""
    first = load_release(manifest, "1.0.0").push.digest or ""
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "workbench"),
            *("promote", "1.0.1", "-c", "production", "-p", str(root)),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "400"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert f"way back pass: production: rollback target 1.0.0 pulled by digest {first}" in said
    assert "answered 200, valid against its response schema" in said, said
    stored = load_state(root).results["push.rollback-rehearsed"]
    assert stored.status == "pass", stored.evidence
    report = report_of(stored, Rehearsals, "push.rollback-rehearsed")
    assert report is not None
    (rehearsal,) = report.rehearsals
    assert (rehearsal.version, rehearsal.digest, rehearsal.status) == ("1.0.0", first, 200)
    second = load_channels(manifest)["production"].digest or ""
    assert f"monitoring: deploy/monitoring/production now watches 1.0.1 ({second[:19]})" in said
    assert f"the service still runs {first[:19]}" in said, said
    verdict = prometheus.verify(manifest, "production", second)
    assert verdict.ok, verdict.said


def test_rolling_update_without_a_failed_request_then_an_automatic_rollback(
    tmp_path: Path,
    example_python: Path,
    registry: harness.Registry,
    a_swarm: Any,
    base_image: str,
) -> None:
    repository = f"{registry.host}/deploy/iris"
    root = copy_example("iris", tmp_path / "iris")
    text = (root / "workbench.yaml").read_text()
    text = text.replace("python: .venv/bin/python", f"python: {example_python}", 1)
    text = text.replace("  memory_limit: 512m\n", "  memory_limit: 512m\n  ready_timeout: 15\n")
    (root / "workbench.yaml").write_text(text + f"registry: {repository}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Ana Tester")
    git(root, "config", "user.email", "ana@example.com")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "the iris model")
    manifest = load_manifest(root)
    run_snapshot(manifest, lambda _: None)
    checklist = pass_gates(root)
    tagging.create_release(checklist)
    list(publish.push_release(manifest))
    publish.promote(manifest, "1.0.0", "production", "Ana")

    first = swarm.deploy(manifest, "production", replicas=2, by="Ana")
    assert first.result == "created", first.message
    assert len(swarm.healthy_tasks(a_swarm, first.service)) == 2

    # A patch release: a description changed.
    request = root / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("description:", "description: (cm)", 1))
    git(root, "commit", "-qam", "a clearer description")
    checklist = pass_gates(root)
    second = tagging.create_release(checklist)
    assert str(second.version) == "1.0.1"
    list(publish.push_release(manifest))
    way_back_rehearsed_and_monitoring_followed(root, manifest)

    record = (root / "schema" / "examples" / "setosa.json").read_text()
    caller = start_client(a_swarm, swarm.network_name(manifest), first.service, record)
    time.sleep(3)
    update = swarm.deploy(manifest, "production", replicas=2, by="Ana")
    time.sleep(3)
    counts = stop_client(caller)
    assert update.result == "updated", update.message
    assert counts["failed"] == 0, counts["errors"][:5]
    assert counts["ok"] > 50
    service = swarm.find_service(a_swarm, first.service)
    assert swarm.running_image(service).endswith(load_channels(manifest)["production"].digest)

    # A release whose model never loads: the update fails its health checks and the swarm
    # rolls it back; the service keeps answering from 1.0.1.
    good = load_channels(manifest)["production"].digest
    digest = broken_image(a_swarm, f"{repository}@{good}", f"{repository}:broken")
    broken = load_release(manifest, "1.0.1")  # a release 1.0.2 pushed as the broken image
    broken.version = "1.0.2"
    broken.push.digest = digest
    save_release(manifest, broken)
    channels = load_channels(manifest)
    entry = channels["production"]
    entry.current, entry.digest = "1.0.2", digest
    entry.history.append(
        ChannelMove(version="1.0.2", digest=digest, action="promote", at="now", by="Ana")
    )
    save_channels(manifest, channels)
    caller = start_client(a_swarm, swarm.network_name(manifest), first.service, record)
    failed_update = swarm.deploy(manifest, "production", replicas=2, by="Ana")
    time.sleep(3)
    counts = stop_client(caller)
    assert failed_update.result == "rolled back", failed_update.message
    assert "2 of 2 replicas running and healthy on the previous image" in failed_update.message
    assert counts["failed"] == 0 and counts["versions"] == ["1.0.1"], counts
    service = swarm.find_service(a_swarm, first.service)
    assert swarm.running_image(service).endswith(good)
    assert len(swarm.healthy_tasks(a_swarm, first.service)) == 2

    # `workbench rollback` moves the channel back, and the service follows (already there).
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "workbench"),
            "rollback",
            "-c",
            "production",
            "-p",
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "production rolled back to 1.0.1" in done.stdout
    assert "unchanged" in done.stdout
    # The next real update is judged on its own outcome, not on the rollback before it.
    publish.promote(manifest, "1.0.0", "production", "Ana")
    back = swarm.deploy(manifest, "production", replicas=2, by="Ana")
    assert back.result == "updated", back.message
    history = [(d.version, d.result) for d in load_deployments(manifest)]
    assert history == [
        ("1.0.0", "created"),
        ("1.0.1", "updated"),
        ("1.0.2", "rolled back"),
        ("1.0.1", "unchanged"),
        ("1.0.0", "updated"),
    ]
    # A scale alone sets no update status on the service: judged by its tasks (it waited
    # for a status that never came, and would have recorded "failed" after 600 s).
    scaled = swarm.deploy(manifest, "production", replicas=1, by="Ana", timeout=120)
    assert scaled.result == "scaled", scaled.message
    assert len(swarm.healthy_tasks(a_swarm, first.service)) == 1
    # A host-mode port binds once per node: two replicas on this one-node swarm would wait
    # for ever. Refused before anything changes.
    with pytest.raises(WorkbenchError, match="published in host mode, once per node") as no:
        swarm.deploy(manifest, "production", replicas=2, by="Ana", publish=free_port())
    assert "--replicas 1" in no.value.paragraph
    assert [d.result for d in load_deployments(manifest)][-1] == "scaled"
