"""A deployed channel moved without a deploy (a promote, or a rollback whose deploy did
not go through): its monitoring files (deploy/monitoring/<channel>/) follow the digest it
now points at, so its rules watch the channel's digest and `WorkbenchDigestNotTheChannels`
fires while the service still runs the one before (until `workbench deploy`).

The service's desired replicas and the drift reference are read from the swarm as deploy
reads them (the reference of the image the replicas run: the bins they count into).
Where that cannot be done (no swarm here, the service gone), the files stay as they were
and the reason is said: `push.alerts-exist` then fails naming the digest they watch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.releases import load_deployments
from workbench.steps.push.alerting import folder_of
from workbench.steps.push.deploy import channel_image


@dataclass(frozen=True)
class Followed:
    """What became of a moved channel's monitoring files."""

    channel: str
    digest: str  # the digest the channel points at now
    written: list[Path]  # the files rewritten for it; empty: left as they were
    said: str


def follow(manifest: Manifest, channel: str) -> Followed | None:
    """Rewrite the channel's monitoring files for the digest it points at now; None when
    the channel is not deployed to the swarm (no files to follow)."""
    from docker.errors import DockerException  # the SDK only where it is used

    from workbench.steps.push import swarm

    deployed = [d for d in load_deployments(manifest) if d.channel == channel]
    folder = folder_of(manifest, channel)
    if not deployed or deployed[-1].target != "swarm" or not folder.is_dir():
        return None
    where = folder.relative_to(manifest.root).as_posix()
    name = swarm.service_name(manifest, channel)
    version, digest = "the channel's release", "?"
    try:
        version, image = channel_image(manifest, channel)
        digest = image.split("@", 1)[1]
        client = swarm.swarm_client()
        service = swarm.find_service(client, name)
        if service is None:
            raise WorkbenchError(f"the service {name} is gone")
        written = swarm.monitoring_files(
            manifest, client, channel, version, image, swarm._replicas(service), "unchanged"
        )
    except (WorkbenchError, DockerException) as exc:
        text = exc.message if isinstance(exc, WorkbenchError) else str(exc)
        return Followed(
            channel,
            digest,
            [],
            f"{where} was not rewritten for {version} ({digest}): {text.rstrip('.')}; its "
            f"rules still watch the digest before, so push.alerts-exist fails until "
            f"`workbench deploy --channel {channel}`",
        )
    runs = swarm.running_image(service).rsplit("@", 1)[-1]
    after = (
        "the service runs it"
        if runs == digest
        else f"the service still runs {runs[:19]}: WorkbenchDigestNotTheChannels fires "
        f"until `workbench deploy --channel {channel}`"
    )
    return Followed(
        channel, digest, written, f"{where} now watches {version} ({digest[:19]}); {after}"
    )
