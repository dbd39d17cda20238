"""`workbench tag`: suggest the version, check the gates, release (step 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from commands.options import PairOption, ProjectOption, VerboseOption
from commands.output import Transcript, console
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
    from workbench.steps import gatekeeper, open_checklist
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
        seen = preview(gatekeeper(checklist))
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
        release = create_release(
            gatekeeper(checklist),
            version,
            suggestion=suggestion,  # the one shown above: worked out once per tag
            log=transcript.note,
            detail=transcript.detail,
        )
    console.print(
        f"released [bold]{release.version}[/]: {release.path.name}, git tag "
        f"{release.tag}, image {release.image_ref} = the tested image {release.image_id[:19]}"
    )
    run_and_print(checklist, checklist.auto_ids("tag"), "checking the release")
