"""Opening the TUI on a project: the one place the CLI reaches into `screens/`.

Imports nothing of Typer or Rich, so the entry point's short road to the app
(`commands.launch`) stays fast.
"""

from __future__ import annotations

from pathlib import Path

from workbench.kernel.errors import WorkbenchError


def parse_pair(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise WorkbenchError(
            f'--pair "{value}" is not two different names.',
            fix='write it as --pair "Ana,Ben" (driver first, then navigator).',
        )
    return names[0], names[1]


def open_tui(project: Path, *, pair: str | None = None, review: str | None = None) -> None:
    from workbench.project.manifest import load_manifest  # for start-up speed: see above

    names = parse_pair(pair)
    manifest = load_manifest(project)
    from screens.app import WorkbenchApp  # Textual is only imported for the TUI

    WorkbenchApp(manifest, pair=names, reviewer=review, remember_theme=True).run()
