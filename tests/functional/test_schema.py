"""Schema checks against the real model in its own environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.schema.infer import infer_contract, read_sample

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


def test_infer_allows_a_missing_value_only_where_the_model_answers_it(
    example_project: Path,
) -> None:
    # The iris pipeline has no imputer: a blank in the sample must not become `null` in the
    # contract, or every such request would crash the model (a 500 behind a green gate).
    sample = example_project / "flowers.csv"
    rows = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for index in range(40):
        width = "" if index % 7 == 0 else f"{0.2 + index / 40:.2f}"
        rows.append(f"{4.5 + index / 20:.2f},{3.0 + index / 100:.2f},1.4,{width},setosa")
    sample.write_text("\n".join(rows) + "\n")
    manifest = load_manifest(example_project)
    inferred = infer_contract(manifest, read_sample(sample))
    request = inferred.request
    assert list(request["properties"]) == [
        "sepal_length",
        "sepal_width",
        "petal_length",
        "petal_width",
    ]  # the model's own feature names; `species` detected as the target and left out
    assert request["properties"]["petal_width"]["type"] == "number"  # not ["number", "null"]
    assert "petal_width" in request["required"]
    assert any(
        "petal_width` is required: the model fails on a missing value" in n for n in inferred.notes
    )
    assert any("`species` left out" in n for n in inferred.notes)
    response = inferred.response
    assert response["properties"]["prediction"]["enum"] == ["setosa", "versicolor", "virginica"]
    probabilities = response["properties"]["probabilities"]["properties"]
    assert probabilities["setosa"] == {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "description": "",
    }
