"""`rollback` across a contract change moved the channel back with no word: 1.1.0 added
an optional `language`, 1.0.0 (closed) answers its callers 422 (a new user's trial). The
rollback goes ahead (a way back must not be blocked) and says whose requests break."""

from __future__ import annotations

from pathlib import Path

from commands.push import contract_broken
from workbench.kernel import git
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example


def test_the_changes_breaking_for_the_current_callers_are_named(tmp_path: Path) -> None:
    project = copy_example("iris", tmp_path / "iris")
    request = project / "schema" / "request.yaml"
    for args in (("init", "-q"), ("add", "."), ("commit", "-qm", "1.0.0"), ("tag", "v1.0.0")):
        assert git.run(project, *args).ok
    text = request.read_text()
    assert "properties:\n" in text and "additionalProperties: false" in text
    request.write_text(
        text.replace(
            "properties:\n", "properties:\n  language: {type: string, description: x}\n", 1
        )
    )
    for args in (("commit", "-qam", "1.1.0"), ("tag", "v1.1.0")):
        assert git.run(project, *args).ok
    manifest = load_manifest(project)
    assert contract_broken(manifest, "1.1.0", "1.0.0") == ["request $: field language removed"]
    assert contract_broken(manifest, "1.0.0", "1.1.0") == []  # an optional field added
