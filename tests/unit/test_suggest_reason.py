"""The suggested bump says what it rests on: a description changed is a cosmetic change,
never "no contract change" above a line listing it (a new user's trial)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.project.semver import SemVer
from workbench.steps.schema.diff import Change
from workbench.steps.tag import version


def test_a_cosmetic_change_is_said_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    described = Change("cosmetic", "request", "age", "description changed")
    monkeypatch.setattr(version, "releases", lambda manifest: [SemVer(1, 0, 0)])
    changes: list[Any] = [described]
    monkeypatch.setattr(version, "schema_changes", lambda manifest, previous: changes)
    said = version.suggest(Path("."))  # type: ignore[arg-type]
    assert (str(said.version), said.level) == ("1.0.1", "patch")
    assert said.reason == "cosmetic contract changes only: request age: description changed"
    changes.clear()
    assert version.suggest(Path(".")).reason.startswith("no contract change")  # type: ignore[arg-type]
