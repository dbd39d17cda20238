"""A deployed channel promoted without a deploy: its monitoring files watched the old
digest, and `push.alerts-exist` failed naming it (as it did before promote rewrote them,
and as it still does where they cannot be rewritten); rewritten, they watch the channel's
new digest and pass promtool again. The swarm is a stand-in here (its service's desired
replicas and image); the real one is in tests/functional/test_deploy.py."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.helpers import hand_made_release
from workbench.checklist.checks import CheckContext, Status
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest, load_manifest
from workbench.project.records import Channel, ChannelMove, Deployment, PushInfo
from workbench.project.releases import load_release, save_channels, save_deployments, save_release
from workbench.project.scaffold import copy_example
from workbench.steps.push import alerting, prometheus, swarm
from workbench.steps.push.checks import alerts_exist
from workbench.steps.push.follow import follow

OLD, NEW = "sha256:" + "c" * 64, "sha256:" + "d" * 64
REGISTRY = "localhost:5000/team/iris"


def pushed(manifest: Manifest, version: str, digest: str) -> None:
    hand_made_release(manifest, version, [])
    record = load_release(manifest, version)
    record.push = PushInfo(pushed=True, digest=digest)
    save_release(manifest, record)


def point(manifest: Manifest, version: str, digest: str, history: list[ChannelMove]) -> None:
    history.append(ChannelMove(version=version, digest=digest, action="promote", at="t", by="A"))
    channel = Channel(current=version, digest=digest, history=history)
    save_channels(manifest, {"production": channel})


@pytest.fixture
def deployed(tmp_path: Path) -> Manifest:
    """production deployed to the swarm at 1.0.0 (OLD), its files written by deploy; then
    promoted to 1.1.0 (NEW), not deployed again."""
    project = copy_example("iris", tmp_path / "iris")
    (project / "workbench.yaml").write_text(
        (project / "workbench.yaml").read_text() + f"registry: {REGISTRY}\n"
    )
    manifest = load_manifest(project)
    pushed(manifest, "1.0.0", OLD)
    pushed(manifest, "1.1.0", NEW)
    history: list[ChannelMove] = []
    point(manifest, "1.0.0", OLD, history)
    name = swarm.service_name(manifest, "production")
    deployment = Deployment(
        channel="production", target="swarm", service=name, version="1.0.0", digest=OLD,
        at="t", by="A", result="created",
    )  # fmt: skip
    save_deployments(manifest, [deployment])
    written = alerting.watched(
        manifest, service=name, channel="production", version="1.0.0",
        image=f"{REGISTRY}@{OLD}", replicas=2, network=swarm.network_name(manifest),
        reference=None,
    )  # fmt: skip
    prometheus.write(manifest, written)
    point(manifest, "1.1.0", NEW, history)
    return manifest


def stand_in_swarm(monkeypatch: pytest.MonkeyPatch, runs: str | None) -> None:
    """A swarm whose service runs `runs` with two replicas desired (None: no swarm here)."""

    def client() -> Any:
        if runs is None:
            raise WorkbenchError("this Docker engine is not part of a swarm (its state: inactive).")
        return SimpleNamespace(containers=SimpleNamespace(list=lambda **_: []))

    service = SimpleNamespace(
        attrs={
            "Spec": {
                "Mode": {"Replicated": {"Replicas": 2}},
                "TaskTemplate": {"ContainerSpec": {"Image": f"{REGISTRY}@{runs}"}},
            }
        }
    )
    monkeypatch.setattr(swarm, "swarm_client", client)
    monkeypatch.setattr(swarm, "find_service", lambda _client, _name: service)


def test_files_that_cannot_follow_fail_alerts_exist_naming_the_old_digest(
    deployed: Manifest, monkeypatch: pytest.MonkeyPatch, promtool: str
) -> None:
    stand_in_swarm(monkeypatch, runs=None)
    followed = follow(deployed, "production")
    assert followed is not None and followed.written == []
    assert "was not rewritten for 1.1.0" in followed.said
    assert "not part of a swarm" in followed.said
    result = alerts_exist(CheckContext(deployed))
    assert result.status is Status.FAIL
    assert result.evidence == [
        f"production: deploy/monitoring/production/rules.yml watches {OLD}, the channel is at {NEW}"
    ]


def test_a_promoted_channel_s_files_follow_its_digest_and_pass_again(
    deployed: Manifest, monkeypatch: pytest.MonkeyPatch, promtool: str
) -> None:
    stand_in_swarm(monkeypatch, runs=OLD)  # the service not deployed again: still OLD
    followed = follow(deployed, "production")
    assert followed is not None
    assert sorted(p.name for p in followed.written) == sorted(alerting.FILES)
    assert followed.said == (
        f"deploy/monitoring/production now watches 1.1.0 ({NEW[:19]}); the service still "
        f"runs {OLD[:19]}: WorkbenchDigestNotTheChannels fires until "
        "`workbench deploy --channel production`"
    )
    rules = (deployed.root / "deploy" / "monitoring" / "production" / "rules.yml").read_text()
    assert f"channel_digest: {NEW}" in rules and OLD not in rules
    result = alerts_exist(CheckContext(deployed))
    assert result.status is Status.PASS, result.evidence
    assert f"watching {NEW[:19]}" in result.evidence[0]


def test_a_channel_not_deployed_has_no_files_to_follow(deployed: Manifest) -> None:
    save_deployments(deployed, [])
    assert follow(deployed, "production") is None
