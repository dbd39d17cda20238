"""Inferring the contract from data: example requests (JSON), a CSV or Parquet sample.

The request schema describes one record: types, required fields, numeric bounds
and low-cardinality enums taken from the data, `additionalProperties: false`,
and an empty `description` per field for a person to fill. The response schema
is inferred the same way from the model's answers to the examples.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import dump_yaml

ENUM_LIMIT = 10
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def infer_value(values: list[Any]) -> dict[str, Any]:
    kinds = {_kind(v) for v in values}
    present = [v for v in values if v is not None]
    schema: dict[str, Any] = {}
    if {"integer", "number"} >= kinds - {"null"} and kinds - {"null"}:
        kind = "integer" if kinds - {"null"} == {"integer"} else "number"
        schema["type"] = kind
        schema["minimum"] = min(present)
        schema["maximum"] = max(present)
    elif kinds - {"null"} == {"boolean"}:
        schema["type"] = "boolean"
    elif kinds - {"null"} == {"string"}:
        schema["type"] = "string"
        distinct = sorted(set(present))
        if len(distinct) <= ENUM_LIMIT and len(distinct) < max(2, len(present)):
            schema["enum"] = distinct
        else:
            schema["maxLength"] = max(len(v) for v in present) * 2
    elif kinds - {"null"} == {"object"}:
        schema.update(infer_record(present))
    elif kinds - {"null"} == {"array"}:
        schema["type"] = "array"
        schema["items"] = infer_value([item for v in present for item in v])
    elif kinds - {"null"}:
        schema["type"] = sorted(k for k in kinds if k != "null")
    if "null" in kinds and "type" in schema:
        kinds_list = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*kinds_list, "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    schema["description"] = ""
    return schema


def infer_record(records: list[dict[str, Any]], *, title: str | None = None) -> dict[str, Any]:
    if not records or not all(isinstance(r, dict) for r in records):
        raise WorkbenchError(
            "the examples must be JSON objects (one record each).",
            fix="put one request object per example file.",
        )
    names: list[str] = []
    for record in records:
        names += [n for n in record if n not in names]
    properties = {name: infer_value([r.get(name) for r in records]) for name in names}
    required = [n for n in names if all(r.get(n) is not None for r in records)]
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
    if title:
        schema = {"$schema": DRAFT, "title": title, **schema}
    if required:
        schema["required"] = required
    schema["properties"] = properties
    return schema


def _cell(text: str) -> Any:
    if text == "":
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            continue
    return text


def read_sample(path: Path, limit: int = 10_000) -> list[dict[str, Any]]:
    """Records from a folder of JSON files, a .json/.jsonl file, a CSV or a Parquet file."""
    if path.is_dir():
        return [json.loads(p.read_text()) for p in sorted(path.glob("*.json"))]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as handle:
            rows = []
            for number, row in enumerate(csv.DictReader(handle)):
                if number >= limit:
                    break
                rows.append({k: _cell(v) for k, v in row.items() if k is not None})
            return rows
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq  # optional: only for Parquet samples
        except ImportError:
            raise WorkbenchError(
                f"{path}: reading Parquet needs pyarrow.",
                fix="install pyarrow, or export a CSV sample.",
            ) from None
        return list(pq.read_table(path).slice(0, limit).to_pylist())
    if suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if suffix == ".json":
        data = json.loads(path.read_text())
        return data if isinstance(data, list) else [data]
    raise WorkbenchError(
        f"{path}: not a sample format the workbench reads.",
        fix="use a folder of JSON examples, .json, .jsonl, .csv or .parquet.",
    )


def write_schema(path: Path, schema: dict[str, Any], *, force: bool, comment: str) -> None:
    """Write an inferred schema; a file that exists (maybe hand-edited) needs force."""
    if path.exists() and not force:
        raise WorkbenchError(
            f"{path} exists and may hold your edits; it was left as it is.",
            fix="pass --force to replace it with the inferred schema.",
        )
    write_text_atomic(path, f"# {comment}\n" + dump_yaml(schema))
