"""`workbench check | tick | confirm | waive | signoff | report`: the checklist from the shell."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from workbench.checklist.checks import CheckContext
    from workbench.checklist.engine import Checklist, ItemView
    from workbench.checklist.standing import Standing

from commands.options import PairOption, ProjectOption, VerboseOption
from commands.output import Transcript, console, fail, fits_terminal
from commands.tui import parse_pair
from workbench.checklist.symbols import COLOUR as STYLE
from workbench.checklist.symbols import ICON

app = typer.Typer()


class Step(StrEnum):
    snapshot = "snapshot"
    schema = "schema"
    serve = "serve"
    tag = "tag"
    push = "push"


class Answer(StrEnum):
    yes = "yes"
    no = "no"
    na = "n/a"


class Format(StrEnum):
    md = "md"
    html = "html"
    json = "json"


def load_checklist(project: Path, pair: str | None = None) -> Checklist:
    from workbench.project.manifest import load_manifest
    from workbench.steps import open_checklist
    from workbench.steps.tag.recovery import recover_release

    manifest = load_manifest(project)
    recovered = recover_release(manifest)  # a release a killed `tag` left half made
    if recovered:
        console.print(f"[yellow]{escape(recovered)}[/]")
    return open_checklist(manifest, pair=parse_pair(pair))


def print_checklist(checklist: Checklist, step: str | None = None) -> None:
    for summary in checklist.summaries():
        if step and summary.step != step:
            continue
        table = Table(
            title=f"{summary.title}  {int(summary.fraction * 100 + 1e-9)}%  "
            f"({summary.score:g} of {summary.max_score})",
            title_justify="left",
            expand=fits_terminal(),
            show_lines=False,
        )
        table.add_column("", width=1)
        table.add_column("item", ratio=3)
        table.add_column("status", width=8)
        table.add_column("evidence", ratio=4)
        for view in checklist.views(summary.step):
            status = view.shown
            gate = " [bold](gate)[/]" if view.item.gate else ""
            evidence = "; ".join(view.evidence[:3])
            if view.waiver:
                evidence = (
                    f"[yellow]waived by {escape(view.waiver.by)}: "
                    f"{escape(view.waiver.reason)}[/] "
                    f"[dim](the {'check' if view.item.is_auto else 'answer'}: "
                    f"{view.status.value})[/] " + escape(evidence)
                )
            else:
                evidence = escape(evidence)
            table.add_row(
                f"[{STYLE[status]}]{ICON[status]}[/]",
                f"{escape(view.item.id)}{gate}\n[dim]{escape(view.item.summary)}[/]",
                f"[{STYLE[status]}]{status}[/]",
                evidence + (f"\n[dim]{escape(view.remark)}[/]" if view.remark else ""),
            )
        console.print(table)
    for line in outlook_lines(checklist.standing()):
        console.print(line)


READINESS_COUNTS = (
    "the lowest step's share of its maximum: 1 per check the tool verified, 0.5 per warning "
    "or per answer by a person with a note, 0 for what is not run, not answered or failing"
)


def outlook_lines(standing: Standing) -> list[str]:
    """Where the project stands, in the words the TUI's home uses: a finished release said
    plainly, readiness with what limits it and what it counts, and the next move (which
    agrees with that limit), or that nothing is left."""
    lines = [f"[bold green]{escape(standing.headline)}[/]"] if standing.headline else []
    lines.append(f"Readiness [bold]{escape(standing.readiness_said)}[/] ({READINESS_COUNTS}).")
    move = standing.move
    lines.append("Next: " + ("nothing left." if move.action == "none" else escape(move.line)))
    return lines


EVIDENCE_WIDTH = 110
FAILED_LINES = 4  # evidence lines a failed item shows: its cause, not only its heading


def _clip(line: str) -> str:
    """A line cut to fit a terminal's eye; whole where the output is read by a program or
    kept (a pipe, a file, CI): the README promises lines stay whole there."""
    if not console.is_terminal or len(line) <= EVIDENCE_WIDTH:
        return line
    return line[: EVIDENCE_WIDTH - 1] + "…"


def first_evidence(item_id: str, view: ItemView) -> list[str]:
    """An item as one line: icon, status, id and the first line of its evidence; a failed
    item also shows the next lines of its evidence (what failed), and how many are left."""
    s = view.shown
    first = view.evidence[0] if view.evidence else ""
    lines = [f"[{STYLE[s]}]{ICON[s]} {s:7}[/] {item_id}: {escape(_clip(first))}"]
    if s == "fail":
        more = view.evidence[1:FAILED_LINES]
        lines += [f"      {escape(_clip(line))}" for line in more]
        left = len(view.evidence) - 1 - len(more)
        if left > 0:
            lines.append(f"      … {left} more (all in `workbench report -f json`)")
    return lines


def run_checks(
    checklist: Checklist,
    ids: list[str],
    ctx: CheckContext | None = None,
    *,
    show: Callable[[str, ItemView], list[str]] | None = first_evidence,
    started: Callable[[str], object] | None = None,
) -> list[ItemView]:
    """Run `ids` and print each item as it finishes (`show` makes its lines; None prints
    nothing); `started` hears each item as it starts. Every command that runs checks runs
    them here. Returns the finished items."""
    from workbench.checklist.checks import CheckContext
    from workbench.checklist.engine import ItemFinished, ItemStarted, RunCancelled

    finished: list[ItemView] = []
    for event in checklist.run(ids, ctx or CheckContext(checklist.manifest)):
        if isinstance(event, ItemStarted) and started is not None:
            started(event.item_id)
        elif isinstance(event, ItemFinished):
            finished.append(event.view)
            for line in show(event.item_id, event.view) if show else []:
                console.print(line)
        elif isinstance(event, RunCancelled):
            console.print("cancelled")
    return finished


def run_and_print(
    checklist: Checklist, ids: list[str], heading: str, ctx: CheckContext | None = None
) -> None:
    """Run `ids` and print one line per item (the commands that change a step re-check it)."""
    if not ids:
        return
    console.print(f"[bold]·[/] {heading}")
    run_checks(checklist, ids, ctx)


def _stale_said(item_id: str, view: ItemView) -> list[str]:
    s = view.shown
    said = f": {escape(view.remark)}" if s == "stale" else ""
    return [f"[{STYLE[s]}]{ICON[s]} {s:7}[/] {item_id}{said}"]


@app.command("check")
def check(
    project: ProjectOption = Path("."),
    step: Annotated[Step | None, typer.Option("--step", "-s", help="Only this step.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    run: Annotated[bool, typer.Option("--run/--no-run", help="Run the auto checks first.")] = True,
    verbose: VerboseOption = False,
) -> None:
    """Run the auto checks and print the checklist; exit 1 when a gate item blocks (for CI)."""
    from workbench.checklist import report
    from workbench.checklist.checks import CheckContext

    checklist = load_checklist(project)
    step_name = step.value if step else None
    if run:
        transcript = Transcript(checklist.manifest.root, "check", verbose=verbose, quiet=as_json)
        ctx = CheckContext(checklist.manifest, log=transcript.note, detail=transcript.detail)
        try:
            with transcript, console.status("running checks", spinner="dots") as status:
                run_checks(
                    checklist,
                    checklist.auto_ids(step_name),
                    ctx,
                    show=None if as_json else _stale_said,
                    started=lambda item_id: status.update(f"running {item_id}"),
                )
        except KeyboardInterrupt:
            fail("cancelled; the results of the checks that finished are saved.", code=130)
    if as_json:
        data = report.build(checklist)
        if step_name:
            data["items"] = [i for i in data["items"] if i["step"] == step_name]
            data["steps"] = [s for s in data["steps"] if s["step"] == step_name]
        console.print_json(json.dumps(data))
    else:
        print_checklist(checklist, step_name)
    steps = (step_name,) if step_name else tuple(s.value for s in Step)
    if checklist.blockers(steps):
        raise typer.Exit(1)


@app.command("tick")
def tick(
    item: Annotated[
        str, typer.Argument(help="The manual item's id, e.g. schema.descriptions-complete")
    ],
    answer: Annotated[Answer, typer.Argument(help="yes, no or n/a")],
    note: Annotated[
        str | None, typer.Option("--note", "-m", help="Evidence: what you looked at.")
    ] = None,
    project: ProjectOption = Path("."),
    pair: PairOption = None,
) -> None:
    """Answer a manual checklist item (a tick with a note scores 0.5)."""
    checklist = load_checklist(project, pair)
    view = checklist.tick(item, answer.value, note)
    console.print(f"{item}: {view.status.value} ({escape(view.remark)})")


@app.command("confirm")
def confirm(
    item: Annotated[str, typer.Argument(help="The gate item the driver ticked.")],
    by: Annotated[str, typer.Option("--by", help="The navigator's name.")],
    project: ProjectOption = Path("."),
) -> None:
    """Pair mode: the navigator confirms the driver's tick of a gate item."""
    view = load_checklist(project).confirm(item, by)
    console.print(f"{item}: {view.status.value} ({escape(view.remark)})")


@app.command("waive")
def waive(
    item: Annotated[str, typer.Argument(help="The item to waive.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why it is safe to go on.")],
    project: ProjectOption = Path("."),
    remove: Annotated[bool, typer.Option("--remove", help="Take the waiver back.")] = False,
) -> None:
    """Waive a gate item with a written reason (kept, and put in the release manifest)."""
    checklist = load_checklist(project)
    if remove:
        checklist.unwaive(item)
        console.print(f"{item}: waiver removed")
        return
    checklist.waive(item, reason)
    console.print(f"{item}: waived ({escape(reason)})")


@app.command("signoff")
def signoff(
    by: Annotated[str, typer.Option("--by", help="The reviewer's name.")],
    decision: Annotated[
        str, typer.Option("--decision", help="approve or request-changes")
    ] = "approve",
    release: Annotated[
        str | None, typer.Option("--release", help="The release signed off (default: the latest).")
    ] = None,
    despite: Annotated[
        str | None,
        typer.Option("--despite", help="Approve although a gate blocks or an item is stale: why."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", "-m")] = None,
    project: ProjectOption = Path("."),
) -> None:
    """Record a reviewer's decision on a release: its version, revision and frozen checklist."""
    s = load_checklist(project).sign_off(by, decision, note, release=release, despite=despite)
    console.print(
        f"signed off: {s.by} {s.decision} release {s.release} at {s.revision} "
        f"(frozen checklist {s.checklist_sha256}, readiness {int(s.readiness * 100 + 1e-9)}%)"
    )


@app.command("report")
def report_command(
    project: ProjectOption = Path("."),
    fmt: Annotated[Format, typer.Option("--format", "-f", help="md, html or json")] = Format.md,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE.")] = None,
    release: Annotated[
        str | None,
        typer.Option("--release", help="The checklist frozen when this release was tagged."),
    ] = None,
) -> None:
    """A production-readiness report: the working state (and what changed since the last
    release), or with --release the checklist exactly as it stood when that release was made."""
    from workbench.checklist import report
    from workbench.kernel.atomic import write_text_atomic
    from workbench.project.manifest import load_manifest

    if release is not None:
        data = report.frozen(load_manifest(project), release)
    else:
        data = report.build(load_checklist(project))
    text = {
        "md": report.to_markdown,
        "html": report.to_html,
        "json": lambda d: json.dumps(d, indent=2) + "\n",
    }[fmt.value](data)
    if output is None:
        console.out(text, highlight=False)
    else:
        write_text_atomic(output, text)
        console.print(f"wrote {output}")
