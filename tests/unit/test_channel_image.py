"""What a deploy runs is the digest the release was pushed as: a channel file whose digest was
changed by hand (to an unsigned image, say) is refused before anything is verified or run,
since verification checks the release, not the channel file's digest (found in review)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import hand_made_release
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.records import Channel, PushInfo
from workbench.project.releases import load_release, save_channels, save_release
from workbench.project.scaffold import copy_example
from workbench.steps.push.deploy import channel_image

PUSHED = "sha256:" + "a" * 64
FOREIGN = "sha256:" + "b" * 64


def test_a_channel_digest_that_is_not_the_pushed_one_is_refused(tmp_path: Path) -> None:
    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(manifest_file.read_text() + "registry: localhost:5000/team/iris\n")
    manifest = load_manifest(project)
    hand_made_release(manifest, "1.0.0", [])
    record = load_release(manifest, "1.0.0")
    record.push = PushInfo(pushed=True, digest=PUSHED)
    save_release(manifest, record)
    save_channels(manifest, {"production": Channel(current="1.0.0", digest=PUSHED)})
    assert channel_image(manifest, "production") == (
        "1.0.0",
        f"localhost:5000/team/iris@{PUSHED}",
    )
    save_channels(manifest, {"production": Channel(current="1.0.0", digest=FOREIGN)})
    with pytest.raises(WorkbenchError) as caught:
        channel_image(manifest, "production")
    said = str(caught.value)
    assert f"production is 1.0.0 at {FOREIGN}" in said and f"pushed as {PUSHED}" in said
    assert "workbench promote 1.0.0 --channel production" in said
