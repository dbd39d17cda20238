"""Schema inference from examples and CSV, and round-trip edits that keep comments."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import examples_dir
from workbench.steps.schema.contract import schema_problems, validation_errors
from workbench.steps.schema.edit import edit_schema, remove_field, set_field
from workbench.steps.schema.infer import infer_record, read_sample, write_schema


def test_a_handful_of_examples_never_becomes_hard_limits() -> None:
    # Three examples said petal_length was between 1.4 and 6.0: as hard limits the contract
    # would refuse most real flowers while every gate stayed green.
    records = read_sample(examples_dir() / "iris" / "schema" / "examples")
    schema = infer_record(records, title="iris request")
    assert schema_problems(schema) == []
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    petal = schema["properties"]["petal_length"]
    assert (petal["type"], petal["description"]) == ("number", "")
    assert "minimum" not in petal and "maximum" not in petal
    assert "too few rows to set bounds" in petal["$comment"]
    assert all(validation_errors(schema, r) == [] for r in records)
    assert validation_errors(schema, {**records[0], "petal_length": 0.5}) == []


def test_from_enough_rows_bounds_are_widened_and_said_so() -> None:
    rows = [{"x": float(v), "n": v} for v in range(10, 50)]  # 40 rows, 10..49
    schema = infer_record(rows)
    x, n = schema["properties"]["x"], schema["properties"]["n"]
    assert (x["minimum"], x["maximum"]) == (0, 68.5)  # widened by half the span, floor at 0
    assert (n["type"], n["minimum"], n["maximum"]) == ("integer", 0, 69)
    assert "confirm or correct them" in x["$comment"]
    # The floor is said as it is: the range was not widened below 0 (a new user's trial
    # read "widened by half its span" over a minimum of 0).
    assert "the minimum held at 0: never seen negative" in x["$comment"]
    lower = infer_record([{"x": float(v)} for v in range(100, 140)])["properties"]["x"]
    assert lower["minimum"] == 80.5 and "held at 0" not in lower["$comment"]
    response = infer_record(rows, bounds=False)  # a response: types only, never bounds
    assert set(response["properties"]["x"]) == {"type", "description"}


def test_inference_on_a_csv_with_strings_integers_floats_booleans_and_missing_values(
    tmp_path: Path,
) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text(
        textwrap.dedent("""\
        plan,age,income,active,note
        free,34,1200.5,true,
        pro,51,8800.0,false,called twice
        free,29,,true,
        team,42,4100.25,TRUE,
        """)
    )
    records = read_sample(sample)
    schema = infer_record(records)
    props = schema["properties"]
    assert props["plan"]["type"] == "string"
    assert "enum" not in props["plan"]  # 4 rows are too few to know every category
    assert props["plan"]["maxLength"] >= 64
    assert props["age"]["type"] == "integer" and "minimum" not in props["age"]
    assert props["income"]["type"] == ["number", "null"]
    assert props["active"]["type"] == "boolean"
    assert props["note"]["type"] == ["string", "null"]
    assert schema["required"] == ["plan", "age", "active"]  # income and note can be missing
    assert schema_problems(schema) == []
    assert all(validation_errors(schema, r) == [] for r in records)


HAND_WRITTEN = """\
# Our churn contract. Owner: the data team.
type: object
additionalProperties: false
required: [age]
properties:
  age:
    type: integer   # whole years
    minimum: 18
  plan:
    type: string
    enum: [free, pro]
"""


def test_round_trip_edits_keep_hand_written_comments(tmp_path: Path) -> None:
    path = tmp_path / "request.yaml"
    path.write_text(HAND_WRITTEN)

    def edit(document):  # type: ignore[no-untyped-def]
        set_field(document, "age", {"description": "Age in whole years."})
        set_field(document, "city", {"type": "string", "description": "Where."}, required=True)
        remove_field(document, "plan")

    edit_schema(path, edit, within=tmp_path)
    text = path.read_text()
    assert text.startswith("# Our churn contract. Owner: the data team.\n")
    assert "type: integer   # whole years" in text
    assert "description: Age in whole years." in text
    assert "required: [age, city]" in text
    assert "plan" not in text
    with pytest.raises(WorkbenchError, match="no field `plan`"):
        edit_schema(path, lambda document: remove_field(document, "plan"), within=tmp_path)


def test_inferred_schemas_never_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "request.yaml"
    path.write_text(HAND_WRITTEN)
    with pytest.raises(WorkbenchError, match="may hold your edits"):
        write_schema(path, {"type": "object"}, force=False, comment="x", within=tmp_path)
    assert path.read_text() == HAND_WRITTEN
    write_schema(path, {"type": "object"}, force=True, comment="inferred", within=tmp_path)
    assert path.read_text() == "# inferred\ntype: object\n"


def test_a_misspelt_keyword_is_named_with_a_suggestion() -> None:
    schema = {
        "type": "object",
        "requried": ["a"],
        "properties": {"a": {"type": "number", "minimun": 0}},
    }
    assert schema_problems(schema) == [
        "at $: unknown keyword `requried`; did you mean `required`?",
        "at $.properties.a: unknown keyword `minimun`; did you mean `minimum`?",
    ]
    assert schema_problems({"type": "array", "items": {"type": "number"}}) == [
        "the top level must be `type: object` (one record)",
        "the record needs `properties` (its fields)",
    ]


def test_a_ref_to_nowhere_makes_the_schema_invalid() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/missing"}, "b": {"$ref": "#/$defs/here"}},
        "$defs": {"here": {"type": "number"}},
    }
    assert schema_problems(schema) == ["at $.properties.a: `$ref: #/$defs/missing` points nowhere"]


def test_an_example_with_nan_is_refused_naming_the_file(tmp_path: Path) -> None:
    from workbench.project.manifest import load_manifest
    from workbench.project.model_env import load_examples
    from workbench.project.scaffold import copy_example

    root = copy_example("iris", tmp_path / "iris")
    (root / "schema" / "examples" / "broken.json").write_text('{"sepal_length": NaN}')
    with pytest.raises(WorkbenchError, match=r"broken\.json: `NaN` is not JSON"):
        load_examples(load_manifest(root))


def test_words_yaml_11_readers_take_for_booleans_are_written_quoted(tmp_path: Path) -> None:
    """A churn model's classes `no` and `yes`: PyYAML (YAML 1.1, as many CI tools read)
    must read the written schema's enum as the strings, like the workbench does."""
    import yaml

    path = tmp_path / "response.yaml"
    schema = {"type": "object", "properties": {"churned": {"enum": ["no", "yes", "maybe"]}}}
    write_schema(path, schema, force=True, comment="inferred", within=tmp_path)
    text = path.read_text()
    assert "- 'no'" in text and "- maybe" in text
    assert yaml.safe_load(text)["properties"]["churned"]["enum"] == ["no", "yes", "maybe"]


def test_iso_dates_are_inferred_as_dates_the_image_checks() -> None:
    """`visit_date` was a string of at most 64 characters: "not a date" was answered 200
    and reached the model (a new user's trial). ISO dates get `format: date`, which the
    image checks; a column of other strings, or one impossible date, does not."""
    from workbench.steps.schema.contract import validator_for

    days = [f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}" for n in range(40)]
    schema = infer_record([{"visit_date": d, "n": i} for i, d in enumerate(days)])
    field = schema["properties"]["visit_date"]
    assert field["format"] == "date" and field["type"] == "string"
    check = validator_for(schema)
    assert check.is_valid({"visit_date": "2027-01-31", "n": 1})
    assert not check.is_valid({"visit_date": "not a date", "n": 1})
    odd = infer_record([{"d": d} for d in [*days[:39], "2026-02-30"]])
    assert "format" not in odd["properties"]["d"]
    words = infer_record([{"d": f"word {n}"} for n in range(40)])
    assert "format" not in words["properties"]["d"]
    # The length limit says where it comes from (a 420-character review was refused by a
    # limit nobody was asked to confirm: a new user's trial).
    assert "the longest was 7 characters" in words["properties"]["d"]["$comment"]
