"""Reading and writing the YAML files a person edits by hand.

ruamel.yaml's round-trip mode keeps comments, key order and formatting when the
workbench edits a file, and knows the line of every key, so errors can name it.

A project's YAML may come from anyone: a file is read only when it is a regular file
under a size limit (`kernel.confine.read_bounded`), and a document whose aliases
expand past `MAX_NODES` (a "billion laughs" bomb loads in kilobytes but becomes
gigabytes when converted or validated) or refer to themselves is refused, naming it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.confine import check_inside, read_bounded
from workbench.kernel.errors import WorkbenchError

MAX_BYTES = 4 << 20  # a file a person edits by hand: a manifest, a schema, expectations
MAX_OWN_BYTES = 32 << 20  # a file the workbench writes (a snapshot's freeze, a release)
MAX_NODES = 200_000  # mappings, lists and scalars after every alias is expanded


# Plain words YAML 1.1 readers (PyYAML, many CI tools) take for booleans or null: written
# quoted, so a class `no` stays the string "no" for every reader, not only ours (YAML 1.2).
YAML11_WORDS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON"
    r"|off|Off|OFF|null|Null|NULL|~)$"
)


def _represent_str(representer: Any, data: str) -> Any:
    if YAML11_WORDS.match(data):
        return representer.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return representer.represent_str(data)


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.representer.add_representer(str, _represent_str)
    return yaml


def _read(
    path: Path,
    *,
    what: str,
    error: type[WorkbenchError],
    limit: int,
    within: Path | None,
) -> str:
    path = Path(path)
    if within is not None:
        check_inside(within, path, what=f"the {what}")
    try:
        return read_bounded(path, limit=limit, what=what).decode("utf-8")
    except FileNotFoundError:
        raise error(f"{path}: the {what} does not exist.") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: the {what} cannot be read ({exc}).") from None


def expanded_size(data: Any, *, source: str, what: str, error: type[WorkbenchError]) -> int:
    """How many nodes `data` has once every alias is expanded, counted without expanding
    (each shared node once); refused past `MAX_NODES` or when an alias contains itself."""
    counted: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        key = id(node)
        if key in counted:
            return counted[key]
        if key in open_nodes:
            raise error(
                f"{source}: the {what} has an alias inside its own anchor (a structure that "
                "contains itself), which has no end when it is read.",
                fix="replace that alias (*name) with the values it stands for.",
            )
        open_nodes.add(key)
        total = 1
        for child in node.values() if isinstance(node, dict) else node:
            total += size(child)
            if total > MAX_NODES:
                raise error(
                    f"{source}: the {what} expands to more than {MAX_NODES:,} values through "
                    "its aliases (*name) - an alias bomb, or far more than such a file holds; "
                    "it was not used.",
                    fix="write the values out instead of nesting aliases of aliases.",
                )
        open_nodes.discard(key)
        counted[key] = total
        return total

    try:
        return size(data)
    except RecursionError:
        raise error(
            f"{source}: the {what} is nested too deeply to be read.",
            fix="flatten it; no manifest or schema needs hundreds of levels.",
        ) from None


def load_yaml(
    path: Path,
    *,
    what: str = "file",
    error: type[WorkbenchError] = WorkbenchError,
    within: Path | None = None,
) -> Any:
    """Load a YAML file round-trip; a syntax error names the file and the line. With
    `within` (the project's root), the path must stay in the project."""
    text = _read(path, what=what, error=error, limit=MAX_BYTES, within=within)
    return parse_yaml(text, source=str(path), what=what, error=error)


def parse_yaml(
    text: str, *, source: str, what: str = "file", error: type[WorkbenchError] = WorkbenchError
) -> Any:
    try:
        data = _round_trip().load(text)
    except RecursionError:
        raise error(
            f"{source}: the {what} is nested too deeply to be read.",
            fix="flatten it; no manifest or schema needs hundreds of levels.",
        ) from None
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
    expanded_size(data, source=source, what=what, error=error)
    return data


def dump_yaml(data: Any) -> str:
    buffer = io.StringIO()
    _round_trip().dump(data, buffer)
    return buffer.getvalue()


def write_yaml_atomic(path: Path, data: Any, *, within: Path | None = None) -> None:
    write_text_atomic(path, dump_yaml(data), within=within, what="this YAML file")


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
    path: Path,
    *,
    what: str = "file",
    error: type[WorkbenchError] = WorkbenchError,
    within: Path | None = None,
) -> Any:
    """Load a YAML file the workbench wrote (C loader); errors name the file and line.
    It is still a file in someone's repository: bounded and alias-checked as well."""
    text = read_own_text(path, what=what, error=error, within=within)
    return parse_own_yaml(text, path, what=what, error=error)


def read_own_text(
    path: Path,
    *,
    what: str = "file",
    error: type[WorkbenchError] = WorkbenchError,
    within: Path | None = None,
) -> str:
    """The text of a file the workbench wrote: bounded, inside `within`."""
    return _read(path, what=what, error=error, limit=MAX_OWN_BYTES, within=within)


def parse_own_yaml(
    text: str, path: Path, *, what: str = "file", error: type[WorkbenchError] = WorkbenchError
) -> Any:
    """The data of `text`, read from `path` (C loader); errors name the file and line."""
    import yaml  # only where the workbench's own files are read (import cost)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(text, Loader=loader)
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
    except RecursionError:
        raise error(f"{path}: the {what} is nested too deeply to be read.") from None
    expanded_size(data, source=str(path), what=what, error=error)
    return data


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
