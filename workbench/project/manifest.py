"""The project manifest, `workbench.yaml`: a typed loader with defaults and validation.

The manifest is one small file a person edits by hand, so its errors are
written for that person: each names the file, the line, the field path and
the fix, and an unknown key comes with a "did you mean" suggestion. All the
problems of a file are reported together, in one paragraph.
"""

from __future__ import annotations

import hashlib
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from workbench.kernel.errors import ManifestError
from workbench.kernel.yamlio import load_yaml
from workbench.project.manifest_checks import check_meaning
from workbench.project.manifest_serve import BatchingSpec as BatchingSpec  # read from here
from workbench.project.manifest_serve import BudgetSpec as BudgetSpec
from workbench.project.manifest_serve import MonitoringSpec, ServeSpec
from workbench.project.manifest_shape import Problems, build, check_values, key, type_name

MANIFEST_NAME = "workbench.yaml"

IMAGE_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
PREDICTOR_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
REGISTRY_REF = re.compile(r"^[A-Za-z0-9.-]+(?::\d+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$")
TAG_PREFIX = re.compile(r"^[A-Za-z0-9._/-]*$")

Flavor = Literal["sklearn", "python", "onnx", "torch"]
# Quality metrics (scikit-learn's implementations); higher is better unless in LOWER_IS_BETTER.
Metric = Literal[
    "accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "rmse", "mae", "r2"
]
METRICS: tuple[str, ...] = typing.get_args(Metric)
LOWER_IS_BETTER = ("log_loss", "rmse", "mae")


def bad_port(reference: str) -> str | None:
    host = reference.split("/", 1)[0]
    port = host.rpartition(":")[2] if ":" in host else ""
    return "has a port over 65535" if port.isdigit() and not 0 < int(port) <= 65535 else None


@dataclass(frozen=True)
class ModelSpec:
    flavor: Flavor = field(default="sklearn", metadata=key(nullable=False))
    artifact: str | None = field(
        default=None, metadata=key("the saved model file, e.g. models/model.joblib")
    )
    predictor: str | None = field(
        default=None,
        metadata=key(
            "your predictor class as module:Class, e.g. predict:ChurnModel", pattern=PREDICTOR_REF
        ),
    )
    code: tuple[str, ...] = field(
        default=(), metadata=key("extra files or folders of your code the predictor needs")
    )
    labels: tuple[str, ...] = field(
        default=(),
        metadata=key(
            "flavor torch, or onnx with one output: the class of each column of its logits, "
            "e.g. [setosa, versicolor, virginica]; the answer is the likeliest class and each "
            "class's probability"
        ),
    )


@dataclass(frozen=True)
class SchemaSpec:
    request: str = field(
        default="schema/request.yaml",
        metadata=key("the request schema, e.g. schema/request.yaml", nullable=False),
    )
    response: str = field(
        default="schema/response.yaml",
        metadata=key("the response schema, e.g. schema/response.yaml", nullable=False),
    )
    examples: str = field(
        default="schema/examples",
        metadata=key("the folder of example request JSON files", nullable=False),
    )


@dataclass(frozen=True)
class ChecklistSpec:
    extra: tuple[str, ...] = field(
        default=(), metadata=key("checklist definition files of your team, relative paths")
    )
    disable: tuple[str, ...] = field(
        default=(), metadata=key("ids of built-in checklist items to switch off")
    )


@dataclass(frozen=True)
class SnapshotSpec:
    exclude: tuple[str, ...] = field(
        default=(),
        metadata=key(
            "distributions left out of the runtime set although the model imported them "
            "(an optional import it can do without), e.g. [pandas]; snapshot.yaml says why "
            "each was wanted"
        ),
    )


@dataclass(frozen=True)
class EvaluationSpec:
    data: str = field(
        metadata=key(
            "held-out records with the target column: .csv, .jsonl, .json or .parquet, "
            "e.g. data/holdout.csv",
            nullable=False,
        )
    )
    target: str = field(
        metadata=key("the column holding the true answer, e.g. species", nullable=False)
    )
    metric: Metric = field(metadata=key(nullable=False))
    output: str = field(
        default="prediction",
        metadata=key("the answer's field holding the prediction (default prediction)"),
    )
    minimum: float | None = field(
        default=None, metadata=key("the lowest acceptable score, e.g. 0.9")
    )
    maximum: float | None = field(
        default=None, metadata=key("the highest acceptable error, e.g. 12.5")
    )
    tolerance: float = field(
        default=0.0,
        metadata=key("the drop allowed against the previous release, e.g. 0.01", minimum=0),
    )
    expectations: str | None = field(
        default=None,
        metadata=key("corner cases and their expected answers, e.g. schema/expectations.yaml"),
    )

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    @property
    def bound(self) -> float | None:
        return self.maximum if self.lower_is_better else self.minimum


@dataclass(frozen=True)
class ReleaseSpec:
    tag_prefix: str = field(
        default="v",
        metadata=key(
            "the git tag prefix, e.g. v or churn-model/v", pattern=TAG_PREFIX, nullable=False
        ),
    )


@dataclass(frozen=True)
class SigningSpec:
    """How releases are signed (`workbench keys init`); the private key is never in here."""

    public_key: str | None = field(
        default=None,
        metadata=key("the project's public signing key (PEM), e.g. signing/churn-model.pub"),
    )
    required: bool = field(
        default=False,
        metadata=key("true to refuse pushing a release that cannot be signed (default false)"),
    )


@dataclass(frozen=True)
class SupplyChainSpec:
    advisories: str | None = field(
        default=None,
        metadata=key(
            "a folder or zip of OSV advisories (the PyPA advisory database's export), e.g. "
            "advisories/pypa.zip; read offline at tag"
        ),
    )


@dataclass(frozen=True)
class Manifest:
    """A loaded, validated `workbench.yaml`; paths in it are relative to `root` (the one
    field that is not a key of the file)."""

    root: Path
    name: str = field(
        metadata=key(
            "the image name: lowercase letters, digits and . _ -, e.g. churn-model",
            pattern=IMAGE_NAME,
            nullable=False,
        )
    )
    python: str | None = field(
        default=None,
        metadata=key("the interpreter of the model's environment, e.g. .venv/bin/python"),
    )
    model: ModelSpec = field(default_factory=ModelSpec, metadata=key("how to load the model"))
    schema: SchemaSpec = field(
        default_factory=SchemaSpec, metadata=key("where the request/response contract lives")
    )
    serve: ServeSpec = field(
        default_factory=ServeSpec, metadata=key("how the image is built and run")
    )
    registry: str | None = field(
        default=None,
        metadata=key(
            "the image repository, e.g. localhost:5000/team/churn-model",
            pattern=REGISTRY_REF,
            check=bad_port,
        ),
    )
    checklist: ChecklistSpec = field(
        default_factory=ChecklistSpec, metadata=key("team checklist additions")
    )
    evaluation: EvaluationSpec | None = field(
        default=None,
        metadata=key(
            "how good the model's answers must be, on held-out data scored through the image"
        ),
    )
    monitoring: MonitoringSpec = field(
        default_factory=MonitoringSpec, metadata=key("what the image records about its traffic")
    )
    release: ReleaseSpec = field(
        default_factory=ReleaseSpec, metadata=key("how releases are tagged")
    )
    signing: SigningSpec = field(
        default_factory=SigningSpec,
        metadata=key("how pushed releases are signed (sigstore format, `workbench keys init`)"),
    )
    supply_chain: SupplyChainSpec = field(
        default_factory=SupplyChainSpec,
        metadata=key("what the release is checked against offline (advisories)"),
    )
    snapshot: SnapshotSpec = field(
        default_factory=SnapshotSpec,
        metadata=key("what the snapshot leaves out of the image's environment"),
    )

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
    values = check_values(data, Manifest, "", problems)
    manifest: Manifest = build(Manifest, {"name": "model", **values}, root=root)
    check_meaning(manifest, data, problems)
    problems.raise_if_any()
    return manifest
