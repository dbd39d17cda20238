"""Reading and writing the YAML files a person edits by hand.

ruamel.yaml's round-trip mode keeps comments, key order and formatting when the
workbench edits a file, and knows the line of every key, so errors can name it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    return yaml


def load_yaml(
    path: Path, *, what: str = "file", error: type[WorkbenchError] = WorkbenchError
) -> Any:
    """Load a YAML file round-trip; a syntax error names the file and the line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: the {what} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: the {what} cannot be read ({exc}).") from None
    return parse_yaml(text, source=str(path), what=what, error=error)


def parse_yaml(
    text: str, *, source: str, what: str = "file", error: type[WorkbenchError] = WorkbenchError
) -> Any:
    try:
        return _round_trip().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        problem = exc.problem or exc.context or "invalid YAML"
        raise error(
            f"{where}: the {what} is not valid YAML ({problem}).",
            fix="correct the indentation or quoting on that line; YAML needs spaces, not tabs, "
            "and a space after each colon.",
        ) from None
    except YAMLError as exc:
        raise error(f"{source}: the {what} is not valid YAML ({exc}).") from None


def dump_yaml(data: Any) -> str:
    buffer = io.StringIO()
    _round_trip().dump(data, buffer)
    return buffer.getvalue()


def write_yaml_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, dump_yaml(data))


def line_of(node: Any, key: str | int) -> int | None:
    """1-based line of `key` inside a round-trip mapping or sequence, when known."""
    try:
        if isinstance(node, CommentedMap):
            return int(node.lc.key(key)[0]) + 1
        if isinstance(node, CommentedSeq):
            return int(node.lc.item(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return None
    return None


def to_plain(node: Any) -> Any:
    """Round-trip containers to plain dicts and lists (for JSON Schema validators)."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    return node


# --- the workbench's own files: PyYAML with its C loader ------------------------------------
# snapshot.yaml, releases/*.yaml, channels.yaml and checklist.yaml are written by the
# workbench and read on every refresh; they need speed, not comment preservation.


def read_own_yaml(
    path: Path, *, what: str = "file", error: type[WorkbenchError] = WorkbenchError
) -> Any:
    """Load a YAML file the workbench wrote (C loader); errors name the file and line."""
    import yaml  # only where the workbench's own files are read (import cost)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: the {what} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: the {what} cannot be read ({exc}).") from None
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}, line {mark.line + 1}" if mark else str(path)
        raise error(
            f"{where}: the {what} is not valid YAML ({exc.problem or exc.context}).",
            fix=f"restore it from git (`git checkout -- {Path(path).name}`); the workbench "
            "writes this file, it is not edited by hand.",
        ) from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: the {what} is not valid YAML ({exc}).") from None


def dump_own_yaml(data: Any) -> str:
    """Block-style YAML in the mapping's own key order (stable diffs), C dumper."""
    import yaml  # only where the workbench's own files are written (import cost)

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(
        data,
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return text
