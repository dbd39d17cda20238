"""Shared helpers of the functional and TUI tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import Checklist, ItemFinished
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.snapshot.take import run_snapshot

GATED = ("snapshot", "schema", "serve")


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def release_ready(root: Path, python: Path, registry: str) -> Checklist:
    """The example in a fresh git repository, with every gate of steps 1-3 passing."""
    project = copy_example("iris", root)
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace("python: .venv/bin/python", f"python: {python}", 1)
        + f"registry: {registry}\n"
    )
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Ana Tester")
    git(project, "config", "user.email", "ana@example.com")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "the iris model")
    run_snapshot(load_manifest(project), lambda _: None)
    return pass_gates(project)


def pass_gates(project: Path) -> Checklist:
    checklist = open_checklist(load_manifest(project), user="Ana")
    ids = [i.id for i in checklist.items if i.is_auto and i.step in GATED and i.gate]
    ctx = CheckContext(checklist.manifest)
    results = {e.item_id: e.view for e in checklist.run(ids, ctx) if isinstance(e, ItemFinished)}
    failing = {i: v.evidence for i, v in results.items() if v.status is not Status.PASS}
    assert failing == {}
    checklist.tick("snapshot.packages-expected", "yes", note="sklearn stack and the runtime")
    return checklist
