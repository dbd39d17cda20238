"""The offline advisory scan reads OSV documents: an advisory naming a locked version is a
hit; a withdrawn one (OSV's `withdrawn`) names nothing and never blocks a tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.tag.advisories import scan


def _osv(ident: str, *, withdrawn: bool = False) -> dict[str, object]:
    document: dict[str, object] = {
        "id": ident,
        "modified": "2026-11-30T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "requests"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.33.0"}]}
                ],
            }
        ],
    }
    if withdrawn:
        document["withdrawn"] = "2026-12-01T00:00:00Z"
    return document


def test_a_withdrawn_advisory_names_nothing(tmp_path: Path) -> None:
    project = copy_example("iris", tmp_path / "iris")
    (project / "environment.lock").write_text("requests==2.32.3\n")
    advisories = project / "advisories"
    advisories.mkdir()
    (advisories / "PYSEC-1.json").write_text(json.dumps(_osv("PYSEC-1", withdrawn=True)))
    found = scan(load_manifest(project), "advisories")
    assert found.hits == ()
    (advisories / "PYSEC-2.json").write_text(json.dumps(_osv("PYSEC-2")))
    found = scan(load_manifest(project), "advisories")
    assert [(h.package, h.version) for h in found.hits] == [("requests", "2.32.3")]
    assert "PYSEC-2" in found.hits[0].advisory


def test_a_pass_measured_on_one_day_is_measured_again_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict depends on the advisories' age in days: its inputs carry the day, so a pass
    on a fresh export never stays fresh (and green) after the export is 30 days old."""
    from workbench.checklist.checks import CheckContext
    from workbench.steps.tag import checks

    project = copy_example("iris", tmp_path / "iris")
    ctx = CheckContext(load_manifest(project))
    monkeypatch.setattr(checks, "today", lambda: "2026-12-05")
    first = checks._advisory_inputs(ctx)
    assert checks._advisory_inputs(ctx) == first
    monkeypatch.setattr(checks, "today", lambda: "2027-01-05")
    assert checks._advisory_inputs(ctx) != first
