"""Schema checks against the real model in its own environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist

pytestmark = pytest.mark.slow


def test_schema_fields_must_equal_the_models_feature_names(example_project: Path) -> None:
    request = example_project / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("petal_width", "petal_w"))
    checklist = open_checklist(load_manifest(example_project), user="Ana")
    events = list(checklist.run(["schema.feature-names"], CheckContext(checklist.manifest)))
    view = next(e.view for e in events if isinstance(e, ItemFinished))
    assert view.status is Status.FAIL
    assert "the model needs fields the schema lacks: petal_width" in view.evidence
    assert "the schema has fields the model never sees: petal_w" in view.evidence
