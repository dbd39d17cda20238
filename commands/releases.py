"""`workbench releases`: the release panel in the shell: every release and where it stands."""

from __future__ import annotations

from pathlib import Path

import typer

from commands.options import ProjectOption
from commands.output import console

app = typer.Typer()


@app.command("releases")
def list_releases(project: ProjectOption = Path(".")) -> None:
    """Every release and where it stands: its quality on held-out data, tagged, pushed,
    signed, attested, the advisories it was tagged under, digest, channels (roll back to the
    better model: `workbench rollback`)."""
    from rich.table import Table

    from workbench.project.manifest import load_manifest
    from workbench.steps.push.release_rows import release_table

    rows = release_table(load_manifest(project))
    if not rows:
        console.print("no release yet (`workbench tag`).")
        return
    table = Table(title="releases", title_justify="left")
    columns = (
        "version", "quality", "tagged", "pushed", "signed", "attested", "advisories", "digest",
        "channels", "created",
    )  # fmt: skip
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["version"],
            row["quality"] or "-",
            "yes" if row["tagged"] else "no",
            "yes" if row["pushed"] else "[yellow]no[/]",
            "yes" if row["signed"] else "no",
            "yes" if row["attested"] else "no",
            row["advisories"] or "-",
            row["digest"] or "",
            ", ".join(row["channels"]),
            row["created"] or "",
        )
    console.print(table)
