"""`workbench/` stays free of interface libraries, and `--help` does not import Textual."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import workbench

INTERFACE = ("textual", "typer", "rich", "commands", "screens")


def _modules_after_import(statement: str) -> set[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_every_workbench_module_imports_no_interface_library() -> None:
    names = [m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench.")]
    assert "workbench.manifest" in names
    loaded = _modules_after_import("\n".join(f"import {n}" for n in names))
    leaked = sorted(m for m in loaded if m.split(".")[0] in INTERFACE)
    assert leaked == []


def test_cli_module_does_not_import_textual_or_docker() -> None:
    loaded = _modules_after_import("import commands.main")
    assert "typer" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "docker", "git")}


def test_the_entry_point_loads_no_interface_library_before_it_knows_the_command() -> None:
    # The TUI's first paint should not wait for Typer and Rich it will never use.
    loaded = _modules_after_import("import commands.launch")
    assert "commands.launch" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("typer", "rich", "textual", "click")}
