"""`workbench snapshot` and `workbench snapshot diff`."""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from commands.options import ProjectOption, VerboseOption
from commands.output import Transcript, console, fail

app = typer.Typer()
snapshot_app = typer.Typer(help="Capture the model's environment: exact, minimal, hash-pinned.")
app.add_typer(snapshot_app, name="snapshot")


class Machine(StrEnum):
    x86_64 = "x86_64"
    aarch64 = "aarch64"


@snapshot_app.callback(invoke_without_command=True)
def snapshot(
    ctx: typer.Context,
    project: ProjectOption = Path("."),
    machine: Annotated[Machine, typer.Option("--machine", help="Target machine.")] = Machine.x86_64,
    offline: Annotated[bool, typer.Option("--offline", help="Use only the wheel cache.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Snapshot the environment: runtime set, environment.lock (hashes), snapshot.yaml."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from workbench.kernel.cancel import Cancelled
    from workbench.project.manifest import load_manifest
    from workbench.steps.snapshot.take import (
        Detail,
        Log,
        SnapshotResult,
        Stage,
        take_snapshot,
    )

    manifest = load_manifest(project)
    cancel = threading.Event()
    result: SnapshotResult | None = None
    transcript = Transcript(manifest.root, "snapshot", verbose=verbose)
    try:
        with transcript, console.status("snapshot", spinner="dots") as status:
            for event in take_snapshot(
                manifest, machine=machine.value, cancel=cancel, offline=offline
            ):
                if isinstance(event, Stage):
                    status.update(escape(event.text))
                    console.print(f"[bold]·[/] {escape(event.text)}")
                    transcript.handle.write(f"· {event.text}\n")
                elif isinstance(event, Log):
                    transcript.note(event.text)
                elif isinstance(event, Detail):
                    transcript.detail(event.text)
                elif isinstance(event, SnapshotResult):
                    result = event
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        fail("cancelled; nothing was written.", code=130)
    assert result is not None
    table = Table(
        title=f"runtime set: {len(result.runtime)} of {result.freeze_count} "
        f"distributions, plus {len(result.serving)} for the serving runtime",
        title_justify="left",
    )
    table.add_column("package")
    table.add_column("version")
    table.add_column("why")
    for entry in result.entries:
        table.add_row(entry.name, entry.version, escape("; ".join(entry.why)))
    console.print(table)
    for warning in result.warnings:
        console.print(f"[yellow]warning while loading the model:[/] {escape(warning)}")
    for problem in result.inconsistent:
        console.print(f"[red]inconsistent:[/] {escape(problem)}")
    console.print(f"wrote {result.lock_path.name} and {result.snapshot_path.name}")
    from commands.checklist import load_checklist, run_and_print
    from workbench.checklist.checks import CheckContext

    checklist = load_checklist(manifest.root)
    ctx_read = result.seeded(CheckContext(manifest))  # what the snapshot read: not read twice
    run_and_print(
        checklist, checklist.auto_ids("snapshot"), "checking the snapshot's items", ctx_read
    )
    manual = [
        v.item.id
        for v in checklist.views("snapshot")
        if not v.item.is_auto and v.item.gate and v.status.value == "pending"
    ]
    for item_id in manual:
        console.print(
            f"[yellow]to answer:[/] {item_id}: {escape(checklist.item(item_id).question)} "
            f"(`workbench tick {item_id} yes -m 'what you looked at'`)"
        )


@snapshot_app.command("diff")
def diff(
    old: Annotated[
        Path | None,
        typer.Argument(
            help="An older lock file, or a released version (default: the last release made "
            "from another lock: what the latest release changed when the lock is its own)."
        ),
    ] = None,
    project: ProjectOption = Path("."),
) -> None:
    """What was added, removed or changed against the last release's lock (or OLD)."""
    from rich.table import Table

    from workbench.project.lockfile import LOCK_NAME, diff_locks, read_lock
    from workbench.project.manifest import load_manifest
    from workbench.steps.snapshot.drift import baseline_lock

    manifest = load_manifest(project)
    current = read_lock(manifest.root / LOCK_NAME)
    label, before = baseline_lock(manifest, old)
    if before is None:
        console.print(f"no earlier lock to compare with ({label}).")
        return
    changes = diff_locks(before, current)
    if not changes:
        console.print(f"no change against {label}.")
        return
    table = Table(title=f"environment.lock against {label}", title_justify="left")
    for column in ("package", "change", "before", "now"):
        table.add_column(column)
    colour = {"added": "green", "removed": "red", "changed": "yellow", "rehashed": "magenta"}
    for change in changes:
        table.add_row(
            change.name,
            f"[{colour[change.kind]}]{change.kind}[/]",
            change.old or "",
            change.new or "",
        )
    console.print(table)
