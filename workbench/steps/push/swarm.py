"""Deploy a channel to Docker Swarm (part of the Docker Engine the workbench already uses):
one service per model and channel, N replicas, the serve test's hardening, health checks
from the image's readiness route, and rolling updates that start the new task first, one
at a time, gated on health, and roll back by themselves when the new tasks fail.

The service always runs the digest the channel points at, never a tag. Endpoints are
DNS round-robin on an attachable overlay network by default (no IPVS needed: the routing
mesh does not work on every kernel); `endpoint="vip"` with a published port uses the
routing mesh where the cluster has one. Each deployment is recorded beside the channel
history, in releases/deployments.yaml: who, when, which digest, what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import project_lock
from workbench.project.manifest import Manifest
from workbench.steps.push.deploy import (
    GRACEFUL_STOP_SECONDS,
    k8s_name,
    record,
    verified_channel_image,
)
from workbench.steps.push.nodes import GPU_RESOURCE, refuse_unpublishable, refuse_without_gpus
from workbench.steps.serve.health import health_probe
from workbench.steps.serve.run import PROJECT_ID_LABEL

LABEL = "io.workbench.deploy"
DIGEST_LABEL = "io.workbench.digest"
SECOND = 1_000_000_000  # the Engine API counts durations in nanoseconds


SwarmResult = Literal["created", "updated", "scaled", "unchanged", "rolled back", "failed"]


@dataclass
class Deployed:
    service: str
    version: str
    image: str
    replicas: int
    result: SwarmResult
    message: str
    seconds: float
    monitoring: list[Path] = field(default_factory=list)  # deploy/monitoring/<channel>/


def service_name(manifest: Manifest, channel: str) -> str:
    return k8s_name(manifest, channel)


def network_name(manifest: Manifest) -> str:
    return f"workbench-{k8s_name(manifest, 'net')}"


def _spec(
    manifest: Manifest, image: str, version: str, network: str, host_port: bool = False
) -> dict[str, Any]:
    """The service's spec. With a port published in host mode, a task holds that port on
    its node: its replacement can only start once it stopped (stop-first), and callers of
    that node's port see the swap; without one, the new task starts first (no failed
    request)."""
    from docker import types  # the SDK only when deploying (import cost)

    order = "stop-first" if host_port else "start-first"

    port = manifest.serve.port
    container = types.ContainerSpec(
        image=image,
        env=[f"PORT={port}"],
        read_only=True,
        mounts=[types.Mount("/tmp", None, type="tmpfs", tmpfs_size=64 * 1024**2)],
        cap_drop=["ALL"],
        stop_grace_period=(GRACEFUL_STOP_SECONDS + 5) * SECOND,
        healthcheck=types.Healthcheck(
            test=["CMD", *health_probe(port)],
            interval=2 * SECOND,
            timeout=2 * SECOND,
            retries=3,
            start_period=manifest.serve.ready_timeout * SECOND,
        ),
        labels={
            LABEL: "1",
            "io.workbench.version": version,
            PROJECT_ID_LABEL: manifest.project_id,
        },
    )
    gpus = manifest.serve.gpu  # reserved per task: scheduled only on nodes that advertise it
    template = types.TaskTemplate(
        container_spec=container,
        resources=types.Resources(
            mem_limit=manifest.serve.memory_bytes,
            generic_resources={GPU_RESOURCE: gpus} if gpus else None,
        ),
        restart_policy=types.RestartPolicy(condition="on-failure", delay=2 * SECOND),
        networks=[types.NetworkAttachmentConfig(network)],
    )
    return {
        "task_template": template,
        "update_config": types.UpdateConfig(
            parallelism=1,
            delay=SECOND,
            failure_action="rollback",
            monitor=5 * SECOND,
            max_failure_ratio=0,
            order=order,
        ),
        "rollback_config": types.RollbackConfig(
            parallelism=1,
            delay=SECOND,
            failure_action="pause",
            monitor=5 * SECOND,
            order=order,
        ),
    }


def swarm_client() -> Any:
    client = docker_client(timeout=60)
    state = client.info().get("Swarm", {}).get("LocalNodeState")
    if state != "active":
        raise WorkbenchError(
            f"this Docker engine is not part of a swarm (its state: {state or 'unknown'}).",
            fix="`docker swarm init` makes a single-node swarm; or join the engine to yours.",
        )
    return client


def _network(client: Any, name: str, manifest: Manifest) -> None:
    if not client.networks.list(names=[name]):
        client.networks.create(
            name,
            driver="overlay",
            attachable=True,
            labels={
                LABEL: "1",
                "io.workbench.project": manifest.name,
                PROJECT_ID_LABEL: manifest.project_id,
            },
        )


def find_service(client: Any, name: str) -> Any | None:
    found = [s for s in client.services.list(filters={"name": name}) if s.name == name]
    return found[0] if found else None


def running_image(service: Any) -> str:
    spec = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    return str(spec["Image"])


def deploy(
    manifest: Manifest,
    channel: str,
    *,
    replicas: int = 2,
    by: str,
    endpoint: str = "dnsrr",
    publish: int | None = None,
    timeout: float = 600,
    log: Callable[[str], None] = lambda _: None,
    unverified_reason: str | None = None,
) -> Deployed:
    """Create or update the channel's service to the digest the channel points at, and wait
    until the swarm says how it went; the outcome is recorded either way."""
    from docker import types

    host_port = publish is not None and endpoint == "dnsrr"
    if host_port:
        refuse_unpublishable(swarm_client(), publish, replicas)
    if manifest.serve.gpu:
        refuse_without_gpus(swarm_client(), manifest.serve.gpu)
    version, image, reason = verified_channel_image(manifest, channel, unverified_reason)
    with project_lock(manifest.root, "release", f"deploying {channel}", wait=0):
        client = swarm_client()
        name, network = service_name(manifest, channel), network_name(manifest)
        _network(client, network, manifest)
        spec = _spec(manifest, image, version, network, host_port)
        ports = {
            publish: (manifest.serve.port, "tcp", "host" if endpoint == "dnsrr" else "ingress")
        }
        endpoint_spec = types.EndpointSpec(mode=endpoint, ports=ports if publish else None)
        labels = _service_labels(manifest, channel, version, image)
        started = time.monotonic()
        result, message = _apply(
            client, name, image, replicas, publish, timeout, log,
            labels=labels, mode=types.ServiceMode("replicated", replicas=replicas),
            endpoint_spec=endpoint_spec, **spec,
        )  # fmt: skip
        written = monitoring_files(manifest, client, channel, version, image, replicas, result)
        record(
            manifest,
            channel=channel,
            target="swarm",
            service=name,
            version=version,
            image=image,
            by=by,
            result=result,
            message=message,
            unverified_reason=reason,
            files=[p.relative_to(manifest.root).as_posix() for p in written],
        )
        seconds = time.monotonic() - started
        return Deployed(name, version, image, replicas, result, message, seconds, written)


def monitoring_files(
    manifest: Manifest,
    client: Any,
    channel: str,
    version: str,
    image: str,
    replicas: int,
    result: SwarmResult,
) -> list[Path]:
    """The channel's Prometheus scrape configuration, alert rules with their tests, and
    Grafana dashboard, for what now runs (deploy/monitoring/<channel>/); nothing when
    the deploy did not go through."""
    from workbench.steps.push import alerting, prometheus

    if result not in ("created", "updated", "scaled", "unchanged"):
        return []

    name = service_name(manifest, channel)
    watched = alerting.watched(
        manifest,
        service=name,
        channel=channel,
        version=version,
        image=image,
        replicas=replicas,
        network=network_name(manifest),
        reference=prometheus.image_reference(client, name),
    )
    return prometheus.write(manifest, watched)


def _service_labels(manifest: Manifest, channel: str, version: str, image: str) -> dict[str, str]:
    """The service's labels; the digest one is what Prometheus's discovery reads (its task
    role carries the service's labels, not its image), and a rollback by the swarm puts
    the previous spec back, labels and image together."""
    return {
        DIGEST_LABEL: image.split("@", 1)[1],
        LABEL: "1",
        "io.workbench.project": manifest.name,
        PROJECT_ID_LABEL: manifest.project_id,
        "io.workbench.channel": channel,
        "io.workbench.version": version,
    }


def _apply(
    client: Any,
    name: str,
    image: str,
    replicas: int,
    publish: int | None,
    timeout: float,
    log: Callable[[str], None],
    **settings: Any,
) -> tuple[SwarmResult, str]:
    """Create the service, scale it, or roll it to `image`; and wait until the swarm says
    how it went."""
    service = find_service(client, name)
    if service is None:
        log(f"creating {name}: {replicas} replicas of {image}")
        client.api.create_service(name=name, **settings)
        return _wait_created(client, name, replicas, timeout, log)
    if running_image(service).endswith(image.split("@", 1)[1]) and _same_ports(service, publish):
        if _replicas(service) == replicas:
            return "unchanged", f"{name} already runs {image}"
        # The swarm sets no update status for a scale: judged by the tasks.
        log(f"scaling {name} to {replicas} replicas of {image}")
        service.scale(replicas)
        result, message = _wait_created(client, name, replicas, timeout, log)
        return ("scaled" if result == "created" else result), message
    log(f"updating {name} to {image}: one task at a time")
    service.reload()
    # The last update's outcome stays on the service until this one starts: never read a
    # rollback of the previous deploy as this one's.
    before = (service.attrs.get("UpdateStatus") or {}).get("StartedAt")
    client.api.update_service(service.id, version=service.version, name=name, **settings)
    return _wait_updated(client, name, timeout, log, before)


def _same_ports(service: Any, publish: int | None) -> bool:
    ports = service.attrs.get("Spec", {}).get("EndpointSpec", {}).get("Ports") or []
    return [p.get("PublishedPort") for p in ports] == ([publish] if publish else [])


def _replicas(service: Any) -> int:
    return int(service.attrs["Spec"].get("Mode", {}).get("Replicated", {}).get("Replicas", 0))


def healthy_tasks(client: Any, name: str) -> list[dict[str, Any]]:
    service = find_service(client, name)
    if service is None:
        return []
    return [
        t
        for t in service.tasks(filters={"desired-state": "running"})
        if t["Status"]["State"] == "running"
    ]


def _wait_created(
    client: Any, name: str, replicas: int, timeout: float, log: Callable[[str], None]
) -> tuple[SwarmResult, str]:
    deadline = time.monotonic() + timeout
    said = -1
    while time.monotonic() < deadline:
        running = healthy_tasks(client, name)
        if len(running) != said:  # progress, said when it moves
            said = len(running)
            left = deadline - time.monotonic()
            log(f"{said} of {replicas} replicas running and healthy (waiting {left:.0f} s more)")
        if len(running) == replicas:
            return "created", f"{len(running)} of {replicas} replicas running and healthy"
        time.sleep(1)
    return (
        "failed",
        f"only {len(healthy_tasks(client, name))} of {replicas} replicas healthy after "
        f"{timeout:.0f} s",
    )


def _wait_updated(
    client: Any, name: str, timeout: float, log: Callable[[str], None], before: str | None
) -> tuple[SwarmResult, str]:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        service = find_service(client, name)
        status = (service.attrs.get("UpdateStatus") or {}) if service else {}
        if status.get("StartedAt") == before:  # still the previous update's outcome
            status = {}
        state, text = status.get("State", ""), status.get("Message", "")
        if state != last:
            log(f"swarm: {state or 'waiting'} {text}".strip())
            last = state
        if state == "completed":
            return "updated", text or "every task replaced, healthy"
        if state == "rollback_completed":
            return "rolled back", _after_rollback(client, name, deadline, text, log)
        if state in ("paused", "rollback_paused"):
            return "failed", f"the update {state.replace('_', ' ')}: {text}"
        time.sleep(1)
    return "failed", f"the update did not finish within {timeout:.0f} s (last state: {last})"


def _after_rollback(
    client: Any, name: str, deadline: float, text: str, log: Callable[[str], None]
) -> str:
    """The swarm says a rollback completed when the previous spec is back, not when its
    replacement tasks are healthy: wait for them (within the deploy's time) and say how
    many were read back healthy."""
    service = find_service(client, name)
    replicas = _replicas(service) if service else 0
    image = running_image(service) if service else ""

    def on_previous() -> list[dict[str, Any]]:  # healthy tasks of the spec rolled back to
        tasks = healthy_tasks(client, name)
        return [t for t in tasks if t["Spec"]["ContainerSpec"].get("Image") == image]

    healthy = on_previous()
    while len(healthy) < replicas and time.monotonic() < deadline:
        time.sleep(1)
        healthy = on_previous()
    log(f"{len(healthy)} of {replicas} replicas running and healthy after the rollback")
    return (
        f"the new tasks failed; the swarm rolled back ({text}); {len(healthy)} of {replicas} "
        f"replicas running and healthy on the previous image ({image.rsplit('@', 1)[-1][:19]})"
    )


def remove(manifest: Manifest, channel: str) -> bool:
    client = swarm_client()
    service = find_service(client, service_name(manifest, channel))
    if service is None:
        return False
    service.remove()
    return True
