"""The checks of `workbench.yaml` across fields and against the disk, once each field has
the right type: what a flavor needs, paths that must stay in the project and exist, the
predictor class, the evaluation's bound."""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.project.manifest_shape import Problems, line_at

if TYPE_CHECKING:
    from workbench.project.manifest import Manifest


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
    # At the root, or the project's own package in a src/ layout (installed editable, and
    # locked as a wheel by the snapshot).
    bases = [root / Path(*module.split(".")), root / "src" / Path(*module.split("."))]
    source = next(
        (p for b in bases for p in (b.with_suffix(".py"), b / "__init__.py") if p.is_file()), None
    )
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
    evaluation = manifest.evaluation  # None: a required key is missing (said already)
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


# The flavors that load one saved file, and an example of its path.
ARTIFACT_EXAMPLES = {
    "sklearn": "models/model.joblib",
    "onnx": "models/model.onnx",
    "torch": "models/model.pt (TorchScript) or models/model.pt2 (torch.export)",
}


def check_meaning(manifest: Manifest, data: Any, problems: Problems) -> None:
    """Checks across fields and against the disk, once each field has the right type.

    The interpreter is not required to exist here: a reviewer who cloned the project
    without its environment can still read and report its checklist; the Snapshot
    step fails loudly instead.
    """
    _check_evaluation(manifest, data, problems)
    model = manifest.model
    if model.flavor in ARTIFACT_EXAMPLES:
        if not model.artifact:
            problems.add(
                line_at(data, "model"),
                "model.artifact",
                f"is missing; flavor {model.flavor} needs the saved model file, e.g. "
                + ARTIFACT_EXAMPLES[model.flavor],
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
    if model.labels and model.flavor not in ("torch", "onnx"):
        problems.add(
            line_at(data, "model", "labels"),
            "model.labels",
            f"is only for flavors torch and onnx (the class of each column of an output of "
            f"logits); flavor {model.flavor} knows its classes itself: remove it",
        )
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
