"""`workbench build`, `workbench serve [--test]` and `workbench clean` (step 3)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from commands.options import ProjectOption, VerboseOption
from commands.output import Transcript, console, fail

if TYPE_CHECKING:
    from workbench.steps.serve.report import LayerSize, PackageSize

app = typer.Typer()


@app.command("build")
def build(project: ProjectOption = Path("."), verbose: VerboseOption = False) -> None:
    """Build the image from the lock's wheels (no network), with progress."""
    from workbench.kernel.cancel import Cancelled
    from workbench.project.manifest import load_manifest
    from workbench.steps.serve.session import build as build_image

    manifest = load_manifest(project)
    cancel = threading.Event()
    try:
        with Transcript(manifest.root, "build", verbose=verbose) as transcript:
            context, built = build_image(
                manifest, transcript.note, cancel, detail=transcript.detail
            )
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        fail("build cancelled.", code=130)
    console.print(
        f"built {built.tag} ({built.image_id[:19]}) in {built.seconds:.1f} s; "
        f"Dockerfile: {context.dockerfile}"
    )


@app.command("serve")
def serve(
    project: ProjectOption = Path("."),
    test: Annotated[
        bool,
        typer.Option(
            "--test",
            help="Build, run and test the container; record every result in the checklist.",
        ),
    ] = False,
    port: Annotated[
        int | None, typer.Option("--port", help="Host port (default: a free one on 127.0.0.1).")
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Build the image and run it locally (Ctrl-C stops it), or test it with --test."""
    from workbench.kernel.cancel import Cancelled
    from workbench.kernel.docker import docker_client
    from workbench.kernel.http import port_free
    from workbench.project.manifest import load_manifest
    from workbench.steps.serve import run
    from workbench.steps.serve.session import build as build_image

    manifest = load_manifest(project)
    _sigterm_as_interrupt()
    if port is not None and not (0 < port < 65536 and port_free(port)):
        fail(  # said before the build, not after it
            f"port {port} on 127.0.0.1 is not free (or not a port); nothing was built. Fix: "
            "stop what listens there, or choose another port with --port."
        )
    if test:
        _serve_test(project, verbose)
        return
    cancel = threading.Event()
    try:
        with Transcript(manifest.root, "serve", verbose=verbose) as transcript:
            _, built = build_image(manifest, transcript.note, cancel, detail=transcript.detail)
        client = docker_client()
        with (
            console.status("starting the container"),
            run.running(client, built.image_id, manifest, host_port=port) as live,
        ):
            console.print(
                f"[bold green]serving[/] {manifest.name} at [bold]{live.url}[/] "
                f"(ready in {live.ready_seconds:.1f} s). Try:"
            )
            console.print(
                f"  curl -s {live.url}/predict -H 'Content-Type: application/json' "
                f"-d @{manifest.schema.examples}/<example>.json"
            )
            console.print(
                f"  {live.url}/openapi.json  {live.url}/metrics  "
                f"{live.url}/metadata\nCtrl-C stops and removes the container."
            )
            for line in live.container.logs(stream=True, follow=True):
                line_text = escape(line.decode(errors="replace").rstrip())
                console.print(f"  [dim]{line_text}[/]", soft_wrap=True)  # JSON lines whole
    except (KeyboardInterrupt, Cancelled):
        cancel.set()
        console.print("stopped; the container was removed.")


def _sigterm_as_interrupt() -> None:
    """A SIGTERM (a closed terminal, `timeout`, CI) cleans up like Ctrl-C does."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _serve_test(project: Path, verbose: bool) -> None:
    from commands.checklist import load_checklist, run_checks
    from workbench.checklist.checks import CheckContext
    from workbench.checklist.engine import ItemView
    from workbench.checklist.symbols import COLOUR as STYLE
    from workbench.kernel.cancel import SWALLOWED
    from workbench.steps.serve.checks import SERVE_ITEMS
    from workbench.steps.serve.report import built_image

    def started(item_id: str) -> None:
        if item_id == "serve.secrets-free":
            console.print("[bold]·[/] building and testing the image")

    def status_line(item_id: str, view: ItemView) -> list[str]:
        status = view.status.value
        first = view.evidence[0] if view.evidence else ""
        lines = [f"[{STYLE[status]}]{status:7}[/] {item_id}: {escape(first)}"]
        image = built_image(view.result) if item_id == "serve.image-built" else None
        if image is not None and image.packages:  # the size report, read from the image
            lines.append("        largest packages: " + escape(_listed(image.packages)))
        if image is not None and image.layers:
            lines.append("        largest layers: " + escape(_listed(image.layers)))
        return lines

    checklist = load_checklist(project)
    ids = ["serve.base-image", "serve.gpu-image", *SERVE_ITEMS]
    transcript = Transcript(checklist.manifest.root, "serve-test", verbose=verbose)
    ctx = CheckContext(checklist.manifest, log=transcript.note, detail=transcript.detail)
    try:
        with transcript:
            run_checks(checklist, ids, ctx, show=status_line, started=started)
            if SWALLOWED.is_set():  # a Ctrl-C that landed in a finalizer: still a Ctrl-C
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        ctx.cancel.set()
        fail("cancelled; the container was removed and finished results are saved.", code=130)
    if checklist.blockers(("serve",)):
        blocked = [v.item.id for v in checklist.blockers(("serve",)) if v.item.is_auto]
        if blocked:
            fail(
                "the serve test failed: " + ", ".join(blocked) + " (details: "
                f"`workbench check --no-run -s serve`; the whole output: {transcript.path})."
            )


def _listed(sizes: Sequence[PackageSize | LayerSize]) -> str:
    return ", ".join(size.describe() for size in sizes)


@app.command("clean")
def clean(
    project: ProjectOption = Path("."),
    all_projects: Annotated[
        bool,
        typer.Option(
            "--all-projects",
            help="Remove every workbench container on the engine, other projects' included.",
        ),
    ] = False,
) -> None:
    """Remove the containers the workbench started for this project (by label), running
    or not; other projects' containers on the same engine are left alone."""
    from workbench.kernel.docker import docker_client
    from workbench.project.manifest import project_id, project_root
    from workbench.steps.serve.run import clean as clean_containers

    whose = "every project's" if all_projects else f"{project_root(project)}'s"
    cleaned = clean_containers(docker_client(), None if all_projects else project_id(project))
    console.print(
        f"removed {len(cleaned.removed)} of {whose} container(s)"
        + (": " + ", ".join(cleaned.removed) if cleaned.removed else "")
    )
    if cleaned.others:
        console.print(
            f"left {cleaned.others} workbench container(s) of other projects alone "
            "(--all-projects removes them too)."
        )
