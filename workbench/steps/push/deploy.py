"""Deploying a channel: what every target shares (the digest the channel points at, the
deployment history), and the Kubernetes (and KServe) files for teams that outgrew one
machine. Every image is pinned by the digest the channel points at, never a mutable tag;
probes come from the runtime's health routes; the grace period covers the runtime's
graceful stop; the security context is the serve test's hardening. Docker Swarm is in
swarm.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.clock import now
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.records import Deployment, DeployResult, DeployTarget
from workbench.project.releases import (
    load_channels,
    load_deployments,
    load_release,
    save_deployments,
)

GRACEFUL_STOP_SECONDS = 10  # the runtime's timeout_graceful_shutdown (runtime/__main__.py)
TERMINATION_GRACE_SECONDS = GRACEFUL_STOP_SECONDS + 5  # and the endpoints' removal
UID = 10001  # the image's user (assets/templates/Dockerfile)
GPU_LIMIT = "nvidia.com/gpu"  # the NVIDIA device plugin's extended resource


def channel_image(manifest: Manifest, channel: str) -> tuple[str, str]:
    """(version, image by digest) the channel points at."""
    entry = load_channels(manifest).get(channel)
    if entry is None or not entry.current or not entry.digest:
        raise WorkbenchError(
            f"the channel {channel} points at no release yet.",
            fix=f"promote one first: `workbench promote VERSION --channel {channel}`.",
        )
    if not manifest.registry:
        raise WorkbenchError(
            "workbench.yaml has no `registry:`; a cluster pulls the image from one.",
            fix="set registry: HOST/PATH and push the release.",
        )
    pushed = load_release(manifest, entry.current).push.digest
    if entry.digest != pushed:  # releases/channels.yaml edited by hand, or a foreign merge
        raise WorkbenchError(
            f"releases/channels.yaml says {channel} is {entry.current} at {entry.digest}, but "
            f"release {entry.current} was pushed as {pushed}; nothing was deployed.",
            fix=f"move the channel with `workbench promote {entry.current} --channel {channel}` "
            "(it records the pushed digest), or restore releases/channels.yaml from git.",
        )
    return entry.current, f"{manifest.registry}@{entry.digest}"


def verified_channel_image(
    manifest: Manifest, channel: str, unverified_reason: str | None
) -> tuple[str, str, str | None]:
    """(version, image by digest, the reason to record) of the channel, once its release
    verifies (`workbench verify`), or a reason to deploy it regardless was given."""
    from workbench.steps.push.verify import require_verified

    version, image = channel_image(manifest, channel)
    return version, image, require_verified(manifest, version, unverified_reason)


def record(
    manifest: Manifest,
    *,
    channel: str,
    target: DeployTarget,
    service: str,
    version: str,
    image: str,
    by: str,
    result: DeployResult,
    message: str,
    files: list[str] | None = None,
    unverified_reason: str | None = None,
) -> None:
    """One more line of the deployment history (releases/deployments.yaml, committed)."""
    history = load_deployments(manifest)
    history.append(
        Deployment(
            channel=channel,
            target=target,
            service=service,
            version=version,
            digest=image.split("@", 1)[1],
            at=now(),
            by=by,
            result=result,
            message=message,
            files=files or [],
            unverified_reason=unverified_reason,
        )
    )
    save_deployments(manifest, history)


def k8s_name(manifest: Manifest, channel: str) -> str:
    """A DNS-1123 label: lowercase letters, digits and '-', at most 63 characters."""
    name = re.sub(r"[^a-z0-9-]+", "-", f"{manifest.name}-{channel}".lower()).strip("-")
    return name[:63].rstrip("-")


def memory_quantity(size: int) -> str:
    """Bytes as a Kubernetes quantity in the largest binary unit that holds them exactly
    (serve.memory_limit `1g` -> `1Gi`, `512m` -> `512Mi`)."""
    for unit, factor in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def manifests(
    manifest: Manifest,
    channel: str,
    version: str,
    image: str,
    *,
    replicas: int = 2,
    kserve: bool = False,
) -> dict[str, dict[str, Any]]:
    """file name -> Kubernetes object, for `image` (a reference by digest)."""
    if "@sha256:" not in image:
        raise WorkbenchError(f"{image} is not pinned by digest; a deployment never uses a tag.")
    name = k8s_name(manifest, channel)
    labels = {
        "app.kubernetes.io/name": manifest.name,
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/managed-by": "workbench",
        "workbench/channel": channel,
    }
    container = _container(manifest, image)
    placement = gpu_placement(manifest)
    documents: dict[str, dict[str, Any]] = {
        "deployment.yaml": _deployment(name, labels, replicas, container, placement),
        "service.yaml": _service(name, labels),
        "hpa.yaml": _autoscaler(name, labels, replicas),
    }
    if kserve:
        documents["inferenceservice.yaml"] = _inference_service(
            name, labels, replicas, container, placement
        )
    return documents


def gpu_placement(manifest: Manifest) -> dict[str, Any]:
    """Where a GPU pod may run: serve.gpu_node_selector (key=value) and the taints of
    serve.gpu_tolerations it tolerates; nothing for a CPU image."""
    if not manifest.serve.gpu:
        return {}
    placement: dict[str, Any] = {}
    if manifest.serve.gpu_node_selector:
        pairs = (label.split("=", 1) for label in manifest.serve.gpu_node_selector)
        placement["nodeSelector"] = {label: value for label, value in pairs}
    if manifest.serve.gpu_tolerations:
        placement["tolerations"] = [
            {"key": taint, "operator": "Exists", "effect": "NoSchedule"}
            for taint in manifest.serve.gpu_tolerations
        ]
    return placement


def _container(manifest: Manifest, image: str) -> dict[str, Any]:
    """The model's container: probes on the runtime's health routes, the serve test's
    hardening, memory as serve.memory_limit."""
    port = manifest.serve.port
    memory = memory_quantity(manifest.serve.memory_bytes)
    return {
        "name": "model",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [{"name": "PORT", "value": str(port)}],
        "resources": {
            "requests": {"cpu": "500m", "memory": memory},
            # serve.gpu: whole GPUs from the NVIDIA device plugin (a limit is its request)
            "limits": {"memory": memory}
            | ({GPU_LIMIT: str(manifest.serve.gpu)} if manifest.serve.gpu else {}),
        },
        # Ready only once the model is loaded; alive as soon as the server answers; the
        # start-up probe gives the model serve.ready_timeout to load.
        "startupProbe": {
            "httpGet": {"path": "/health/live", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": max(1, manifest.serve.ready_timeout // 2),
        },
        "readinessProbe": {
            "httpGet": {"path": "/health/ready", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health/live", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _deployment(
    name: str,
    labels: dict[str, str],
    replicas: int,
    container: dict[str, Any],
    placement: dict[str, Any],
) -> dict[str, Any]:
    """A rolling update that never takes a replica away before its successor is ready."""
    pod_spec = {
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "fsGroup": UID},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}],
        **placement,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": name}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def _service(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """Port 80 of the cluster to the container's http port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "selector": {"app.kubernetes.io/instance": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _autoscaler(name: str, labels: dict[str, str], replicas: int) -> dict[str, Any]:
    """From `replicas` to four times as many, on CPU."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": replicas,
            "maxReplicas": replicas * 4,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def _inference_service(
    name: str,
    labels: dict[str, str],
    replicas: int,
    container: dict[str, Any],
    placement: dict[str, Any],
) -> dict[str, Any]:
    """KServe: the same container, speaking the Open Inference Protocol v2."""
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "predictor": {
                "minReplicas": replicas,
                "maxReplicas": replicas * 4,
                # A custom container speaking the Open Inference Protocol v2 (REST).
                "containers": [
                    {
                        key: value
                        for key, value in container.items()
                        if key not in ("startupProbe", "livenessProbe")
                    }
                    | {"name": "kserve-container"}
                ],
                "protocolVersion": "v2",
                **placement,
            }
        },
    }


def write_manifests(documents: dict[str, dict[str, Any]], out: Path) -> list[Path]:
    import yaml  # only here (import cost)

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, document in documents.items():
        path = out / filename
        write_text_atomic(
            path,
            "# Written by `workbench deploy --target kubernetes`; pinned by digest.\n"
            + yaml.safe_dump(document, sort_keys=False),
        )
        written.append(path)
    return written


def deploy(
    manifest: Manifest,
    channel: str,
    folder: Path,
    *,
    replicas: int,
    kserve: bool,
    by: str,
    unverified_reason: str | None = None,
) -> tuple[list[Path], str]:
    """Write the files for the channel's digest; apply them where a cluster context is
    configured (a server-side dry run first). Returns the files and what was done."""
    import shutil
    import subprocess

    root = manifest.root.resolve()
    real = folder.resolve()
    if real != root and root not in real.parents:
        raise WorkbenchError(
            f"--out {folder} is outside the project ({root}); the workbench writes only there.",
            fix="choose a folder in the project, e.g. deploy/kubernetes/production.",
        )
    version, image, reason = verified_channel_image(manifest, channel, unverified_reason)
    documents = manifests(manifest, channel, version, image, replicas=replicas, kserve=kserve)
    written = write_manifests(documents, real)
    kubectl = shutil.which("kubectl")
    context = (
        subprocess.run(
            [kubectl, "config", "current-context"], capture_output=True, text=True, check=False
        )
        if kubectl
        else None
    )
    result: DeployResult
    if context is None or context.returncode != 0:
        done = (
            f"no Kubernetes context configured here: apply them with `kubectl apply -f {folder}`"
            + (" (the InferenceService needs KServe installed)" if kserve else "")
        )
        result = "written"
    else:
        assert kubectl is not None
        name = context.stdout.strip()
        for extra in (["--dry-run=server"], []):
            applied = subprocess.run(
                [kubectl, "--context", name, "apply", *extra, "-f", str(real)],
                capture_output=True,
                text=True,
                check=False,
            )
            if applied.returncode != 0:
                raise WorkbenchError(
                    f"kubectl apply{' --dry-run=server' if extra else ''} on context {name} "
                    f"refused the files: {applied.stderr.strip()[:400]}",
                    fix=f"read the files in {folder} and the cluster's answer above.",
                )
        done, result = (
            f"applied to the Kubernetes context {name} (after a server dry run)",
            "applied",
        )
    record(
        manifest,
        channel=channel,
        target="kubernetes",
        service=k8s_name(manifest, channel),
        version=version,
        image=image,
        by=by,
        result=result,
        message=done,
        files=[path.relative_to(root).as_posix() for path in written],
        unverified_reason=reason,
    )
    return written, done
