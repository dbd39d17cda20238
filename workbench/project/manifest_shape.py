"""The shape of `workbench.yaml`: every key, its type and meaning, and how a value is
checked; each problem is collected with its line so the manifest's error names them all."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel.errors import ManifestError
from workbench.kernel.yamlio import line_of

FLAVORS = ("sklearn", "python")
IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
PREDICTOR_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
REGISTRY_REF = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$")
MEMORY = re.compile(r"^\d+[kmgKMG]?$")
DEB_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
TAG_PREFIX = re.compile(r"^[A-Za-z0-9._/-]*$")


@dataclass(frozen=True)
class Field:
    kind: str  # "str" | "int" | "number" | "bool" | "strlist" | "section"
    help: str
    children: dict[str, Field] | None = None
    choices: tuple[str, ...] | None = None
    pattern: re.Pattern[str] | None = None
    nullable: bool = True
    minimum: int | None = None
    maximum: int | None = None


# Quality metrics (scikit-learn's implementations); higher is better unless in LOWER_IS_BETTER.
METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "rmse", "mae", "r2")
LOWER_IS_BETTER = ("log_loss", "rmse", "mae")

SHAPE: dict[str, Field] = {
    "name": Field(
        "str",
        "the image name: lowercase letters, digits and . _ -, e.g. churn-model",
        pattern=IMAGE_NAME,
        nullable=False,
    ),
    "python": Field("str", "the interpreter of the model's environment, e.g. .venv/bin/python"),
    "model": Field(
        "section",
        "how to load the model",
        children={
            "flavor": Field("str", "one of " + ", ".join(FLAVORS), choices=FLAVORS, nullable=False),
            "artifact": Field("str", "the saved model file, e.g. models/model.joblib"),
            "predictor": Field(
                "str",
                "your predictor class as module:Class, e.g. predict:ChurnModel",
                pattern=PREDICTOR_REF,
            ),
            "code": Field("strlist", "extra files or folders of your code the predictor needs"),
        },
    ),
    "schema": Field(
        "section",
        "where the request/response contract lives",
        children={
            "request": Field("str", "the request schema, e.g. schema/request.yaml", nullable=False),
            "response": Field(
                "str", "the response schema, e.g. schema/response.yaml", nullable=False
            ),
            "examples": Field("str", "the folder of example request JSON files", nullable=False),
        },
    ),
    "serve": Field(
        "section",
        "how the image is built and run",
        children={
            "base_image": Field("str", "the base image, e.g. python:3.11-slim"),
            "system_packages": Field(
                "strlist",
                "Debian packages your libraries need in the image, e.g. [libgomp1] "
                "(LightGBM's); fetched on this host with apt-get download",
                pattern=DEB_PACKAGE,
            ),
            "port": Field(
                "int",
                "the port the server listens on inside the container, e.g. 8080",
                nullable=False,
                minimum=1,
                maximum=65535,
            ),
            "max_body_bytes": Field(
                "int", "the largest request body accepted, in bytes", nullable=False, minimum=1
            ),
            "ready_timeout": Field(
                "int",
                "seconds the container may take to load the model and become ready, e.g. 60",
                nullable=False,
                minimum=1,
            ),
            "engine_timeout": Field(
                "int",
                "seconds one call to the Docker engine may take before it is said to hang, e.g. 60",
                nullable=False,
                minimum=1,
            ),
            "workers": Field(
                "int",
                "server processes in the container, e.g. 2 (default: its CPU quota, at most 4)",
                minimum=1,
                maximum=64,
            ),
            "memory_limit": Field(
                "str",
                "the container's memory limit, e.g. 512m or 1g",
                pattern=MEMORY,
                nullable=False,
            ),
            "budget": Field(
                "section",
                "what the serve test's measurements may be at most (the performance gate)",
                children={
                    "p99_ms": Field(
                        "number",
                        "the slowest 1% of single requests, sequential and under 8 concurrent "
                        "clients, in ms (default 1000)",
                        minimum=0,
                        nullable=False,
                    ),
                    "error_rate": Field(
                        "number",
                        "the share of non-2xx answers to valid requests, 0-1 (default 0)",
                        minimum=0,
                        nullable=False,
                    ),
                    "peak_memory_mb": Field(
                        "number",
                        "the container's peak memory in MB (default 80% of memory_limit)",
                        minimum=0,
                    ),
                    "cold_start_s": Field(
                        "number",
                        "seconds from the container's start to ready (default 30)",
                        minimum=0,
                        nullable=False,
                    ),
                    "image_mb": Field(
                        "number", "the image's size in MB (default 2000)", minimum=0, nullable=False
                    ),
                },
            ),
        },
    ),
    "registry": Field(
        "str", "the image repository, e.g. localhost:5000/team/churn-model", pattern=REGISTRY_REF
    ),
    "checklist": Field(
        "section",
        "team checklist additions",
        children={
            "extra": Field("strlist", "checklist definition files of your team, relative paths"),
            "disable": Field("strlist", "ids of built-in checklist items to switch off"),
        },
    ),
    "evaluation": Field(
        "section",
        "how good the model's answers must be, on held-out data scored through the image",
        children={
            "data": Field(
                "str",
                "held-out records with the target column: .csv, .jsonl, .json or .parquet, "
                "e.g. data/holdout.csv",
                nullable=False,
            ),
            "target": Field(
                "str", "the column holding the true answer, e.g. species", nullable=False
            ),
            "metric": Field(
                "str",
                "one of " + ", ".join(METRICS),
                choices=METRICS,
                nullable=False,
            ),
            "output": Field(
                "str", "the answer's field holding the prediction (default prediction)"
            ),
            "minimum": Field("number", "the lowest acceptable score, e.g. 0.9"),
            "maximum": Field("number", "the highest acceptable error, e.g. 12.5"),
            "tolerance": Field(
                "number", "the drop allowed against the previous release, e.g. 0.01", minimum=0
            ),
            "expectations": Field(
                "str", "corner cases and their expected answers, e.g. schema/expectations.yaml"
            ),
        },
    ),
    "monitoring": Field(
        "section",
        "what the image records about its traffic",
        children={
            "log_predictions": Field(
                "bool", "true to log every prediction's inputs and outputs (default false)"
            ),
            "sample": Field("number", "the share of predictions logged, 0-1, e.g. 0.1", minimum=0),
            "drift": Field(
                "bool", "false to stop counting inputs and predictions for drift (default true)"
            ),
        },
    ),
    "release": Field(
        "section",
        "how releases are tagged",
        children={
            "tag_prefix": Field(
                "str",
                "the git tag prefix, e.g. v or churn-model/v",
                pattern=TAG_PREFIX,
                nullable=False,
            ),
        },
    ),
}


class Problems:
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


def bad_port(reference: str) -> bool:
    host = reference.split("/", 1)[0]
    port = host.rpartition(":")[2] if ":" in host else ""
    return port.isdigit() and not 0 < int(port) <= 65535


def type_name(value: Any) -> str:
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


def check_values(
    node: Any, shape: dict[str, Field], prefix: str, problems: Problems
) -> dict[str, Any]:
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
                    line, path, f"expected a mapping ({spec.help}), got {type_name(value)}"
                )
                continue
            assert spec.children is not None
            values[str(key)] = check_values(value, spec.children, f"{path}.", problems)
        elif spec.kind == "str":
            if not isinstance(value, str):
                problems.add(line, path, f"expected text ({spec.help}), got {type_name(value)}")
            elif spec.choices and value not in spec.choices:
                close = difflib.get_close_matches(value, list(spec.choices), n=1, cutoff=0.5)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                problems.add(line, path, f"`{value}` is not {spec.help}{hint}")
            elif spec.pattern and not spec.pattern.match(value):
                problems.add(line, path, f"`{value}` is not valid; expected {spec.help}")
            elif spec is SHAPE.get("registry") and bad_port(value):
                problems.add(line, path, f"`{value}` has a port over 65535; expected {spec.help}")
            else:
                values[str(key)] = value
        elif spec.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                problems.add(
                    line, path, f"expected a whole number ({spec.help}), got {type_name(value)}"
                )
            elif spec.minimum is not None and value < spec.minimum:
                problems.add(line, path, f"must be at least {spec.minimum}")
            elif spec.maximum is not None and value > spec.maximum:
                problems.add(line, path, f"must be at most {spec.maximum}")
            else:
                values[str(key)] = value
        elif spec.kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.add(line, path, f"expected a number ({spec.help}), got {type_name(value)}")
            elif spec.minimum is not None and value < spec.minimum:
                problems.add(line, path, f"must be at least {spec.minimum}")
            elif path in ("monitoring.sample", "serve.budget.error_rate") and value > 1:
                problems.add(line, path, "must be at most 1 (a share, 0-1)")
            else:
                values[str(key)] = float(value)
        elif spec.kind == "bool":
            if not isinstance(value, bool):
                problems.add(
                    line, path, f"expected true or false ({spec.help}), got {type_name(value)}"
                )
            else:
                values[str(key)] = value
        elif spec.kind == "strlist":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.add(line, path, f"expected a list of text ({spec.help})")
            elif spec.pattern and (bad := [v for v in value if not spec.pattern.match(v)]):
                problems.add(line, path, f"`{bad[0]}` is not allowed here ({spec.help})")
            else:
                values[str(key)] = tuple(str(v) for v in value)
    return values


def line_at(node: Any, *keys: str) -> int | None:
    for key in keys[:-1]:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return line_of(node, keys[-1]) if isinstance(node, dict) else None
