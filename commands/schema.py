"""`workbench schema infer | validate | diff | openapi | describe`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from commands.options import ProjectOption
from commands.output import console, fail

if TYPE_CHECKING:
    from workbench.project.manifest import Manifest
    from workbench.steps.schema.infer import Inferred

app = typer.Typer()
schema_app = typer.Typer(help="The request/response contract: infer, validate, diff, OpenAPI.")
app.add_typer(schema_app, name="schema")


@schema_app.command("infer")
def infer(
    project: ProjectOption = Path("."),
    sample: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A CSV, Parquet, JSON or JSONL sample (default: the example requests)."
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="The sample's target column, left out of the request."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing schema files.")] = False,
) -> None:
    """Infer the contract from the model itself and a data sample: fields, types, missing
    values the model answers, the response from its classes; example requests when none."""
    from workbench.kernel.confine import check_inside
    from workbench.project.manifest import load_manifest
    from workbench.project.model_env import load_examples
    from workbench.project.model_session import model_session
    from workbench.steps.schema.infer import infer_contract, read_sample, write_schema
    from workbench.steps.schema.keep import earlier_request, keep_what_was_known

    manifest = load_manifest(project)
    request_path = manifest.resolve(manifest.schema.request)
    response_path = manifest.resolve(manifest.schema.response)
    for path in (request_path, response_path):  # refuse before writing anything
        check_inside(manifest.root, path, what="the inferred schema")
        if path.exists() and not force:
            fail(
                f"{path} exists and may hold your edits; nothing was written. Fix: pass --force "
                "to replace the schemas with inferred ones."
            )
    examples = load_examples(manifest, missing_ok=True)
    records = read_sample(sample, refuse_odd=True) if sample else [r for _, r in examples]
    # The examples alone cannot re-derive enums and bounds: the earlier ones are kept.
    earlier = None if sample else earlier_request(request_path, within=manifest.root)
    with model_session(manifest):  # its two questions to the model: one interpreter
        inferred = infer_contract(
            manifest,
            records,
            target=target,
            reread=(lambda declared: read_sample(sample, schema=declared)) if sample else None,
        )
    if earlier is not None:
        inferred.request, kept = keep_what_was_known(earlier, inferred.request, records)
        inferred.notes[:0] = kept
    source = f"{sample.name}" if sample else "the example requests"
    write_schema(
        request_path,
        inferred.request,
        force=True,
        within=manifest.root,
        comment=f"Inferred by `workbench schema infer` from the model and {source}; "
        "describe each field, confirm the bounds.",
    )
    write_schema(
        response_path,
        inferred.response,
        force=True,
        within=manifest.root,
        comment="Inferred by `workbench schema infer` from what the model knows of its outputs.",
    )
    console.print(
        f"wrote {request_path} ({len(inferred.request['properties'])} fields) and "
        f"{response_path} ({len(inferred.response['properties'])} fields)"
    )
    _write_proposals(manifest, inferred, request_path.parent, examples=bool(examples))
    for note in inferred.notes:
        console.print(f"  [dim]{escape(note)}[/]")


def _write_proposals(
    manifest: Manifest, inferred: Inferred, beside: Path, *, examples: bool
) -> None:
    """Example requests (when the project has none) and proposed corner cases `beside` the
    request schema (when none exist), each written inside the project."""
    from workbench.kernel.atomic import write_text_atomic

    if not examples:
        folder = manifest.resolve(manifest.schema.examples)
        for index, record in enumerate(inferred.examples, start=1):
            write_text_atomic(
                folder / f"example-{index}.json",
                json.dumps(record, indent=1) + "\n",
                within=manifest.root,
                what="an example request",
            )
        console.print(f"wrote {len(inferred.examples)} example requests into {folder}")
    cases_path = beside / "expectations.yaml"
    if inferred.cases and not cases_path.exists():
        import yaml

        write_text_atomic(
            cases_path,
            "# Proposed by `workbench schema infer`: the model's answers today at each numeric\n"
            "# field's extremes in the sample. Review each: keep it, change it to what the\n"
            "# product needs, or delete it. Used once evaluation.expectations names this file.\n"
            + yaml.safe_dump({"cases": inferred.cases}, sort_keys=False, allow_unicode=True),
            within=manifest.root,
            what="the proposed corner cases",
        )
        console.print(f"proposed {len(inferred.cases)} corner cases in {cases_path}")


@schema_app.command("validate")
def validate(project: ProjectOption = Path(".")) -> None:
    """The schemas are valid; every example validates; the model's answers validate."""
    from commands.checklist import load_checklist, run_checks
    from workbench.checklist.checks import Status
    from workbench.checklist.engine import ItemView
    from workbench.checklist.symbols import COLOUR as STYLE

    def every_line(item_id: str, view: ItemView) -> list[str]:
        status = view.status.value
        head = f"[{STYLE[status]}]{status:7}[/] {item_id}"
        return [head, *(f"        {escape(line)}" for line in view.evidence)]

    checklist = load_checklist(project)
    ids = ["schema.valid", "schema.examples-valid", "schema.responses-valid"]
    finished = run_checks(checklist, ids, show=every_line)
    if any(view.status is Status.FAIL for view in finished):
        raise typer.Exit(1)


@schema_app.command("diff")
def diff(
    project: ProjectOption = Path("."),
    against: Annotated[
        str | None,
        typer.Option("--against", help="A released version (default: the last release)."),
    ] = None,
) -> None:
    """Every change of the contract since a release: breaking, additive or cosmetic."""
    from rich.table import Table

    from workbench.project.manifest import load_manifest
    from workbench.project.releases import releases
    from workbench.project.semver import SemVer
    from workbench.steps.schema.diff import required_bump, schema_changes

    manifest = load_manifest(project)
    known = releases(manifest)
    if against is None and not known:
        console.print("no release yet: nothing to compare with.")
        return
    version = SemVer.parse(against) if against else known[-1]
    changes = schema_changes(manifest, version)
    if not changes:
        console.print(f"no contract change since {version}.")
        return
    table = Table(
        title=f"the contract against {version}: needs a {required_bump(changes)} bump",
        title_justify="left",
    )
    for column in ("kind", "schema", "path", "change"):
        table.add_column(column)
    colour = {"breaking": "bold red", "additive": "green", "cosmetic": "dim"}
    for change in changes:
        table.add_row(
            f"[{colour[change.kind]}]{change.kind}[/]",
            change.where,
            escape(change.path),
            escape(change.what),
        )
    console.print(table)


@schema_app.command("openapi")
def openapi(
    project: ProjectOption = Path("."),
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """The OpenAPI 3.1 document the served image publishes at /openapi.json."""
    from workbench.kernel.atomic import write_text_atomic
    from workbench.project.manifest import load_manifest
    from workbench.runtime.openapi import openapi_document
    from workbench.steps.schema.contract import request_schema, response_schema

    manifest = load_manifest(project)
    document = openapi_document(
        {"name": manifest.name, "version": "unreleased"},
        request_schema(manifest),
        response_schema(manifest),
    )
    text = json.dumps(document, indent=2) + "\n"
    if output:
        write_text_atomic(output, text)
        console.print(f"wrote {output}")
    else:
        console.out(text, highlight=False)


@schema_app.command("describe")
def describe(
    field: Annotated[str, typer.Argument(help="The request field.")],
    text: Annotated[str, typer.Argument(help="Its description: unit, meaning, missing values.")],
    project: ProjectOption = Path("."),
    response: Annotated[bool, typer.Option("--response", help="A response field.")] = False,
) -> None:
    """Set a field's description in place; comments and layout of the file are kept."""
    from ruamel.yaml.comments import CommentedMap

    from workbench.kernel.yamlio import to_plain
    from workbench.project.manifest import load_manifest
    from workbench.steps.schema.contract import walk_fields
    from workbench.steps.schema.edit import edit_schema, find_field

    manifest = load_manifest(project)
    relative = manifest.schema.response if response else manifest.schema.request
    path = manifest.resolve(relative)

    def edit(document: CommentedMap) -> None:
        found = find_field(document, field)  # nested too: the names schema.described gives
        if found is None:
            names = [name for name, _ in walk_fields(to_plain(document))]
            other = manifest.resolve(
                manifest.schema.request if response else manifest.schema.response
            )
            elsewhere = "" if response else _hint_response(other, field)
            fail(
                f"{path}: there is no field `{field}`.{elsewhere} Fix: use one of "
                f"{', '.join(names)}."
            )
        found["description"] = text

    edit_schema(path, edit, within=manifest.root)
    console.print(f"{relative}: {field} described")


def _hint_response(response: Path, field: str) -> str:
    """` It is a response field: add --response.` when it is one."""
    from workbench.kernel.errors import WorkbenchError
    from workbench.kernel.yamlio import load_yaml
    from workbench.steps.schema.edit import find_field

    try:
        found = find_field(load_yaml(response, what="the response schema"), field)
    except WorkbenchError:
        return ""
    return " It is a response field: add `--response`." if found is not None else ""
