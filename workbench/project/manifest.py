"""The project manifest, `workbench.yaml`: a typed loader with defaults and validation.

The manifest is one small file a person edits by hand, so its errors are
written for that person: each names the file, the line, the field path and
the fix, and an unknown key comes with a "did you mean" suggestion. All the
problems of a file are reported together, in one paragraph.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.kernel.errors import ManifestError
from workbench.kernel.yamlio import load_yaml
from workbench.project.manifest_shape import (
    LOWER_IS_BETTER,
    SHAPE,
    Problems,
    check_values,
    line_at,
    type_name,
)

MANIFEST_NAME = "workbench.yaml"


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
class BudgetSpec:
    """What the serve test's measurements may be at most (`serve.budget`): the performance
    gate fails on any figure over its budget."""

    p99_ms: float = 1000.0  # single requests: sequential, and under 8 concurrent clients
    error_rate: float = 0.0  # share of non-2xx answers to valid requests
    peak_memory_mb: float | None = None  # None: 80% of serve.memory_limit
    cold_start_s: float = 30.0  # container start to ready
    image_mb: float = 2000.0  # the image's size


@dataclass(frozen=True)
class ServeSpec:
    base_image: str | None = None
    port: int = 8080
    max_body_bytes: int = 1_048_576
    memory_limit: str = "1g"
    ready_timeout: int = 60
    engine_timeout: int = 60  # seconds any one call to the Docker engine may take
    workers: int | None = None  # server processes; None: the container's CPU quota
    system_packages: tuple[str, ...] = ()  # Debian packages installed into the image
    budget: BudgetSpec = field(default_factory=BudgetSpec)

    @property
    def memory_bytes(self) -> int:
        """`memory_limit` in bytes (its shape is checked on load: digits, then k, m or g)."""
        text = self.memory_limit.strip().lower()
        unit = text[-1] if text[-1:] in ("k", "m", "g") else ""
        return int(text.rstrip("kmg")) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


@dataclass(frozen=True)
class ChecklistSpec:
    extra: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvaluationSpec:
    data: str
    target: str
    metric: str
    output: str = "prediction"
    minimum: float | None = None
    maximum: float | None = None
    tolerance: float = 0.0
    expectations: str | None = None

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    @property
    def bound(self) -> float | None:
        return self.maximum if self.lower_is_better else self.minimum


@dataclass(frozen=True)
class MonitoringSpec:
    log_predictions: bool = False  # one JSON line per prediction, inputs and outputs
    sample: float = 1.0  # the share of predictions logged
    drift: bool = True  # count inputs and predictions into the reference's bins


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
    evaluation: EvaluationSpec | None = None
    monitoring: MonitoringSpec = field(default_factory=MonitoringSpec)

    @property
    def path(self) -> Path:
        return self.root / MANIFEST_NAME

    @property
    def project_id(self) -> str:
        """This project's id on the Docker engine (see `project_id`)."""
        return project_id(self.root)

    def resolve(self, relative: str) -> Path:
        # abspath, not Path.resolve(): a venv's python is a symlink that must stay one.
        return Path(os.path.abspath(self.root / relative))

    def interpreter(self) -> Path:
        """The interpreter of the model's environment: `python:`, else the project's
        `.venv`. Never the workbench's own: snapshotting that would ship its libraries
        (Rich, Pygments ...) in the model's lock."""
        if self.python is not None:
            return self.resolve(self.python) if "/" in self.python else Path(self.python)
        default = self.root / ".venv" / "bin" / "python"
        if default.exists():
            return Path(os.path.abspath(default))
        raise ManifestError(
            f"{self.path}: no environment for the model: `python:` is not set and there is no "
            f"{default.relative_to(self.root)}; the workbench never inspects its own "
            "interpreter in its place.",
            fix="create the model's environment (`python -m venv .venv` and install the "
            "model's requirements into it) or set `python:` to its interpreter.",
        )


def project_root(path: Path | str) -> Path:
    """The resolved project folder of `path` (a project folder, or its manifest file)."""
    root = Path(path)
    if root.name == MANIFEST_NAME and not root.is_dir():
        root = root.parent
    return root.resolve()


def project_id(path: Path | str) -> str:
    """A short id of the project at `path`, from its resolved folder: the containers and
    services the workbench starts carry it, so that a cleanup removes this project's own
    and never another project's on the same engine (two copies of one project, with the
    same `name:`, are two projects). Read without loading the manifest, so a project whose
    `workbench.yaml` is broken can still be cleaned up."""
    return hashlib.sha256(str(project_root(path)).encode()).hexdigest()[:16]


def load_manifest(root: Path | str) -> Manifest:
    """Load `workbench.yaml` from a project folder (or the file itself)."""
    root = project_root(root)
    source = root / MANIFEST_NAME
    if not source.exists():
        raise ManifestError(
            f"{source}: no manifest here; this folder is not a workbench project yet.",
            fix="run `workbench init` in the model project (or `workbench init --example iris DIR` "
            "for the example), or pass `--project DIR`.",
        )
    data = load_yaml(source, what="manifest", error=ManifestError)
    problems = Problems(source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.add(1, "(top level)", f"expected a mapping of keys, got {type_name(data)}")
        problems.raise_if_any()
    values = check_values(data, SHAPE, "", problems)
    if "name" not in data:
        problems.add(None, "name", "is missing; " + SHAPE["name"].help)
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
        serve=_serve(values.get("serve", {})),
        registry=values.get("registry"),
        checklist=ChecklistSpec(**values.get("checklist", {})),
        release=ReleaseSpec(**values.get("release", {})),
        evaluation=_evaluation(values.get("evaluation")),
        monitoring=MonitoringSpec(**values.get("monitoring", {})),
    )


def _serve(values: dict[str, Any]) -> ServeSpec:
    budget = BudgetSpec(**values.get("budget", {}))
    return ServeSpec(**{**values, "budget": budget})


def _evaluation(values: dict[str, Any] | None) -> EvaluationSpec | None:
    """The evaluation block, when it has what it needs (what it lacks is said by
    _check_meaning)."""
    if not values or not {"data", "target", "metric"} <= set(values):
        return None
    return EvaluationSpec(**values)


def _inside(root: Path, relative: str) -> bool:
    """Whether a path of the manifest stays in the project, symlinks followed."""
    real = (root / relative).resolve()
    return real == root or root in real.parents


def _project_paths(manifest: Manifest, data: Any) -> list[tuple[int | None, str, str]]:
    """(line, field, path) of every path in the manifest that must stay in the project."""
    found: list[tuple[int | None, str, str]] = []
    if manifest.model.artifact:
        found.append(
            (line_at(data, "model", "artifact"), "model.artifact", manifest.model.artifact)
        )
    for index, extra in enumerate(manifest.model.code):
        found.append((line_at(data, "model", "code"), f"model.code[{index}]", extra))
    for key in ("request", "response", "examples"):
        found.append((line_at(data, "schema", key), f"schema.{key}", getattr(manifest.schema, key)))
    for index, extra in enumerate(manifest.checklist.extra):
        found.append((line_at(data, "checklist", "extra"), f"checklist.extra[{index}]", extra))
    evaluation = manifest.evaluation
    if evaluation:
        found.append((line_at(data, "evaluation", "data"), "evaluation.data", evaluation.data))
        if evaluation.expectations:
            found.append(
                (
                    line_at(data, "evaluation", "expectations"),
                    "evaluation.expectations",
                    evaluation.expectations,
                )
            )
    return found


def _predictor_problem(root: Path, reference: str) -> str | None:
    """Why `module:Class` names no class of the project (with a suggestion), or None."""
    module, _, name = reference.partition(":")
    base = root / Path(*module.split("."))
    source = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
    if source is None:
        modules = sorted(p.stem for p in root.glob("*.py"))
        close = difflib.get_close_matches(module, modules, n=1, cutoff=0.5)
        hint = f"; did you mean `{close[0]}:{name}`?" if close else ""
        return f"there is no module `{module}` ({module.replace('.', '/')}.py) in {root}{hint}"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return None  # the snapshot, which imports it, says what is wrong with the module
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    if name in classes:
        return None
    close = difflib.get_close_matches(name, classes, n=1, cutoff=0.5)
    hint = (
        f"did you mean `{module}:{close[0]}`?"
        if close
        else ("its classes: " + (", ".join(classes) or "none"))
    )
    return f"`{source.name}` defines no class `{name}`; {hint}"


def _check_evaluation(manifest: Manifest, data: Any, problems: Problems) -> None:
    block = data.get("evaluation") if isinstance(data, dict) else None
    if not isinstance(block, dict):
        return
    for key in ("data", "target", "metric"):
        if block.get(key) is None:
            problems.add(
                line_at(data, "evaluation"),
                f"evaluation.{key}",
                "is missing; " + SHAPE["evaluation"].children[key].help,  # type: ignore[index]
            )
    evaluation = manifest.evaluation
    if evaluation is None:
        return
    right, wrong = ("maximum", "minimum") if evaluation.lower_is_better else ("minimum", "maximum")
    kind = "an error: lower" if evaluation.lower_is_better else "a score: higher"
    if block.get(wrong) is not None:
        problems.add(
            line_at(data, "evaluation", wrong),
            f"evaluation.{wrong}",
            f"{evaluation.metric} is {kind} is better, so its bound is `{right}`",
        )
    source = manifest.resolve(evaluation.data)
    if _inside(manifest.root, evaluation.data) and not source.is_file():
        problems.add(
            line_at(data, "evaluation", "data"),
            "evaluation.data",
            f"`{evaluation.data}` does not exist in {manifest.root}; save the held-out records "
            "there (with the target column), or correct the path",
        )
    expectations = evaluation.expectations
    if (
        expectations
        and _inside(manifest.root, expectations)
        and not manifest.resolve(expectations).is_file()
    ):
        problems.add(
            line_at(data, "evaluation", "expectations"),
            "evaluation.expectations",
            f"`{evaluation.expectations}` does not exist in {manifest.root}",
        )


def _check_meaning(manifest: Manifest, data: Any, problems: Problems) -> None:
    """Checks across fields and against the disk, once each field has the right type.

    The interpreter is not required to exist here: a reviewer who cloned the project
    without its environment can still read and report its checklist; the Snapshot
    step fails loudly instead.
    """
    _check_evaluation(manifest, data, problems)
    model = manifest.model
    if model.flavor == "sklearn":
        if not model.artifact:
            problems.add(
                line_at(data, "model"),
                "model.artifact",
                "is missing; flavor sklearn needs the saved model file, e.g. models/model.joblib",
            )
    elif model.flavor == "python" and not model.predictor:
        problems.add(
            line_at(data, "model"),
            "model.predictor",
            "is missing; flavor python needs your class as module:Class",
        )
    elif model.flavor == "python" and model.predictor:
        problem = _predictor_problem(manifest.root, model.predictor)
        if problem:
            problems.add(line_at(data, "model", "predictor"), "model.predictor", problem)
    for line, field_path, relative in _project_paths(manifest, data):
        if not _inside(manifest.root, relative):
            problems.add(
                line,
                field_path,
                f"`{relative}` resolves outside the project ({manifest.root}); the workbench "
                "only reads and ships files of the project",
            )
    if (
        model.artifact
        and _inside(manifest.root, model.artifact)
        and not manifest.resolve(model.artifact).exists()
    ):
        problems.add(
            line_at(data, "model", "artifact"),
            "model.artifact",
            f"`{model.artifact}` does not exist in {manifest.root}; "
            "train and save the model first, or correct the path",
        )
    elif model.artifact and manifest.resolve(model.artifact).is_dir():
        problems.add(
            line_at(data, "model", "artifact"),
            "model.artifact",
            f"`{model.artifact}` is a folder; it must be the saved model file (put other files "
            "the predictor needs in model.code)",
        )
    for index, extra in enumerate(model.code):
        if not manifest.resolve(extra).exists():
            problems.add(
                line_at(data, "model", "code"),
                f"model.code[{index}]",
                f"`{extra}` does not exist in {manifest.root}",
            )
    for index, extra in enumerate(manifest.checklist.extra):
        if not manifest.resolve(extra).exists():
            problems.add(
                line_at(data, "checklist", "extra"),
                f"checklist.extra[{index}]",
                f"`{extra}` does not exist in {manifest.root}",
            )
