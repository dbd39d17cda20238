"""`workbench deploy --target kubernetes` (issue #18): the files pass the Kubernetes schemas
offline, pin the channel's digest, and carry the probes, grace period, resources and
security context of the serve test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.helpers import hand_made_release
from tests.unit.test_manifest import GOOD, project
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.records import Channel, ChannelMove, PushInfo
from workbench.project.releases import (
    load_deployments,
    load_release,
    save_channels,
    save_release,
)
from workbench.steps.push import deploy

DIGEST = "sha256:" + "ab" * 32
K8S_VERSION = "1.30"


@pytest.fixture
def channel_project(tmp_path: Path) -> Path:
    root = project(tmp_path, GOOD + "registry: localhost:5000/team/churn\n")
    manifest = load_manifest(root)
    hand_made_release(manifest, "1.2.0", [])  # pushed as the digest the channel names
    release = load_release(manifest, "1.2.0")
    release.push = PushInfo(pushed=True, digest=DIGEST)
    save_release(manifest, release)
    save_channels(
        manifest,
        {
            "production": Channel(
                current="1.2.0",
                digest=DIGEST,
                history=[
                    ChannelMove(version="1.2.0", digest=DIGEST, action="promote", at="t", by="Ana")
                ],
            )
        },
    )
    return root


def test_the_files_pass_the_kubernetes_schemas_and_pin_the_digest(channel_project: Path) -> None:
    manifest = load_manifest(channel_project)
    out = channel_project / "deploy" / "kubernetes" / "production"
    written, done = deploy.deploy(manifest, "production", out, replicas=3, kserve=True, by="Ana")
    assert sorted(p.name for p in written) == [
        "deployment.yaml",
        "hpa.yaml",
        "inferenceservice.yaml",
        "service.yaml",
    ]
    documents = {p.name: yaml.safe_load(p.read_text()) for p in written}
    for name in ("deployment.yaml", "service.yaml", "hpa.yaml"):
        kubernetes_validate.validate(documents[name], K8S_VERSION, strict=True)
    pod = documents["deployment.yaml"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == f"localhost:5000/team/churn@{DIGEST}"  # never a tag
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["startupProbe"]["failureThreshold"] * 2 >= manifest.serve.ready_timeout
    assert pod["terminationGracePeriodSeconds"] > deploy.GRACEFUL_STOP_SECONDS
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == 10001
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"]["memory"] == "1Gi"  # serve.memory_limit 1g
    assert documents["deployment.yaml"]["spec"]["replicas"] == 3
    assert documents["deployment.yaml"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert documents["hpa.yaml"]["spec"]["minReplicas"] == 3
    isvc = documents["inferenceservice.yaml"]
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    predictor = isvc["spec"]["predictor"]
    assert predictor["protocolVersion"] == "v2"
    assert predictor["containers"][0]["image"] == f"localhost:5000/team/churn@{DIGEST}"
    assert "apply them with `kubectl apply" in done  # no cluster is reachable from a test
    history = load_deployments(manifest)
    assert [(d.channel, d.target, d.version, d.digest) for d in history] == [
        ("production", "kubernetes", "1.2.0", DIGEST)
    ]


def test_a_broken_file_would_be_caught_by_the_same_validation(channel_project: Path) -> None:
    manifest = load_manifest(channel_project)
    documents = deploy.manifests(manifest, "production", "1.2.0", f"r/x@{DIGEST}")
    broken = documents["deployment.yaml"]
    broken["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_no_tag_no_channel_and_no_folder_outside_the_project(
    channel_project: Path, tmp_path: Path
) -> None:
    manifest = load_manifest(channel_project)
    with pytest.raises(WorkbenchError, match="not pinned by digest"):
        deploy.manifests(manifest, "production", "1.2.0", "r/x:1.2.0")
    with pytest.raises(WorkbenchError, match="points at no release yet"):
        deploy.deploy(
            manifest, "staging", channel_project / "k8s", replicas=1, kserve=False, by="A"
        )
    with pytest.raises(WorkbenchError, match="outside the project"):
        deploy.deploy(
            manifest, "production", tmp_path.parent / "elsewhere", replicas=1, kserve=False, by="A"
        )
    assert not (tmp_path.parent / "elsewhere").exists()


def test_the_cli_writes_them_and_says_how_to_apply(channel_project: Path) -> None:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "workbench"),
            "deploy",
            "--channel",
            "production",
            "--target",
            "kubernetes",
            "-p",
            str(channel_project),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote deploy/kubernetes/production/deployment.yaml" in done.stdout
    assert (channel_project / "deploy" / "kubernetes" / "production" / "hpa.yaml").exists()


def test_one_reading_of_the_memory_limit_for_docker_swarm_kubernetes_and_pictures() -> None:
    from workbench.project.manifest import ServeSpec
    from workbench.steps.push.deploy import memory_quantity

    cases = {
        "1g": (1024**3, "1Gi"),
        "512m": (512 * 1024**2, "512Mi"),
        "1536M": (1536 << 20, "1536Mi"),
        "64k": (65536, "64Ki"),
        "2G": (2 << 30, "2Gi"),
        "1000": (1000, "1000"),
    }
    for limit, (size, quantity) in cases.items():
        assert ServeSpec(memory_limit=limit).memory_bytes == size, limit
        assert memory_quantity(size) == quantity, limit


def test_a_unit_test_cannot_reach_the_users_cluster(
    channel_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A person running the tests has a cluster context in ~/.kube/config: the deploy must
    # not see it, let alone apply to it.
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\n"
        "clusters: [{name: prod, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "contexts: [{name: prod, context: {cluster: prod, user: ana}}]\n"
        "users: [{name: ana, user: {token: t}}]\n"
    )
    monkeypatch.setenv("HOME", str(home))
    assert Path(os.environ["KUBECONFIG"]).read_text() == ""  # the suite's own, empty
    written, done = deploy.deploy(
        load_manifest(channel_project),
        "production",
        channel_project / "k8s",
        replicas=1,
        kserve=False,
        by="A",
    )
    assert written and "no Kubernetes context configured here" in done
