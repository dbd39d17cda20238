"""The offline advisory scan reads OSV documents: an advisory naming a locked version is a
hit; a withdrawn one (OSV's `withdrawn`) names nothing and never blocks a tag."""

from __future__ import annotations

import json
from pathlib import Path

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
