"""Each release carries a CycloneDX SBOM of its image, read from the image itself, written by
cyclonedx-python-lib, valid against the CycloneDX 1.6 schema, committed at the release's tag
with its hash in the release manifest; an image that does not hold the lock gets none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.doubler import make_project, ready_to_release
from tests.helpers import git
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_text
from workbench.project.lockfile import LOCK_NAME, read_lock
from workbench.project.manifest import load_manifest
from workbench.project.releases import load_release
from workbench.steps import open_checklist
from workbench.steps.tag.sbom import Inventory, build_sbom

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _released(tmp_path: Path) -> Path:
    project, recorded = ready_to_release(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tests.release_driver", str(project), "1.0.0", str(recorded)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return project


def test_a_release_carries_a_valid_sbom_of_its_image(tmp_path: Path, base_image: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    project = _released(tmp_path)
    manifest = load_manifest(project)
    record = load_release(manifest, "1.0.0")
    path = "releases/1.0.0.sbom.cdx.json"
    text = git(project, "show", f"v1.0.0:{path}") + "\n"  # committed at the tag
    assert record.hashes.files[path] == sha256_text(text)  # its hash in the manifest
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None  # valid 1.6
    sbom = json.loads(text)
    image = sbom["metadata"]["component"]
    assert (image["name"], image["version"], image["type"]) == ("doubler", "1.0.0", "container")
    assert {"name": "io.workbench.image-id", "value": record.image.id} in image["properties"]
    purls = {c.get("purl", "") for c in sbom["components"]}
    for name, entry in read_lock(project / LOCK_NAME).items():  # every locked distribution
        component = next(
            c for c in sbom["components"] if c.get("purl", "").startswith(f"pkg:pypi/{name}@")
        )
        assert component["version"] == entry.version
        assert {h["content"] for h in component["hashes"]} == {
            h.removeprefix("sha256:") for h in entry.hashes
        }
    assert any(p.startswith("pkg:deb/debian/libc6@") for p in purls)  # the base image's packages
    files = {
        c["name"]: c["hashes"][0]["content"] for c in sbom["components"] if c["type"] == "file"
    }
    assert files["predictor.py"] == record.hashes.files["predictor.py"].removeprefix("sha256:")
    # The release still reads back whole at its tag, SBOM included.
    checklist = open_checklist(manifest, user="Ana")
    events = checklist.run(["tag.manifest-complete"], CheckContext(manifest))
    view = next(e.view for e in events if isinstance(e, ItemFinished))
    assert view.status is Status.PASS, view.evidence


def test_no_sbom_for_an_image_that_does_not_hold_the_lock(tmp_path: Path, base_image: str) -> None:
    project = make_project(tmp_path / "doubler", faulty=False)
    locked = {n: e.version for n, e in read_lock(project / LOCK_NAME).items()}
    held = dict(locked)
    held.pop(sorted(held)[0])
    held["phantom-package"] = "1.0"
    with pytest.raises(WorkbenchError, match="not the lock's") as raised:
        build_sbom(
            load_manifest(project),
            "1.0.0",
            "sha256:" + "0" * 64,
            "2026-12-05T00:00:00Z",
            Inventory(python=held, debian=[]),
            {},
        )
    assert "phantom-package" in str(raised.value) and sorted(locked)[0] in str(raised.value)
