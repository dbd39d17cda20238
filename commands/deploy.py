"""`workbench deploy`: a channel's digest onto a cluster engine (Docker Swarm), or into
Kubernetes (and KServe) files pinned by digest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from commands.options import ProjectOption, UnverifiedOption
from commands.output import console, fail

app = typer.Typer()


def deploy_swarm(
    manifest: Any,
    channel: str,
    *,
    replicas: int | None,
    endpoint: str = "dnsrr",
    publish: int | None = None,
    unverified_reason: str | None = None,
) -> None:
    from workbench.checklist.engine import current_user
    from workbench.steps.push import swarm

    if replicas is None:  # as many as it runs now
        client = swarm.swarm_client()
        service = swarm.find_service(client, swarm.service_name(manifest, channel))
        replicas = swarm._replicas(service) if service is not None else 2
    result = swarm.deploy(
        manifest,
        channel,
        replicas=replicas,
        by=current_user(manifest.root),
        endpoint=endpoint,
        publish=publish,
        log=lambda line: console.print(f"  {escape(line)}"),
        unverified_reason=unverified_reason,
    )
    colour = {"created": "green", "updated": "green", "scaled": "green", "unchanged": "green"}.get(
        result.result, "red"
    )
    console.print(
        f"[{colour}]{result.result}[/]: {result.service} runs "
        + (
            f"{result.version} "
            if result.result in ("created", "updated", "scaled", "unchanged")
            else ""
        )
        + f"({escape(result.message)}; {result.seconds:.0f} s)"
    )
    if result.result not in ("created", "updated", "scaled", "unchanged"):
        raise typer.Exit(1)


@app.command("deploy")
def deploy(
    channel: Annotated[str, typer.Option("--channel", "-c", help="the channel to deploy")],
    target: Annotated[str, typer.Option("--target", help="swarm or kubernetes")] = "swarm",
    replicas: Annotated[int, typer.Option("--replicas", min=1, help="instances")] = 2,
    out: Annotated[
        Path | None, typer.Option("--out", help="kubernetes: where the files go (in the project)")
    ] = None,
    kserve: Annotated[
        bool, typer.Option("--kserve", help="kubernetes: also a KServe InferenceService")
    ] = False,
    endpoint: Annotated[
        str, typer.Option("--endpoint", help="swarm: dnsrr (default) or vip (routing mesh)")
    ] = "dnsrr",
    publish: Annotated[
        int | None, typer.Option("--publish", help="swarm: a port published on each node")
    ] = None,
    unverified_reason: UnverifiedOption = None,
    project: ProjectOption = Path("."),
) -> None:
    """Deploy the digest a channel points at: a Docker Swarm service with rolling updates
    that roll back by themselves, or Kubernetes (and KServe) files pinned by digest."""
    from workbench.project.manifest import load_manifest

    manifest = load_manifest(project)
    if target not in ("swarm", "kubernetes"):
        fail(f"--target {target}: expected swarm or kubernetes.")
    if endpoint not in ("dnsrr", "vip"):
        fail(f"--endpoint {endpoint}: expected dnsrr or vip.")
    if target == "swarm":
        deploy_swarm(
            manifest,
            channel,
            replicas=replicas,
            endpoint=endpoint,
            publish=publish,
            unverified_reason=unverified_reason,
        )
        return
    from workbench.checklist.engine import current_user
    from workbench.steps.push import deploy as kubernetes

    folder = out or Path("deploy") / "kubernetes" / channel
    folder = folder if folder.is_absolute() else manifest.root / folder
    written, applied = kubernetes.deploy(
        manifest,
        channel,
        folder,
        replicas=replicas,
        kserve=kserve,
        by=current_user(manifest.root),
        unverified_reason=unverified_reason,
    )
    for path in written:
        console.print(f"wrote {path.relative_to(manifest.root)}")
    console.print(applied)
