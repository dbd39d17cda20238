"""Held-out and sample data typed by the request schema, not by the looks of each cell
(issue 23: an SMS text "645" was sent as an integer, the image answered 422 and
serve.quality failed a correct model)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.unit.test_manifest import GOOD, project
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.runtime import app as runtime
from workbench.steps.schema.contract import validation_errors
from workbench.steps.schema.sample import read_sample, typed_cell
from workbench.steps.serve import quality

LEVEL = {"type": "integer", "minimum": 0}
NAMES = {"type": "string", "enum": ["low", "high"]}

CELLS: list[tuple[str, dict[str, Any], Any]] = [
    ("645", {"type": "string"}, "645"),
    ("007", {"type": "string", "maxLength": 10}, "007"),
    ("true", {"type": "string"}, "true"),
    ("3", {"type": "integer"}, 3),
    ("3.0", {"type": "integer"}, 3),  # how pandas writes an integer column with gaps
    ("3.5", {"type": "integer"}, "3.5"),  # kept as text: the image's 422 names the field
    ("3", {"type": "number"}, 3),
    ("2.5", {"type": "number"}, 2.5),
    ("1e308", {"type": "number"}, 1e308),
    ("True", {"type": "boolean"}, True),
    ("0", {"type": "boolean"}, False),
    ("2", {"enum": [1, 2, "x"]}, 2),
    ("x", {"enum": [1, 2, "x"]}, "x"),
    ("1", {"enum": ["1", "2"]}, "1"),
    ("7", {"const": 7}, 7),
    ("", {"type": ["integer", "null"]}, None),
    ("", {"type": "string"}, ""),
    ("", {"type": ["string", "null"]}, None),
    ("", {"enum": ["a", None]}, None),
    ("low", {"anyOf": [LEVEL, NAMES]}, "low"),
    ("5", {"anyOf": [LEVEL, NAMES]}, 5),
    ("5", {"oneOf": [{"type": "string"}, {"type": "null"}]}, "5"),
    ("5", {"type": ["string", "null"]}, "5"),
    ("[1, 2]", {"type": "array"}, [1, 2]),
    ("12", {}, 12),  # a field that says nothing of its type: its looks decide
]


@pytest.mark.parametrize(("text", "spec", "value"), CELLS, ids=[f"{c[0]!r}-{c[1]}" for c in CELLS])
def test_a_cell_is_the_value_its_field_declares(
    text: str, spec: dict[str, Any], value: Any
) -> None:
    got = typed_cell(text, spec)
    assert got == value and type(got) is type(value)


def test_a_cell_follows_a_local_ref() -> None:
    root = {"$defs": {"Code": {"type": "string"}}, "properties": {"c": {"$ref": "#/$defs/Code"}}}
    assert typed_cell("645", root["properties"]["c"], root) == "645"


SMS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["text", "length"],
    "properties": {
        "text": {"type": "string", "maxLength": 500},
        "sender": {"type": "string", "description": "short code: all digits, still text"},
        "length": {"type": "integer", "minimum": 0},
        "urgent": {"type": ["boolean", "null"]},
    },
}
SMS_ROWS = (
    "text,sender,length,urgent,label\n"
    "hello there,0612,11,false,ham\n"
    "645,645,3,,ham\n"
    "WIN cash now,80082,12,true,spam\n"
)


def test_a_csv_is_typed_by_the_request_schema_and_latin_1_is_read(tmp_path: Path) -> None:
    csv = tmp_path / "holdout.csv"
    csv.write_bytes((SMS_ROWS + "café crème,33,10,false,ham\n").encode("latin-1"))
    rows = read_sample(csv, schema=SMS_SCHEMA)
    assert [r["text"] for r in rows] == ["hello there", "645", "WIN cash now", "café crème"]
    assert [r["sender"] for r in rows] == ["0612", "645", "80082", "33"]
    assert [r["length"] for r in rows] == [11, 3, 12, 10]
    assert [r["urgent"] for r in rows] == [False, None, True, False]
    assert [r["label"] for r in rows] == ["ham", "ham", "spam", "ham"]  # not in the schema


def test_without_a_schema_a_column_is_typed_as_a_whole(tmp_path: Path) -> None:
    csv = tmp_path / "sample.csv"
    csv.write_text("\ufeff" + SMS_ROWS, encoding="utf-8")  # a byte-order mark, as Excel writes
    rows = read_sample(csv)
    assert [r["text"] for r in rows] == ["hello there", "645", "WIN cash now"]
    assert [r["length"] for r in rows] == [11, 3, 12]
    assert [r["sender"] for r in rows] == [612, 645, 80082]  # all digits, and no schema
    assert [r["urgent"] for r in rows] == [False, None, True]


# What a spreadsheet in a French or German locale exports as "CSV": semicolons between
# cells, a decimal comma, Windows-1252. Read with commas, the whole header was one column
# and `--target label` was refused with "its columns: subject;amount;label" and the fix
# "name one of those columns" (the trial of a ticket classifier, src layout).
EUROPEAN = (
    "subject;amount;rooms;label\n"
    "Ticket #922 locked out;16,48;3;Zugangsprobleme für Konto\n"
    '"Refund; charged twice";-5,5;;Réclamation – urgent\n'
    "invoice 1,5 missing;70;2;Billing issue\n"
)


@pytest.mark.parametrize("schema", [None, {"properties": {"amount": {"type": "number"}}}])
def test_a_semicolon_csv_with_decimal_commas_is_read_by_its_own_delimiter(
    tmp_path: Path, schema: dict[str, Any] | None
) -> None:
    csv = tmp_path / "holdout.csv"
    csv.write_bytes(EUROPEAN.encode("cp1252"))
    rows = read_sample(csv, schema=schema)
    assert list(rows[0]) == ["subject", "amount", "rooms", "label"]
    assert [r["amount"] for r in rows] == [16.48, -5.5, 70]
    assert [r["rooms"] for r in rows] == [3, None, 2]
    assert [r["subject"] for r in rows] == [
        "Ticket #922 locked out",
        "Refund; charged twice",
        "invoice 1,5 missing",  # text keeps its comma
    ]
    assert rows[1]["label"] == "Réclamation – urgent"


def test_a_tab_separated_csv_is_read_and_a_comma_csv_keeps_its_commas(tmp_path: Path) -> None:
    tabbed = tmp_path / "tabbed.csv"
    tabbed.write_text("a\tb\n1,5\tx;y\n")
    assert read_sample(tabbed) == [{"a": "1,5", "b": "x;y"}]  # no decimal comma but with ;
    plain = tmp_path / "plain.csv"
    plain.write_text('a;b,c\n"1,5",x;y\n')
    assert read_sample(plain) == [{"a;b": "1,5", "c": "x;y"}]


PREDICTOR = """\
class Spam:
    def load(self, artifacts_dir):
        pass

    def predict(self, record):
        return {"prediction": "spam" if "WIN" in record["text"] else "ham"}
"""


def test_held_out_records_built_for_the_container_are_accepted_by_the_runtime(
    tmp_path: Path,
) -> None:
    """The records serve.quality sends to /predict/batch, answered by the serving runtime
    (the one in the image) with the request schema: every one accepted, "645" a string."""
    (tmp_path / "project").mkdir()
    root = project(
        tmp_path / "project",
        GOOD + "evaluation:\n  data: data/holdout.csv\n  target: label\n  metric: accuracy\n",
    )
    (root / "data").mkdir()
    (root / "data" / "holdout.csv").write_text(SMS_ROWS)
    (root / "schema").mkdir()
    (root / "schema" / "request.yaml").write_text(json.dumps(SMS_SCHEMA))
    manifest = load_manifest(root)
    assert manifest.evaluation is not None
    holdout = quality.load_holdout(manifest, manifest.evaluation)
    assert holdout.records[1] == {
        "text": "645",
        "sender": "645",
        "length": 3,
        "urgent": None,
    }
    assert all(validation_errors(SMS_SCHEMA, r) == [] for r in holdout.records)

    image = tmp_path / "image"
    (image / "model").mkdir(parents=True)
    (image / "model" / "sms_spam.py").write_text(PREDICTOR)
    (image / "schema").mkdir()
    (image / "schema" / "request.json").write_text(json.dumps(SMS_SCHEMA))
    (image / "schema" / "response.json").write_text(
        json.dumps({"type": "object", "properties": {"prediction": {"type": "string"}}})
    )
    (image / "serving.json").write_text(
        json.dumps(
            {"name": "sms", "version": "1.0.0", "flavor": "python", "predictor": "sms_spam:Spam"}
        )
    )
    with TestClient(runtime.create_app(image), raise_server_exceptions=False) as client:
        for _ in range(100):
            if client.get("/health/ready").status_code == 200:
                break
            time.sleep(0.02)
        answer = client.post("/predict/batch", json=holdout.records)
    assert answer.status_code == 200, answer.text
    assert [a["prediction"] for a in answer.json()] == ["ham", "ham", "spam"]


def test_the_true_answers_are_typed_by_the_response_schema(tmp_path: Path) -> None:
    """Classes written as codes (`"01"`, `"02"`, `"10"`): the target column is not a request
    field, so it was typed by its looks, as the integers 1, 2, 10, then compared as "1", "2",
    "10" with the model's "01", "02", "10": a correct classifier scored 1/3 and
    serve.quality failed it. The response schema says what the prediction is."""
    (tmp_path / "project").mkdir()
    root = project(
        tmp_path / "project",
        GOOD
        + f"python: {sys.executable}\n"
        + "evaluation:\n  data: data/holdout.csv\n  target: label\n  metric: accuracy\n",
    )
    (root / "data").mkdir()
    (root / "data" / "holdout.csv").write_text("x,label\n1,01\n2,02\n3,10\n")
    (root / "schema").mkdir()
    (root / "schema" / "request.yaml").write_text(
        json.dumps({"type": "object", "properties": {"x": {"type": "integer"}}})
    )
    (root / "schema" / "response.yaml").write_text(
        json.dumps({"type": "object", "properties": {"prediction": {"enum": ["01", "02", "10"]}}})
    )
    manifest = load_manifest(root)
    assert manifest.evaluation is not None
    holdout = quality.load_holdout(manifest, manifest.evaluation)
    assert holdout.truths == ["01", "02", "10"]
    assert holdout.records == [{"x": 1}, {"x": 2}, {"x": 3}]
    answers = [{"prediction": t} for t in ("01", "02", "10")]
    scored = quality.score(manifest, manifest.evaluation, holdout.truths, answers)
    assert scored["value"] == 1.0


def test_a_row_with_more_cells_than_the_header_is_refused_naming_its_line(
    tmp_path: Path,
) -> None:
    """An unquoted comma in a text cell shifts the row: its extra cell was dropped without a
    word and the row's values went to the wrong columns (scored or inferred as such)."""
    csv = tmp_path / "holdout.csv"
    csv.write_text("text,length,label\nhello,5,ham\nWIN, cash now,12,spam\nok,2,ham\n")
    with pytest.raises(WorkbenchError) as caught:
        read_sample(csv)
    text = caught.value.paragraph
    assert "holdout.csv, line 3: 4 cells where the header names 3" in text, text
