"""What makes the serve items stale: the settings they read, never the ones they do not."""

from __future__ import annotations

from pathlib import Path

from workbench.checklist.checks import CheckContext
from workbench.project.manifest import load_manifest
from workbench.steps.serve.checks import session_inputs


def _inputs(project: Path) -> dict[str, str]:
    return session_inputs(CheckContext(load_manifest(project)))


def test_setting_the_registry_or_the_checklist_leaves_the_serve_items_fresh(
    example_project: Path,
) -> None:
    manifest = example_project / "workbench.yaml"
    before = _inputs(example_project)
    manifest.write_text(
        manifest.read_text().replace("  tag_prefix: v", "  tag_prefix: iris/v")
        + "registry: localhost:5000/team/iris\n"
        + "checklist:\n  disable: [push.alerts-exist]\n"
    )
    assert _inputs(example_project) == before


def test_a_setting_the_image_or_its_test_reads_makes_them_stale(example_project: Path) -> None:
    manifest = example_project / "workbench.yaml"
    before = _inputs(example_project)
    manifest.write_text(
        manifest.read_text().replace(
            "  memory_limit: 512m", "  memory_limit: 512m\n  budget:\n    p99_ms: 50"
        )
    )
    after = _inputs(example_project)
    assert after["manifest"] != before["manifest"]


def test_setting_the_registry_leaves_the_quality_comparison_fresh(example_project: Path) -> None:
    import subprocess

    from workbench.steps.tag.checks import _quality_inputs

    subprocess.run(["git", "init", "-q"], cwd=example_project, check=True)
    manifest = example_project / "workbench.yaml"
    before = _quality_inputs(CheckContext(load_manifest(example_project)))
    manifest.write_text(manifest.read_text() + "registry: localhost:5000/team/iris\n")
    assert _quality_inputs(CheckContext(load_manifest(example_project))) == before
    manifest.write_text(manifest.read_text().replace("tolerance: 0.02", "tolerance: 0.05"))
    assert _quality_inputs(CheckContext(load_manifest(example_project))) != before
