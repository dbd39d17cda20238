"""Sample and held-out data read as records: a CSV's cells typed by the request schema.

A CSV has no types, only text. Guessing each cell on its own sends an SMS text
"645" as the integer 645 while the rest of its column are strings, and the image
rightly answers 422. So a column is typed by what the request schema declares
for that field (integer, number, boolean, string, an enum's own values, null
where allowed); with no schema yet (inferring one), by the whole column: a
column is numeric only when every filled cell is. JSON, JSONL and Parquet carry
their own types and are read as they are.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from workbench.kernel.confine import check_inside, read_bounded, read_prefix
from workbench.kernel.errors import WorkbenchError

SAMPLE_BYTES = 64 << 20  # what inference reads of a sample: its first rows, never the whole
EXAMPLE_BYTES = 4 << 20  # one example request (a JSON file a person writes)

Schema = dict[str, Any]


def _text(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 (what spreadsheets
    export: its curly quotes and euro sign, where Latin-1 would give control characters),
    else Latin-1, which every byte sequence is: never a decoding error."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _lines(path: Path) -> tuple[str, bool]:
    """The text of a line-oriented sample (CSV, JSON lines) up to SAMPLE_BYTES, cut after
    its last whole line, and whether it was cut (a 2 GB training set is not read whole)."""
    data, cut = read_prefix(path, limit=SAMPLE_BYTES, what="sample")
    if cut:
        data = data[: data.rfind(b"\n") + 1]  # a newline byte is never inside a UTF-8 char
    return _text(data), cut


# A cell written with a decimal comma (`16,48`), as spreadsheets in many locales export.
DECIMAL_COMMA = re.compile(r"[+-]?\d+(,\d+)?")


def _delimiter(text: str) -> str:
    """The delimiter a CSV's header line shows: a comma whenever it has one, else the
    semicolon, tab or bar it has most of (locales with a decimal comma export `;`)."""
    header = text.split("\n", 1)[0]
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in ";\t|"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _decimal_commas(rows: list[dict[str, str]]) -> None:
    """In a semicolon-separated file, a column whose every filled cell is a number written
    with a decimal comma (`16,48`, `70`) holds numbers: read as `16.48` (text keeps its
    commas: one cell that is not such a number leaves the column alone)."""
    for name in rows[0] if rows else {}:
        filled = [row[name] for row in rows if row.get(name)]
        if any("," in c for c in filled) and all(DECIMAL_COMMA.fullmatch(c) for c in filled):
            for row in rows:
                if row.get(name):
                    row[name] = row[name].replace(",", ".")


def _csv_rows(path: Path, limit: int) -> list[dict[str, str]]:
    text, cut = _lines(path)
    delimiter = _delimiter(text)
    rows: list[dict[str, str]] = []
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, row in enumerate(reader):
        if number >= limit:
            break
        if None in row:  # cells past the header's: a row shifted by an unquoted delimiter
            raise WorkbenchError(
                f"{path}, line {reader.line_num}: {len(row) - 1 + len(row[None])} cells where "
                f"the header names {len(row) - 1}.",
                fix="quote the cells that hold the delimiter, or correct that line.",
            )
        rows.append(row)
    if cut and len(rows) < limit and rows:
        rows.pop()  # the last row may be one a quoted newline spread past the cut
    if delimiter == ";":
        _decimal_commas(rows)
    return rows


def _resolve(spec: Any, root: Schema) -> Any:
    """A local `$ref` (`#/$defs/...`) followed to what it names; anything else as it is."""
    seen = 0
    while isinstance(spec, dict) and isinstance(spec.get("$ref"), str) and seen < 20:
        ref = spec["$ref"]
        if not ref.startswith("#/"):
            return spec
        node: Any = root
        for part in ref[2:].split("/"):
            node = (
                node.get(part.replace("~1", "/").replace("~0", "~"))
                if isinstance(node, dict)
                else None
            )
        spec, seen = node, seen + 1
    return spec


def _declared(spec: Any, root: Schema) -> tuple[set[str], list[Any]]:
    """The open JSON types a field's schema allows and the values it lists (enum, const),
    its anyOf/oneOf branches included; "any" where it says nothing of the type."""
    spec = _resolve(spec, root)
    if not isinstance(spec, dict):
        return {"any"}, []
    if "const" in spec:
        return set(), [spec["const"]]
    if isinstance(spec.get("enum"), list):
        return set(), list(spec["enum"])
    branches = [b for k in ("anyOf", "oneOf") for b in spec.get(k) or [] if isinstance(b, dict)]
    if branches:
        beside = {k: v for k, v in spec.items() if k not in ("anyOf", "oneOf")}
        types: set[str] = set()
        values: list[Any] = []
        for branch in branches:
            branch_types, branch_values = _declared({**beside, **branch}, root)
            types |= branch_types
            values += branch_values
        return types, values
    kinds = spec.get("type")
    if kinds is None:
        return {"any"}, []
    return set(kinds) if isinstance(kinds, list) else {kinds}, []


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _boolean(text: str) -> bool | None:
    lowered = text.strip().lower()
    return {"true": True, "false": False, "1": True, "0": False}.get(lowered)


def typed_cell(text: str, spec: Any, root: Schema | None = None) -> Any:
    """One CSV cell as the value the request schema declares for its field. A cell that
    fits none of the declared types is kept as text, so the image's 422 names the field."""
    types, values = _declared(spec, root or {})
    if text == "":
        # CSV cannot tell an empty string from a missing value: missing, unless the
        # field takes strings and not null.
        takes_null = "null" in types or None in values
        return "" if "string" in types and not takes_null else None
    for value in values:
        if isinstance(value, str) and value == text:
            return value
        if isinstance(value, bool) and _boolean(text) is value:
            return value
        if (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and _number(text) == value
        ):
            return value
    if not types:
        return text  # not one of the listed values: the image's 422 names the field
    if "any" in types:
        return guess_cell(text)
    if "integer" in types:
        number = _number(text)
        if isinstance(number, int):
            return number
        if isinstance(number, float) and number.is_integer() and "number" not in types:
            return int(number)  # 3.0: how pandas writes an integer column with gaps
    if "number" in types:
        number = _number(text)
        if number is not None:
            return number
    if "boolean" in types and _boolean(text) is not None:
        return _boolean(text)
    if types & {"object", "array"}:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def guess_cell(text: str) -> Any:
    """A cell typed by its looks alone: only where nothing declares its field."""
    if text == "":
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    number = _number(text)
    return text if number is None else number


def _column_types(rows: list[dict[str, str]]) -> dict[str, Schema]:
    """With no schema: each column's type from all its filled cells together, so one
    numeric-looking cell in a text column stays text."""
    out: dict[str, Schema] = {}
    for name in rows[0] if rows else {}:
        cells = [row.get(name) or "" for row in rows]
        filled = [c for c in cells if c != ""]
        guessed = {type(guess_cell(c)) for c in filled}
        if not filled or guessed - {int, float, bool} or (bool in guessed and len(guessed) > 1):
            kind = "string" if filled else "any"
        elif guessed == {bool}:
            kind = "boolean"
        elif guessed == {int}:
            kind = "integer"
        else:
            kind = "number"
        out[name] = {"type": [kind, "null"]} if kind != "any" else {}
    return out


# A column is taken as numbers with a few bad cells (not as text) when at least this many of
# its filled cells are numbers and at most one in ten is not.
NUMERIC_CELLS_AT_LEAST = 10


def refuse_odd_cells(path: Path, rows: list[dict[str, str]]) -> None:
    """A column of numbers with a few cells that are not ("five", "n/a", "1,5") would be
    inferred as free text, and the model fail on it later without a word of where: each such
    cell is named by file, row and column, all at once."""
    odd: list[str] = []
    for name in rows[0] if rows else {}:
        filled = [(i, row.get(name) or "") for i, row in enumerate(rows)]
        filled = [(i, text) for i, text in filled if text.strip() != ""]
        bad = [(i, text) for i, text in filled if _number(text) is None]
        numbers = len(filled) - len(bad)
        if bad and numbers >= NUMERIC_CELLS_AT_LEAST and len(bad) * 10 <= len(filled):
            odd += [f"row {i + 1}, column `{name}`: {text!r}" for i, text in bad]
    if odd:
        shown = "; ".join(odd[:20]) + (f"; and {len(odd) - 20} more" if len(odd) > 20 else "")
        raise WorkbenchError(
            f"{path}: {len(odd)} value(s) are not numbers in columns of numbers (rows counted "
            f"from the first after the header): {shown}.",
            fix="correct those cells, or leave them empty (a missing value), and infer again.",
        )


def _json(path: Path, text: str, line: int | None = None) -> Any:
    """One JSON document of a sample; one that does not parse is named by file and line."""
    try:
        return json.loads(text)
    except ValueError as exc:
        where = f"line {line}" if line is not None else f"line {getattr(exc, 'lineno', '?')}"
        raise WorkbenchError(
            f"{path}, {where}: not valid JSON ({getattr(exc, 'msg', exc)}).",
            fix="correct that line, or remove it from the sample.",
        ) from None


def _inside(path: Path, within: Path | None) -> Path:
    """Each file of a sample folder the project names stays in the project too."""
    return check_inside(within, path, what="the sample") if within is not None else path


def read_sample(
    path: Path,
    limit: int = 10_000,
    *,
    schema: Schema | None = None,
    within: Path | None = None,
    refuse_odd: bool = False,
) -> list[dict[str, Any]]:
    """Records from a folder of JSON files, a .json/.jsonl file, a CSV or a Parquet file.
    A CSV's cells are typed by `schema` (the request schema) where it declares the column,
    else by their whole column. A file the project names (`within` its root) must stay in
    it; a line-oriented file is read up to SAMPLE_BYTES (its first rows). With `refuse_odd`
    (inferring), a CSV column of numbers with a few cells that are not is refused, naming
    each."""
    if within is not None:
        check_inside(within, path, what="the sample", folder=path.is_dir())
    if path.is_dir():
        return [
            _json(p, _text(read_bounded(_inside(p, within), limit=EXAMPLE_BYTES, what="record")))
            for p in sorted(path.glob("*.json"))
        ]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path, limit)
        if refuse_odd:
            refuse_odd_cells(path, rows)
        properties = (schema or {}).get("properties") or {}
        by_column = _column_types(rows)
        return [
            {
                name: typed_cell(text or "", properties.get(name, by_column.get(name, {})), schema)
                for name, text in row.items()
            }
            for row in rows
        ]
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
        lines = _lines(path)[0].splitlines()
        return [_json(path, line, n) for n, line in enumerate(lines, 1) if line.strip()][:limit]
    if suffix == ".json":
        data = _json(
            path, _text(read_bounded(path, limit=SAMPLE_BYTES, what="sample (one JSON document)"))
        )
        return data if isinstance(data, list) else [data]
    raise WorkbenchError(
        f"{path}: not a sample format the workbench reads.",
        fix="use a folder of JSON examples, .json, .jsonl, .csv or .parquet.",
    )
