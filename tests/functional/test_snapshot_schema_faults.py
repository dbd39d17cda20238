"""The fault catalogue of steps 1 and 2: for every automated Snapshot and Schema item, the
example project broken just for that item, where the item fails (or warns, where warning
is all its design does) with evidence naming the cause, beside the unbroken project where
it passes. One snapshot of the example per module; each case works on a copy of it, with
a git repository and a release 1.0.0 tagged (what drift and the change classification
compare with). No container.

Items that can only warn, by design: snapshot.drift (a change since the release is shown,
not refused), schema.bounded and schema.described (advice on the contract).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import git, hand_made_release
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.definitions import load_definition_file
from workbench.checklist.engine import ItemFinished
from workbench.kernel.paths import asset
from workbench.project.lockfile import LOCK_NAME, SNAPSHOT_NAME
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.snapshot.take import run_snapshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snapshotted(tmp_path_factory: pytest.TempPathFactory, example_python: Path) -> Path:
    """The iris example with its snapshot taken once for the whole module."""
    project = copy_example("iris", tmp_path_factory.mktemp("faults") / "iris")
    manifest = project / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace("python: .venv/bin/python", f"python: {example_python}", 1)
    )
    run_snapshot(load_manifest(project), lambda _: None)
    return project


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _edit_snapshot(root: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    path = root / SNAPSHOT_NAME
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _first_pin(root: Path) -> str:
    found = re.search(r"^([a-z0-9_.-]+)==(\S+)", (root / LOCK_NAME).read_text(), re.M)
    assert found is not None
    return found.group(1)


def _lock_pin_loosened(root: Path) -> None:
    _edit(root / LOCK_NAME, f"{_first_pin(root)}==", f"{_first_pin(root)}>=")


def _lock_hash_changed(root: Path) -> None:
    text = (root / LOCK_NAME).read_text()
    digest = re.search(r"--hash=sha256:([0-9a-f]{64})", text)
    assert digest is not None
    _edit(root / LOCK_NAME, digest.group(1), "0" * 64)


def _lock_version_changed(root: Path) -> None:
    _edit(root / LOCK_NAME, "joblib==", "joblib==0.0.1.dev0+was")


def _scikit_learn_pinned_elsewhere(data: dict) -> None:  # type: ignore[type-arg]
    data["runtime"]["scikit-learn"]["version"] = "0.0.1"


def _dev_tool_pulled_in(data: dict) -> None:  # type: ignore[type-arg]
    data["runtime"]["pytest"] = {
        "version": "8.0.0",
        "why": ["required by scikit-learn"],
        "source": "index",
        "wheel": "pytest-8.0.0-py3-none-any.whl",
    }


CUDA_PIN = (
    "nvidia-cublas-cu12==12.4.5.8 \\\n    --hash=sha256:"
    + "ab" * 32
    + "\n    # required by torch\n"
)


def _cuda_wheel_locked(root: Path) -> None:
    """A CUDA build of torch's wheels in the lock (what `pip install torch` brings)."""
    with (root / LOCK_NAME).open("a") as lock:
        lock.write(CUDA_PIN)


def _model_garbled(root: Path) -> None:
    (root / "model" / "model.joblib").write_bytes(b"not a pickle at all")


@dataclass(frozen=True)
class Fault:
    """How to break the project for one item, the status the item must then show, and a
    phrase its evidence must hold (naming the cause)."""

    breaks: Callable[[Path], None]
    status: Status
    phrase: str


FAULTS: dict[str, Fault] = {
    "snapshot.python-known": Fault(
        lambda p: _edit_snapshot(p, lambda d: d["python"].update(version="3.0.1")),
        Status.FAIL,
        "snapshot.yaml says Python 3.0.1 but the interpreter is 3.",
    ),
    "snapshot.fresh": Fault(
        lambda p: _edit_snapshot(p, _scikit_learn_pinned_elsewhere),
        Status.FAIL,
        "scikit-learn: snapshot 0.0.1, installed 1.",
    ),
    "snapshot.imports-resolved": Fault(
        lambda p: _edit_snapshot(
            p, lambda d: d.update(unresolved={"notinstalled": ["imported by predict.py"]})
        ),
        Status.FAIL,
        "notinstalled: imported by predict.py",
    ),
    "snapshot.pinned": Fault(_lock_pin_loosened, Status.FAIL, "not an exact `name==version` pin"),
    "snapshot.hashed": Fault(_lock_hash_changed, Status.FAIL, ": no wheel with its hash in "),
    "snapshot.no-dev-tools": Fault(
        lambda p: _edit_snapshot(p, _dev_tool_pulled_in),
        Status.FAIL,
        "development tool in the runtime set: pytest (required by scikit-learn)",
    ),
    "snapshot.consistent": Fault(
        lambda p: _edit_snapshot(
            p,
            lambda d: d.update(
                inconsistent=["scikit-learn 1.5 requires numpy>=9 but 1.26 is installed"]
            ),
        ),
        Status.FAIL,
        "requires numpy>=9 but 1.26 is installed",
    ),
    "snapshot.cpu-only": Fault(
        _cuda_wheel_locked,
        Status.FAIL,
        "1 CUDA wheels in the lock and no GPU declared (serve.gpu): they add 0 MB of wheels "
        "(1 not in the cache, not counted) to a CPU image: nvidia-cublas-cu12 12.4.5.8",
    ),
    "snapshot.model-loads": Fault(_model_garbled, Status.FAIL, "loading the model failed"),
    "snapshot.drift": Fault(_lock_version_changed, Status.WARN, "joblib"),
    "schema.valid": Fault(
        lambda p: _edit(p / "schema" / "request.yaml", "required:", "requried:"),
        Status.FAIL,
        "requried",
    ),
    "schema.closed": Fault(
        lambda p: _edit(p / "schema" / "request.yaml", "additionalProperties: false\n", ""),
        Status.FAIL,
        "$ accepts unknown fields",
    ),
    "schema.bounded": Fault(
        lambda p: _edit(p / "schema" / "request.yaml", "    maximum: 20\n", ""),
        Status.WARN,
        "sepal_length: a number without minimum and maximum",
    ),
    "schema.described": Fault(
        lambda p: _edit(
            p / "schema" / "request.yaml",
            "description: Sepal length in cm; never missing.",
            "description: ''",
        ),
        Status.WARN,
        "no description: schema/request.yaml: sepal_length",
    ),
    "schema.examples-valid": Fault(
        lambda p: _edit(p / "schema" / "examples" / "setosa.json", "5.1", '"long"'),
        Status.FAIL,
        "setosa.json $.sepal_length: 'long' is not of type 'number'",
    ),
    "schema.responses-valid": Fault(
        lambda p: _edit(
            p / "schema" / "response.yaml",
            "enum: [setosa, versicolor, virginica]",
            "enum: [versicolor, virginica]",
        ),
        Status.FAIL,
        "answer to setosa.json $.prediction: 'setosa' is not one of",
    ),
    "schema.feature-names": Fault(
        lambda p: _edit(
            p / "schema" / "request.yaml",
            "properties:\n",
            "properties:\n  colour: {type: string, maxLength: 9, description: Petal colour.}\n",
        ),
        Status.FAIL,
        "the schema has fields the model never sees: colour",
    ),
    "schema.change-classified": Fault(
        lambda p: git(p, "tag", "-d", "v1.0.0") and None,
        Status.FAIL,
        "cannot be read at its tag v1.0.0, so the change since it cannot be classified",
    ),
}


def _auto_items(step: str) -> list[str]:
    items = load_definition_file(asset("checklists", f"{step}.yaml"), source="built-in")
    return [i.id for i in items if i.is_auto]


def test_the_catalogue_covers_every_automated_snapshot_and_schema_item() -> None:
    assert sorted(FAULTS) == sorted(_auto_items("snapshot") + _auto_items("schema"))


def _released_copy(snapshotted: Path, root: Path) -> Path:
    """A copy of the snapshotted example in git, released as 1.0.0 at its tag."""
    project = Path(shutil.copytree(snapshotted, root / "iris", symlinks=True))
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Ana Tester")
    git(project, "config", "user.email", "ana@example.com")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "the iris model")
    git(project, "tag", "-a", "v1.0.0", "-m", "1.0.0")
    hand_made_release(load_manifest(project), "1.0.0", [])
    return project


def _run(project: Path, item_id: str) -> tuple[Status, str]:
    manifest = load_manifest(project)
    checklist = open_checklist(manifest)
    finished = [
        e.view
        for e in checklist.run([item_id], CheckContext(manifest))
        if isinstance(e, ItemFinished)
    ]
    assert len(finished) == 1
    return finished[0].status, "\n".join(finished[0].evidence)


@pytest.mark.parametrize("item_id", sorted(FAULTS))
def test_fault(item_id: str, snapshotted: Path, tmp_path: Path) -> None:
    project = _released_copy(snapshotted, tmp_path)
    status, evidence = _run(project, item_id)
    assert status is Status.PASS, evidence  # the unbroken project passes

    fault = FAULTS[item_id]
    fault.breaks(project)
    status, evidence = _run(project, item_id)
    assert status is fault.status, evidence
    assert fault.phrase in evidence, evidence


def test_cuda_wheels_for_a_declared_gpu_are_skipped_with_the_reason(
    snapshotted: Path, tmp_path: Path
) -> None:
    """serve.gpu declared: the CUDA wheels are for it, and on a machine without a GPU the
    item says so and is skipped, never passed."""
    project = _released_copy(snapshotted, tmp_path)
    _cuda_wheel_locked(project)
    _edit(project / "workbench.yaml", "serve:\n", "serve:\n  gpu: 1\n")
    status, evidence = _run(project, "snapshot.cpu-only")
    assert status is Status.SKIPPED, evidence
    assert "serve.gpu asks for 1 GPU(s)" in evidence and "nvidia-cublas-cu12" in evidence
    assert "not tried on a GPU here: no NVIDIA driver" in evidence  # this machine has none
