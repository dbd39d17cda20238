"""Inference that keeps what it knew (issue #29): `schema infer --force` from the example
requests alone keeps the earlier enums, bounds and descriptions (or refuses, saying why);
a sample's cells that are not numbers in a column of numbers are named by file, row and
column; a Latin-1 / Windows-1252 CSV reads without a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from workbench.kernel.yamlio import load_yaml
from workbench.steps.schema.sample import read_sample

WORKBENCH = Path(sys.executable).parent / "workbench"


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point: what a user sees, error paragraph and exit code."""
    done = subprocess.run(
        [str(WORKBENCH), *args], capture_output=True, text=True, timeout=300, check=False
    )
    done.stdout = " ".join((done.stdout + done.stderr).split())
    return done


PREDICTOR = """
class Model:
    def predict(self, record):
        return {"size": float(record["size"]) * 2}
"""

EARLIER = """\
type: object
additionalProperties: false
required: [colour, size]
properties:
  colour:
    type: string
    enum: [red, green, blue]
    description: the paint's colour
  size:
    type: number
    minimum: 0
    maximum: 100
    description: in centimetres
"""


def project(root: Path) -> Path:
    (root / "schema" / "examples").mkdir(parents=True)
    (root / "predict.py").write_text(textwrap.dedent(PREDICTOR))
    (root / "schema" / "examples" / "one.json").write_text(
        json.dumps({"colour": "red", "size": 120})
    )
    (root / "workbench.yaml").write_text(
        f"name: paint\npython: {sys.executable}\nmodel:\n  flavor: python\n"
        "  predictor: predict:Model\n"
    )
    return root


def test_force_without_a_sample_keeps_enums_bounds_and_descriptions(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "schema" / "request.yaml").write_text(EARLIER)
    result = workbench(*["schema", "infer", "-p", str(root), "--force"])
    assert result.returncode == 0, result.stdout
    request = load_yaml(root / "schema" / "request.yaml")
    colour, size = request["properties"]["colour"], request["properties"]["size"]
    assert list(colour["enum"]) == ["red", "green", "blue"]
    assert "maxLength" not in colour
    assert colour["description"] == "the paint's colour"
    assert (size["minimum"], size["maximum"]) == (0, 120)  # widened to the example's 120
    assert size["type"] == "number" and size["description"] == "in centimetres"
    assert "kept from the earlier schema (enums" in result.stdout


def test_force_without_a_sample_refuses_a_schema_it_cannot_keep(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "schema" / "request.yaml").write_text("type: object\nproperties: [colour]\n")
    result = workbench(*["schema", "infer", "-p", str(root), "--force"])
    assert result.returncode != 0
    assert "has no `properties` mapping" in result.stdout
    assert "--from" in result.stdout
    assert (root / "schema" / "request.yaml").read_text().endswith("[colour]\n")


def test_every_value_that_is_not_a_number_is_named_by_file_row_and_column(
    tmp_path: Path,
) -> None:
    root = project(tmp_path / "p")
    sizes = [str(n) for n in range(20)]
    sizes[6], sizes[14] = "five", "n/a"
    (root / "sample.csv").write_text("colour,size\n" + "".join(f"red,{size}\n" for size in sizes))
    result = workbench(*["schema", "infer", "-p", str(root), "--from", str(root / "sample.csv")])
    assert result.returncode != 0
    said = " ".join(result.stdout.split())
    assert "sample.csv: 2 value(s) are not numbers" in said
    assert "row 7, column `size`: 'five'" in said and "row 15, column `size`: 'n/a'" in said
    assert "could not convert" not in said and "Traceback" not in said


def test_a_latin1_csv_is_read_without_a_traceback(tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_bytes("town,price\nZürich,3\nCafé “Crème”,4\n".encode("cp1252"))
    assert read_sample(sample) == [
        {"town": "Zürich", "price": 3},
        {"town": "Café “Crème”", "price": 4},
    ]
    root = project(tmp_path / "p")
    sample.write_bytes("colour,size\nrouge é,3\nvert à,4\n".encode("latin-1"))
    result = workbench(*["schema", "infer", "-p", str(root), "--from", str(sample)])
    assert result.returncode == 0, result.stdout
    assert "Traceback" not in result.stdout
    assert json.loads((root / "schema" / "examples" / "one.json").read_text())["size"] == 120


def test_a_sample_line_that_is_not_json_is_named_by_file_and_line(tmp_path: Path) -> None:
    import pytest

    from workbench.kernel.errors import WorkbenchError

    sample = tmp_path / "sample.jsonl"
    sample.write_text('{"size": 1}\n\n{"size": five}\n')
    with pytest.raises(WorkbenchError) as caught:
        read_sample(sample)
    assert str(caught.value).startswith(f"{sample}, line 3: not valid JSON")
