"""`workbench push | promote | rollback`: the registry and its channels (step 5)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from commands.keys import verified_note
from commands.options import ProjectOption, UnverifiedOption
from commands.output import console, fail
from commands.replay import show_replay

if TYPE_CHECKING:
    from workbench.checklist.checks import CheckResult
    from workbench.project.manifest import Manifest

app = typer.Typer()


@app.command("push")
def push(
    version: Annotated[
        str | None, typer.Argument(help="The release (default: the latest).")
    ] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Push a release to the registry with per-layer progress, then verify its digest."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

    from commands.keys import read_passphrase
    from workbench.kernel.cancel import Cancelled
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.keys import MAKE_ONE
    from workbench.steps.push.publish import LayerProgress, Pushed, push_release
    from workbench.steps.push.signing import key_to_sign_with

    manifest = load_manifest(project)
    passphrase = read_passphrase(confirm=False) if key_to_sign_with(manifest) else None
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
            for event in push_release(manifest, version, cancel=cancel, passphrase=passphrase):
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
                    console.print(
                        f"signed (sigstore): the registry holds its signature {event.signature}"
                        if event.signature
                        else f"[yellow]not signed[/]: no signing key of yours for this "
                        f"project; {MAKE_ONE}, then `workbench push` signs it."
                    )
                    if event.attestations and event.attached_by == "referrers":
                        console.print(
                            f"attested (SBOM, provenance) through the {event.attached_why}: "
                            f"artifacts referring to {event.digest}, the attestations "
                            f"{event.attestations}; the signature also under its .sig tag, "
                            "where skopeo reads it"
                        )
                    elif event.attestations:
                        attached = event.digest.replace(":", "-", 1)
                        console.print(
                            f"attested (SBOM, provenance): {attached}.att is "
                            f"{event.attestations}, the SBOM also at {attached}.sbom; "
                            f"{event.attached_why or 'fallback tags'}"
                        )
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
    unverified_reason: UnverifiedOption = None,
    project: ProjectOption = Path("."),
) -> None:
    """Point a channel tag at a release's digest in the registry (history kept), once the
    release verifies (`workbench verify`)."""
    from workbench.checklist.engine import current_user
    from workbench.project.manifest import load_manifest
    from workbench.steps.push.publish import promote as promote_release
    from workbench.steps.push.replay import require_replay

    manifest = load_manifest(project)
    show_replay(manifest, version, channel)  # what the traffic replay said (push.replay)
    require_replay(manifest, version, channel)  # the team's gate, before any rehearsal
    rehearsed = rehearse_way_back(manifest, channel, version)
    digest = promote_release(
        manifest, version, channel, current_user(manifest.root), unverified_reason
    )
    console.print(f"{channel} -> {version} ({digest}); {verified_note(manifest, channel)}")
    record_rehearsal(manifest, rehearsed)
    say_followed(manifest, channel)


def rehearse_way_back(manifest: Manifest, channel: str, version: str) -> CheckResult | None:
    """Before the promote: the version a rollback would then return to, pulled by digest,
    started and asked once (`push.rollback-rehearsed`); None, said, with no engine here
    (a promote needs only the registry)."""
    from workbench.kernel.errors import UnavailableError
    from workbench.steps.push.rehearsal import rehearse_all

    try:
        with console.status(f"rehearsing the way back of {channel}", spinner="dots"):
            return rehearse_all(manifest, (channel, version))
    except UnavailableError as exc:
        console.print(f"[yellow]way back not rehearsed[/]: {escape(exc.message)}")
        return None


def record_rehearsal(manifest: Manifest, result: CheckResult | None) -> None:
    """After the promote: the rehearsal is the item's result (stamped with the channel as it
    now is), and said. A way back that fails does not stop a promote (the current version
    may be what is being fixed): it is said in red and fails the item."""
    from commands.checklist import load_checklist
    from workbench.steps.push.rehearsal import ITEM

    if result is None:
        return
    (view,) = load_checklist(manifest.root).record({ITEM: result})
    colour = {"pass": "green", "fail": "red"}.get(view.status.value, "yellow")
    for line in result.evidence:
        console.print(f"[{colour}]way back {view.status.value}[/]: {escape(line)}")


def say_followed(manifest: Manifest, channel: str) -> None:
    """A deployed channel's monitoring files follow its move (`push.alerts-exist`)."""
    from workbench.steps.push.follow import follow

    followed = follow(manifest, channel)
    if followed is not None:
        colour = "green" if followed.written else "yellow"
        console.print(f"[{colour}]monitoring[/]: {escape(followed.said)}")


@app.command("rollback")
def rollback(
    channel: Annotated[str, typer.Option("--channel", "-c", help="e.g. production")],
    unverified_reason: UnverifiedOption = None,
    project: ProjectOption = Path("."),
) -> None:
    """Move a channel back to the version it held before, once that release verifies."""
    from workbench.checklist.engine import current_user
    from workbench.project.manifest import load_manifest
    from workbench.project.releases import load_channels
    from workbench.steps.push.publish import rollback as rollback_channel
    from workbench.steps.push.publish import rollback_target

    manifest = load_manifest(project)
    entry = load_channels(manifest).get(channel)
    before, back = (entry.current, rollback_target(entry)) if entry else (None, None)
    broken = contract_broken(manifest, before, back) if before and back else []  # read first
    version, digest = rollback_channel(
        manifest, channel, current_user(manifest.root), unverified_reason
    )
    console.print(
        f"{channel} rolled back to {version} ({digest}); {verified_note(manifest, channel)}"
    )
    if broken and version == back:
        more = f" and {len(broken) - 4} more" if len(broken) > 4 else ""
        console.print(
            f"[yellow]warning[/]: callers of {escape(str(before))} may be refused or misread "
            f"by {escape(version)}, whose contract differs: "
            + escape("; ".join(broken[:4]))
            + f"{more}. Tell them, or promote a release that keeps the contract."
        )
    say_followed(manifest, channel)
    from workbench.project.releases import load_deployments

    deployed = [d for d in load_deployments(manifest) if d.channel == channel]
    if deployed and deployed[-1].target == "swarm":
        console.print(f"the channel's swarm service follows: deploying {version}")
        from commands.deploy import deploy_swarm

        deploy_swarm(manifest, channel, replicas=None, unverified_reason=unverified_reason)


def contract_broken(manifest: Manifest, before: str, after: str) -> list[str]:
    """The changes breaking for callers of `before` once the channel serves `after` (both
    schemas at their tags): a field `after` refuses, an answer field it lacks."""
    from workbench.kernel.yamlio import parse_yaml, to_plain
    from workbench.project.releases import file_at_release
    from workbench.steps.schema.diff import Where, diff_schemas

    found: list[str] = []
    sides: tuple[tuple[Where, str], ...] = (
        ("request", manifest.schema.request),
        ("response", manifest.schema.response),
    )
    for where, relative in sides:
        try:  # a warning only: nothing here may stop a rollback
            was, now = (file_at_release(manifest, v, relative) for v in (before, after))
            if was is None or now is None:
                continue
            old = to_plain(parse_yaml(was, source=f"{before}:{relative}"))
            new = to_plain(parse_yaml(now, source=f"{after}:{relative}"))
            changes = diff_schemas(old, new, where)
        except Exception:
            continue
        found += [f"{c.where} {c.path}: {c.what}" for c in changes if c.kind == "breaking"]
    return found
