"""The project manifest, `workbench.yaml`: a typed loader with defaults and validation.

The manifest is one small file a person edits by hand, so its errors are
written for that person: each names the file, the line, the field path and
the fix, and an unknown key comes with a "did you mean" suggestion. All the
problems of a file are reported together, in one paragraph.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.kernel.errors import ManifestError
from workbench.kernel.yamlio import line_of, load_yaml

MANIFEST_NAME = "workbench.yaml"
FLAVORS = ("sklearn", "python")
IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
PREDICTOR_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
REGISTRY_REF = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$")
MEMORY = re.compile(r"^\d+[kmgKMG]?$")
TAG_PREFIX = re.compile(r"^[A-Za-z0-9._/-]*$")


@dataclass(frozen=True)
class ModelSpec:
    flavor: str = "sklearn"
    artifact: str | None = None
    predictor: str | None = None
    code: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchemaSpec:
    request: str = "schema/request.yaml"
    response: str = "schema/response.yaml"
    examples: str = "schema/examples"


@dataclass(frozen=True)
class ServeSpec:
    base_image: str | None = None
    port: int = 8080
    max_body_bytes: int = 1_048_576
    memory_limit: str = "1g"
    ready_timeout: int = 60


@dataclass(frozen=True)
class ChecklistSpec:
    extra: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseSpec:
    tag_prefix: str = "v"


@dataclass(frozen=True)
class Manifest:
    """A loaded, validated `workbench.yaml`; paths in it are relative to `root`."""

    root: Path
    name: str
    python: str | None = None
    model: ModelSpec = field(default_factory=ModelSpec)
    schema: SchemaSpec = field(default_factory=SchemaSpec)
    serve: ServeSpec = field(default_factory=ServeSpec)
    registry: str | None = None
    checklist: ChecklistSpec = field(default_factory=ChecklistSpec)
    release: ReleaseSpec = field(default_factory=ReleaseSpec)

    @property
    def path(self) -> Path:
        return self.root / MANIFEST_NAME

    def resolve(self, relative: str) -> Path:
        # abspath, not Path.resolve(): a venv's python is a symlink that must stay one.
        return Path(os.path.abspath(self.root / relative))

    def interpreter(self) -> Path:
        """The interpreter of the model's environment (default: the one running us)."""
        if self.python is None:
            return Path(sys.executable)
        return self.resolve(self.python) if "/" in self.python else Path(self.python)


# --- the shape of the file -------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    kind: str  # "str" | "int" | "strlist" | "section"
    help: str
    children: dict[str, _Field] | None = None
    choices: tuple[str, ...] | None = None
    pattern: re.Pattern[str] | None = None
    nullable: bool = True
    minimum: int | None = None


_SHAPE: dict[str, _Field] = {
    "name": _Field(
        "str",
        "the image name: lowercase letters, digits and . _ -, e.g. churn-model",
        pattern=IMAGE_NAME,
        nullable=False,
    ),
    "python": _Field("str", "the interpreter of the model's environment, e.g. .venv/bin/python"),
    "model": _Field(
        "section",
        "how to load the model",
        children={
            "flavor": _Field(
                "str", "one of " + ", ".join(FLAVORS), choices=FLAVORS, nullable=False
            ),
            "artifact": _Field("str", "the saved model file, e.g. models/model.joblib"),
            "predictor": _Field(
                "str",
                "your predictor class as module:Class, e.g. predict:ChurnModel",
                pattern=PREDICTOR_REF,
            ),
            "code": _Field("strlist", "extra files or folders of your code the predictor needs"),
        },
    ),
    "schema": _Field(
        "section",
        "where the request/response contract lives",
        children={
            "request": _Field(
                "str", "the request schema, e.g. schema/request.yaml", nullable=False
            ),
            "response": _Field(
                "str", "the response schema, e.g. schema/response.yaml", nullable=False
            ),
            "examples": _Field("str", "the folder of example request JSON files", nullable=False),
        },
    ),
    "serve": _Field(
        "section",
        "how the image is built and run",
        children={
            "base_image": _Field("str", "the base image, e.g. python:3.11-slim"),
            "port": _Field(
                "int",
                "the port the server listens on inside the container, e.g. 8080",
                nullable=False,
                minimum=1,
            ),
            "max_body_bytes": _Field(
                "int", "the largest request body accepted, in bytes", nullable=False, minimum=1
            ),
            "ready_timeout": _Field(
                "int",
                "seconds the container may take to load the model and become ready, e.g. 60",
                nullable=False,
                minimum=1,
            ),
            "memory_limit": _Field(
                "str",
                "the container's memory limit, e.g. 512m or 1g",
                pattern=MEMORY,
                nullable=False,
            ),
        },
    ),
    "registry": _Field(
        "str", "the image repository, e.g. localhost:5000/team/churn-model", pattern=REGISTRY_REF
    ),
    "checklist": _Field(
        "section",
        "team checklist additions",
        children={
            "extra": _Field("strlist", "checklist definition files of your team, relative paths"),
            "disable": _Field("strlist", "ids of built-in checklist items to switch off"),
        },
    ),
    "release": _Field(
        "section",
        "how releases are tagged",
        children={
            "tag_prefix": _Field(
                "str",
                "the git tag prefix, e.g. v or churn-model/v",
                pattern=TAG_PREFIX,
                nullable=False,
            ),
        },
    ),
}


class _Problems:
    def __init__(self, source: Path) -> None:
        self.source = source
        self.items: list[tuple[int, str]] = []

    def add(self, line: int | None, path: str, text: str) -> None:
        where = f"line {line}, " if line else ""
        self.items.append((line or 10**9, f"{where}`{path}`: {text}"))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = len(self.items)
        head = f"{self.source}: {count} problem{'s' if count > 1 else ''}: "
        in_file_order = [text for _, text in sorted(self.items, key=lambda item: item[0])]
        raise ManifestError(
            head + "; ".join(in_file_order) + ".",
            fix=f"edit {self.source.name} as said above, then run the command again "
            "(`workbench init --force` writes a fresh starter file).",
        )


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "empty"
    return type(value).__name__


def _check(node: Any, shape: dict[str, _Field], prefix: str, problems: _Problems) -> dict[str, Any]:
    """Validate one mapping against its shape; return the plain values that passed."""
    values: dict[str, Any] = {}
    for key in node:
        path = f"{prefix}{key}"
        line = line_of(node, key)
        spec = shape.get(str(key))
        if spec is None:
            close = difflib.get_close_matches(str(key), list(shape), n=1, cutoff=0.6)
            hint = (
                f"did you mean `{prefix}{close[0]}`?"
                if close
                else ("known keys here: " + ", ".join(shape))
            )
            problems.add(line, path, f"unknown key; {hint}")
            continue
        value = node[key]
        if value is None:
            if not spec.nullable:
                problems.add(line, path, f"is empty; expected {spec.help}")
            continue
        if spec.kind == "section":
            if not isinstance(value, dict):
                problems.add(
                    line, path, f"expected a mapping ({spec.help}), got {_type_name(value)}"
                )
                continue
            assert spec.children is not None
            values[str(key)] = _check(value, spec.children, f"{path}.", problems)
        elif spec.kind == "str":
            if not isinstance(value, str):
                problems.add(line, path, f"expected text ({spec.help}), got {_type_name(value)}")
            elif spec.choices and value not in spec.choices:
                close = difflib.get_close_matches(value, list(spec.choices), n=1, cutoff=0.5)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                problems.add(line, path, f"`{value}` is not {spec.help}{hint}")
            elif spec.pattern and not spec.pattern.match(value):
                problems.add(line, path, f"`{value}` is not valid; expected {spec.help}")
            else:
                values[str(key)] = value
        elif spec.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                problems.add(
                    line, path, f"expected a whole number ({spec.help}), got {_type_name(value)}"
                )
            elif spec.minimum is not None and value < spec.minimum:
                problems.add(line, path, f"must be at least {spec.minimum}")
            else:
                values[str(key)] = value
        elif spec.kind == "strlist":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.add(line, path, f"expected a list of text ({spec.help})")
            else:
                values[str(key)] = tuple(str(v) for v in value)
    return values


def _line(node: Any, *keys: str) -> int | None:
    for key in keys[:-1]:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return line_of(node, keys[-1]) if isinstance(node, dict) else None


def load_manifest(root: Path | str) -> Manifest:
    """Load `workbench.yaml` from a project folder (or the file itself)."""
    root = Path(root)
    if root.name == MANIFEST_NAME and not root.is_dir():
        root = root.parent
    root = root.resolve()
    source = root / MANIFEST_NAME
    if not source.exists():
        raise ManifestError(
            f"{source}: no manifest here; this folder is not a workbench project yet.",
            fix="run `workbench init` in the model project (or `workbench init --example iris DIR` "
            "for the example), or pass `--project DIR`.",
        )
    data = load_yaml(source, what="manifest", error=ManifestError)
    problems = _Problems(source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(1, "(top level)", f"expected a mapping of keys, got {_type_name(data)}")
        problems.raise_if_any()
    values = _check(data, _SHAPE, "", problems)
    if "name" not in data:
        problems.add(None, "name", "is missing; " + _SHAPE["name"].help)
    manifest = _build(root, values)
    _check_meaning(manifest, data, problems)
    problems.raise_if_any()
    return manifest


def _build(root: Path, values: dict[str, Any]) -> Manifest:
    return Manifest(
        root=root,
        name=values.get("name", "model"),
        python=values.get("python"),
        model=ModelSpec(**values.get("model", {})),
        schema=SchemaSpec(**values.get("schema", {})),
        serve=ServeSpec(**values.get("serve", {})),
        registry=values.get("registry"),
        checklist=ChecklistSpec(**values.get("checklist", {})),
        release=ReleaseSpec(**values.get("release", {})),
    )


def _check_meaning(manifest: Manifest, data: Any, problems: _Problems) -> None:
    """Checks across fields and against the disk, once each field has the right type.

    The interpreter is not required to exist here: a reviewer who cloned the project
    without its environment can still read and report its checklist; the Snapshot
    step fails loudly instead.
    """
    model = manifest.model
    if model.flavor == "sklearn":
        if not model.artifact:
            problems.add(
                _line(data, "model"),
                "model.artifact",
                "is missing; flavor sklearn needs the saved model file, e.g. models/model.joblib",
            )
    elif model.flavor == "python" and not model.predictor:
        problems.add(
            _line(data, "model"),
            "model.predictor",
            "is missing; flavor python needs your class as module:Class",
        )
    if model.artifact and not manifest.resolve(model.artifact).exists():
        problems.add(
            _line(data, "model", "artifact"),
            "model.artifact",
            f"`{model.artifact}` does not exist in {manifest.root}; "
            "train and save the model first, or correct the path",
        )
    for index, extra in enumerate(model.code):
        if not manifest.resolve(extra).exists():
            problems.add(
                _line(data, "model", "code"),
                f"model.code[{index}]",
                f"`{extra}` does not exist in {manifest.root}",
            )
    for index, extra in enumerate(manifest.checklist.extra):
        if not manifest.resolve(extra).exists():
            problems.add(
                _line(data, "checklist", "extra"),
                f"checklist.extra[{index}]",
                f"`{extra}` does not exist in {manifest.root}",
            )
