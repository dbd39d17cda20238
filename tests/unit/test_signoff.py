"""Sign-offs are bound to a release and refuse to approve a release with problems silently."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import frozen_item as item
from tests.helpers import hand_made_release as release
from workbench.checklist.report import signoff_status
from workbench.checklist.signoff import bind_signoff
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest, load_manifest
from workbench.project.releases import frozen_checklist_path
from workbench.project.scaffold import copy_example


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    root = copy_example("iris", tmp_path / "iris")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return load_manifest(root)


def test_no_release_no_signoff(manifest: Manifest) -> None:
    with pytest.raises(WorkbenchError, match="no release to sign off"):
        bind_signoff(manifest, "Rita", "approve")


def test_a_signoff_names_the_release_its_revision_and_frozen_checklist(manifest: Manifest) -> None:
    digest = release(manifest, "1.0.0", [item("serve.image-built")])
    signoff = bind_signoff(manifest, "Rita", "approve", "looked at it")
    assert (signoff.release, signoff.revision, signoff.checklist_sha256) == (
        "1.0.0",
        "rev-1.0.0",
        digest,
    )
    assert signoff.readiness == 0.75 and signoff.despite is None
    assert signoff_status(manifest, signoff, "1.0.0") == "matches release 1.0.0"
    release(manifest, "1.1.0", [item("serve.image-built")])
    assert (
        signoff_status(manifest, signoff, "1.1.0")
    ) == "no longer matches the latest release: 1.0.0 signed, 1.1.0 is out"


def test_approving_a_release_with_a_blocking_gate_or_a_stale_item_needs_a_reason(
    manifest: Manifest,
) -> None:
    release(
        manifest,
        "1.0.0",
        [item("serve.valid-accepted", "fail", blocks=True), item("schema.described", "stale")],
    )
    with pytest.raises(WorkbenchError) as refused:
        bind_signoff(manifest, "Rita", "approve")
    assert "gate items block: serve.valid-accepted" in refused.value.message
    assert "items are stale: schema.described" in refused.value.message
    changes = bind_signoff(manifest, "Rita", "request-changes")  # asking for changes is fine
    assert changes.decision == "request-changes"
    despite = bind_signoff(manifest, "Rita", "approve", despite="hotfix; fixed in 1.0.1")
    assert despite.despite == "hotfix; fixed in 1.0.1"


def test_an_edited_frozen_checklist_is_refused_and_no_longer_matches(manifest: Manifest) -> None:
    release(manifest, "1.0.0", [item("serve.image-built")])
    signoff = bind_signoff(manifest, "Rita", "approve")
    frozen_checklist_path(manifest, "1.0.0").write_text('{"items": [], "readiness": {}}')
    with pytest.raises(WorkbenchError, match=r"was changed after release 1\.0\.0 was tagged"):
        bind_signoff(manifest, "Rita", "approve")
    assert signoff_status(manifest, signoff, "1.0.0").startswith("no longer matches")
