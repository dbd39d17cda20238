"""`workbench tag | push | promote | rollback | releases`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from commands.options import PairOption, ProjectOption, VerboseOption
from commands.output import Transcript, console, fail
from commands.tui import parse_pair

app = typer.Typer()


@app.command("tag")
def tag(
    version: Annotated[
        str | None, typer.Argument(help="The version (default: the suggested one).")
    ] = None,
    project: ProjectOption = Path("."),
    pair: PairOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the suggestion.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Release: suggest the semver bump, check the gates, write the manifest, tag git and image."""
    from commands.checklist import run_and_print
    from workbench.project.manifest import load_manifest
    from workbench.steps import open_checklist
    from workbench.steps.tag.preview import preview
    from workbench.steps.tag.release import create_release, suggest

    manifest = load_manifest(project)
    suggestion = suggest(manifest)
    console.print(
        f"last release: {suggestion.previous or 'none'}; suggested "
        f"[bold]{suggestion.version}[/] ({suggestion.level}: {escape(suggestion.reason)})"
    )
    for change in suggestion.changes:
        console.print(
            f"  [dim]{change.kind}: {change.where} {escape(change.path)}: {escape(change.what)}[/]"
        )
    checklist = open_checklist(manifest, pair=parse_pair(pair))
    if dry_run:
        seen = preview(checklist)
        if seen.refused:
            console.print("[bold red]the tag would be refused[/]; these gate items block it:")
            for line in seen.blocking:
                console.print(f"  [red]✘[/] {escape(line)}")
        else:
            console.print(
                "no gate of Snapshot, Schema and Serve blocks now: `workbench tag` would build "
                "the release candidate image and test it, and release it only if it passes"
            )
        if seen.waived:
            console.print("waived (each waiver goes into the release manifest):")
            for line in seen.waived:
                console.print(f"  [yellow]~[/] {escape(line)}")
        console.print("not known until the candidate image is tested:")
        for line in seen.unknown:
            console.print(f"  [cyan]?[/] {escape(line)}")
        if seen.refused:
            raise typer.Exit(1)
        return
    with Transcript(manifest.root, "tag", verbose=verbose) as transcript:
        release = create_release(checklist, version, log=transcript.note, detail=transcript.detail)
    console.print(
        f"released [bold]{release.version}[/]: {release.path.name}, git tag "
        f"{release.tag}, image {release.image_ref} = the tested image {release.image_id[:19]}"
    )
    run_and_print(checklist, checklist.auto_ids("tag"), "checking the release")


@app.command("push")
def push(
    version: Annotated[
        str | None, typer.Argument(help="The release (default: the latest).")
    ] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Push a release to the registry with per-layer progress, then verify its digest."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

    from workbench.kernel.cancel import Cancelled
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.publish import LayerProgress, Pushed, push_release

    manifest = load_manifest(project)
    cancel = threading.Event()
    tasks: dict[str, TaskID] = {}
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            console=console,
            transient=False,
        ) as progress:
            for event in push_release(manifest, version, cancel=cancel):
                if isinstance(event, LayerProgress):
                    if event.layer not in tasks:
                        tasks[event.layer] = progress.add_task(event.layer, total=None)
                    progress.update(
                        tasks[event.layer],
                        description=f"{event.layer} {event.status}",
                        completed=event.current or None,
                        total=event.total or None,
                    )
                elif isinstance(event, Pushed):
                    word = "was already" if event.already else "pushed and"
                    console.print(f"{event.version} {word} verified: {event.digest}")
        from commands.checklist import load_checklist, run_and_print

        checklist = load_checklist(manifest.root)
        run_and_print(checklist, checklist.auto_ids("push"), "checking the push")
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        fail(
            "push interrupted; the release stays marked not pushed. Run `workbench push` "
            "again to complete it.",
            code=130,
        )


@app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="The pushed release to point the channel at.")],
    channel: Annotated[str, typer.Option("--channel", "-c", help="e.g. production")],
    project: ProjectOption = Path("."),
) -> None:
    """Point a channel tag at a release's digest in the registry (history kept)."""
    from workbench.checklist.engine import current_user
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.publish import promote as promote_release

    manifest = load_manifest(project)
    digest = promote_release(manifest, version, channel, current_user(manifest.root))
    console.print(f"{channel} -> {version} ({digest})")


@app.command("rollback")
def rollback(
    channel: Annotated[str, typer.Option("--channel", "-c", help="e.g. production")],
    project: ProjectOption = Path("."),
) -> None:
    """Move a channel back to the version it held before."""
    from workbench.checklist.engine import current_user
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.publish import rollback as rollback_channel

    manifest = load_manifest(project)
    version, digest = rollback_channel(manifest, channel, current_user(manifest.root))
    console.print(f"{channel} rolled back to {version} ({digest})")
    from workbench.project.releases import load_deployments

    deployed = [d for d in load_deployments(manifest) if d.channel == channel]
    if deployed and deployed[-1].target == "swarm":
        console.print(f"the channel's swarm service follows: deploying {version}")
        _deploy_swarm(manifest, channel, replicas=None)


def _deploy_swarm(
    manifest: Any,
    channel: str,
    *,
    replicas: int | None,
    endpoint: str = "dnsrr",
    publish: int | None = None,
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
    )
    colour = {"created": "green", "updated": "green", "unchanged": "green"}.get(
        result.result, "red"
    )
    console.print(
        f"[{colour}]{result.result}[/]: {result.service} runs "
        + (f"{result.version} " if result.result in ("created", "updated", "unchanged") else "")
        + f"({escape(result.message)}; {result.seconds:.0f} s)"
    )
    if result.result not in ("created", "updated", "unchanged"):
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
        _deploy_swarm(manifest, channel, replicas=replicas, endpoint=endpoint, publish=publish)
        return
    from workbench.checklist.engine import current_user
    from workbench.steps.push import deploy as kubernetes

    folder = out or Path("deploy") / "kubernetes" / channel
    folder = folder if folder.is_absolute() else manifest.root / folder
    written, applied = kubernetes.deploy(
        manifest, channel, folder, replicas=replicas, kserve=kserve, by=current_user(manifest.root)
    )
    for path in written:
        console.print(f"wrote {path.relative_to(manifest.root)}")
    console.print(applied)


@app.command("releases")
def list_releases(project: ProjectOption = Path(".")) -> None:
    """Every release and where it stands: its quality on held-out data, tagged, pushed,
    digest, channels (roll back to the better model: `workbench rollback`)."""
    from rich.table import Table

    from workbench.project.manifest import load_manifest
    from workbench.steps.push.publish import release_table

    rows = release_table(load_manifest(project))
    if not rows:
        console.print("no release yet (`workbench tag`).")
        return
    table = Table(title="releases", title_justify="left")
    for column in ("version", "quality", "tagged", "pushed", "digest", "channels", "created"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["version"],
            row["quality"] or "-",
            "yes" if row["tagged"] else "no",
            "yes" if row["pushed"] else "[yellow]no[/]",
            row["digest"] or "",
            ", ".join(row["channels"]),
            row["created"] or "",
        )
    console.print(table)
