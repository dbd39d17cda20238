"""`promote` on a channel that is not deployed suggested `workbench replay --channel ...`,
which can only fail there ("not part of a swarm ... docker swarm init", risky advice on a
shared engine: a new user's trial). With no swarm deployment, it suggests a log file."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.replay import show_replay
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example


def test_an_undeployed_channel_gets_no_replay_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = load_manifest(copy_example("iris", tmp_path / "iris"))
    show_replay(manifest, "1.1.0", "production")
    said = capsys.readouterr().out
    said = " ".join(said.split())
    assert "the workbench deployed no production service to read it from" in said, said
    assert "workbench replay --from FILE --channel production --candidate 1.1.0" in said
    assert "workbench replay --channel production" not in said  # it can only fail there
