"""Which versions a rollback rehearsal tries, without an engine: each channel's way back as
it stands, or as it will be once a promote is made (the channel's current version), each
version once; nothing to rehearse is a skip with its reason; a way back that was never
pushed fails naming that, before any engine is asked. The engine's part (pull by digest,
start, answer) is in tests/functional/test_tag_push_faults.py and test_deploy.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import hand_made_release
from workbench.checklist.checks import Status, report_of
from workbench.project.manifest import Manifest, load_manifest
from workbench.project.records import Channel, ChannelMove
from workbench.project.releases import save_channels
from workbench.project.scaffold import copy_example
from workbench.steps.push.rehearsal import Rehearsals, rehearse_all, targets

DIGEST = "sha256:" + "a" * 64


def moves(*versions: str) -> list[ChannelMove]:
    return [
        ChannelMove(version=v, digest=DIGEST, action="promote", at="t", by="Ana") for v in versions
    ]


@pytest.fixture
def manifest(tmp_path: Path) -> Manifest:
    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(manifest_file.read_text() + "registry: localhost:5000/team/iris\n")
    return load_manifest(project)


def test_each_channels_way_back_now_and_after_a_promote(manifest: Manifest) -> None:
    save_channels(
        manifest,
        {
            "production": Channel(current="1.1.0", digest=DIGEST, history=moves("1.0.0", "1.1.0")),
            "staging": Channel(current="1.2.0", digest=DIGEST, history=moves("1.0.0", "1.2.0")),
            "canary": Channel(current="1.2.0", digest=DIGEST, history=moves("1.2.0")),
        },
    )
    # now: production and staging would both return to 1.0.0 (rehearsed once); canary nowhere
    assert targets(manifest) == {"1.0.0": ["production", "staging"]}
    # promoting 1.2.0 to production: its way back becomes 1.1.0, its current version
    assert targets(manifest, ("production", "1.2.0")) == {
        "1.1.0": ["production"],
        "1.0.0": ["staging"],
    }
    # canary's first promote of another version: 1.2.0 becomes its way back
    assert targets(manifest, ("canary", "1.3.0"))["1.2.0"] == ["canary"]
    # a new channel has no way back: only the others'
    assert targets(manifest, ("fresh", "1.2.0")) == {"1.0.0": ["production", "staging"]}


def test_no_way_back_is_a_skip_with_its_reason(manifest: Manifest) -> None:
    result = rehearse_all(manifest)
    assert result.status is Status.SKIPPED
    assert result.evidence == [
        "no channel has an earlier version to roll back to: no way back to rehearse yet"
    ]
    save_channels(
        manifest, {"production": Channel(current="1.0.0", digest=DIGEST, history=moves("1.0.0"))}
    )
    assert rehearse_all(manifest).status is Status.SKIPPED
    # promoting 1.0.0 again to it: still nothing earlier
    assert rehearse_all(manifest, ("production", "1.0.0")).status is Status.SKIPPED


def test_a_way_back_never_pushed_fails_naming_it_before_any_engine(manifest: Manifest) -> None:
    hand_made_release(manifest, "1.0.0", [])  # recorded, never pushed
    save_channels(
        manifest,
        {"production": Channel(current="1.0.0", digest=DIGEST, history=moves("1.0.0"))},
    )
    result = rehearse_all(manifest, ("production", "1.1.0"))
    assert result.status is Status.FAIL
    assert result.evidence == [
        "production: the way back to 1.0.0 (none) fails: 1.0.0 is not pushed"
    ]
    report = report_of(result, Rehearsals, "push.rollback-rehearsed")
    assert report is not None
    (rehearsal,) = report.rehearsals
    assert (rehearsal.channels, rehearsal.version, rehearsal.cause) == (
        ["production"],
        "1.0.0",
        "1.0.0 is not pushed",
    )
