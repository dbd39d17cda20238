"""The offline advisory scan reads OSV documents: an advisory naming a locked version is a
hit; a withdrawn one (OSV's `withdrawn`) names nothing and never blocks a tag."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps.push.release_rows import advisories_verdict
from workbench.steps.tag.advisories import require_no_advisories, scan


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


def test_the_release_records_the_verdict_it_was_tagged_under(tmp_path: Path) -> None:
    """What `require_no_advisories` returns goes into the release manifest; the release
    panel shows it: none configured, none of N, or (only under a waiver) how many apply."""
    project = copy_example("iris", tmp_path / "iris")
    (project / "environment.lock").write_text("requests==2.32.3\n")
    unconfigured = require_no_advisories(load_manifest(project), waived=False)
    assert advisories_verdict(unconfigured) == "none configured"
    assert advisories_verdict(None) is None  # tagged before the verdict was recorded
    advisories = project / "advisories"
    advisories.mkdir()
    (advisories / "PYSEC-1.json").write_text(json.dumps(_osv("PYSEC-1", withdrawn=True)))
    with (project / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write("supply_chain:\n  advisories: advisories\n")
    manifest = load_manifest(project)
    clear = require_no_advisories(manifest, waived=False)
    assert (clear.source, clear.advisories, clear.named) == ("advisories", 0, [])
    fresh = msgspec.structs.replace(clear, advisories=12, age_days=2)
    assert advisories_verdict(fresh) == "none of 12"
    assert advisories_verdict(msgspec.structs.replace(fresh, age_days=31)) == "none of 12 (old)"
    (advisories / "PYSEC-2.json").write_text(json.dumps(_osv("PYSEC-2")))
    with pytest.raises(WorkbenchError) as refused:
        require_no_advisories(manifest, waived=False)
    assert "requests 2.32.3 is named by PYSEC-2" in str(refused.value)
    waived = require_no_advisories(manifest, waived=True)
    assert waived.waived and waived.named == [
        "requests 2.32.3 is named by PYSEC-2, fixed in 2.33.0"
    ]
    assert advisories_verdict(waived) == "1 of 1 apply, waived"


def test_a_waiver_lets_a_release_through_when_the_advisories_cannot_be_read(
    tmp_path: Path,
) -> None:
    """A reviewer's finding: the scan ran even under a waiver, and raised when the folder was
    missing (exactly when a team waives the item), refusing a properly waived release. Now
    unread advisories refuse only without a waiver, and the release records why."""
    project = copy_example("iris", tmp_path / "iris")
    (project / "environment.lock").write_text("requests==2.32.3\n")
    with (project / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write("supply_chain:\n  advisories: advisories\n")
    manifest = load_manifest(project)
    with pytest.raises(WorkbenchError, match="does not exist"):
        require_no_advisories(manifest, waived=False)
    waived = require_no_advisories(manifest, waived=True)
    assert waived.waived and waived.unread is not None and "does not exist" in waived.unread
    assert advisories_verdict(waived) == "not read, waived"
