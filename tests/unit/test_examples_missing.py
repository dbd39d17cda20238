"""A new project's first `workbench snapshot` comes before its contract: snapshot.model-loads
then failed with "the examples folder ... does not exist. Fix: create it with one JSON file per
example request", never naming the command that writes them from a sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.model_env import load_examples
from workbench.project.scaffold import copy_example


def test_missing_examples_name_schema_infer_as_the_fix(tmp_path: Path) -> None:
    folder = copy_example("iris", tmp_path / "iris")
    for example in (folder / "schema" / "examples").iterdir():
        example.unlink()
    (folder / "schema" / "examples").rmdir()
    with pytest.raises(WorkbenchError) as raised:
        load_examples(load_manifest(folder))
    assert "schema/examples: the examples folder" in raised.value.message
    assert raised.value.fix is not None and "workbench schema infer --from" in raised.value.fix
