"""`workbench replay`: production's logged requests sent to a candidate release, run
locally as the serve test runs it; agreement per field and overall, latency, every error;
recorded for the `push.replay` item (and shown by `promote`)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.markup import escape

from commands.options import ProjectOption
from commands.output import console, fail

app = typer.Typer()


@app.command("replay")
def replay(
    channel: Annotated[
        str, typer.Option("--channel", "-c", help="The channel whose traffic is replayed.")
    ] = "production",
    candidate: Annotated[
        str | None,
        typer.Option("--candidate", help="The release to replay against (default: the latest)."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many logged requests (a sample).")
    ] = 200,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A file of the deployment's log lines (JSON lines) instead of the swarm."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The replay as JSON.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Send production's logged requests (prediction logging on: `monitoring.log_predictions`)
    to the candidate's image run locally, hardened, and compare its answers with production's:
    agreement per field and overall, latency against production's, every error. Exit 1 when
    the agreement is under `monitoring.replay_min_agreement`."""
    from workbench.kernel.cancel import Cancelled
    from workbench.kernel.errors import WorkbenchError
    from workbench.project.manifest import load_manifest
    from workbench.project.releases import latest_release, load_release
    from workbench.steps.push.replay import judge, summary
    from workbench.steps.push.replaying import replay_candidate

    manifest = load_manifest(project)
    if candidate is None:
        latest = latest_release(manifest)
        if latest is None:
            raise WorkbenchError("there is no release to replay.", fix="tag one (`workbench tag`).")
        candidate = str(latest[0])
    created = load_release(manifest, candidate).created
    cancel = threading.Event()
    try:
        report = replay_candidate(
            manifest,
            channel,
            candidate,
            limit=limit,
            source=source,
            cancel=cancel,
            log=lambda line: None if as_json else console.print(escape(line)),
        )
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        fail("replay interrupted; nothing was recorded (the container is removed).", code=130)
    verdict, lines = judge(report, candidate, created, manifest.monitoring.replay_min_agreement)
    if as_json:
        document = msgspec.to_builtins(report)
        console.print_json(json.dumps({**document, "verdict": verdict}))
    else:
        for line in lines if verdict != "stale" else summary(report):
            console.print(escape(line))
    _record(manifest, quiet=as_json)
    if verdict == "fail":
        raise typer.Exit(1)


def _record(manifest: Any, quiet: bool) -> None:
    """`push.replay` checked again, so the checklist holds this replay's verdict."""
    from commands.checklist import load_checklist, run_and_print

    checklist = load_checklist(manifest.root)
    if quiet:
        from workbench.checklist.checks import CheckContext

        list(checklist.run(["push.replay"], CheckContext(manifest)))
    else:
        run_and_print(checklist, ["push.replay"], "checking the replay")


def show_replay(manifest: Any, version: str, channel: str) -> None:
    """What the last replay of `channel` said of `version` (`promote` shows it before it
    moves the channel); said when there is none."""
    from workbench.project.releases import load_deployments, load_release
    from workbench.steps.push.replay import judge, load

    report = load(manifest, channel)
    deployed = any(d.channel == channel for d in load_deployments(manifest))
    if report is None and not deployed:  # no swarm to read: only a log file can be replayed
        console.print(
            f"[yellow]not replayed[/]: {escape(version)} was never replayed against "
            f"{escape(channel)}'s traffic, and the workbench deployed no {escape(channel)} "
            "service to read it from (a file of its log lines: `workbench replay --from "
            f"FILE --channel {escape(channel)} --candidate {escape(version)}`)"
        )
        return
    if report is None:
        console.print(
            f"[yellow]not replayed[/]: {escape(version)} was never replayed against "
            f"{escape(channel)}'s traffic (`workbench replay --channel {escape(channel)} "
            f"--candidate {escape(version)}`)"
        )
        return
    created = load_release(manifest, version).created
    verdict, lines = judge(report, version, created, manifest.monitoring.replay_min_agreement)
    colour = {"pass": "green", "warn": "yellow", "fail": "red", "stale": "yellow"}[verdict]
    console.print(f"[{colour}]replay: {verdict}[/]")
    for line in lines:
        console.print(escape(line))
