"""`export_project`: the model, its held-out records and a manifest, saved from the kernel.

Only the kernel knows the fitted model, the held-out split and the types of its columns
as they are in memory; once the notebook's kernel is gone they are gone too. So this
saves them, then hands the folder to the workbench, which infers the contract from the
saved model and the typed records (`workbench schema infer`, the model's own knowledge
first). Standard library only, apart from the model's libraries it finds loaded.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

RECEIPT_ENV = "WORKBENCH_NOTEBOOK_RECEIPT"  # set by `workbench init --from-notebook`
PROJECT_ENV = "WORKBENCH_NOTEBOOK_PROJECT"  # the folder `init --from-notebook DIR` names
DEFAULT_FOLDER = "workbench-project"
HOLDOUT_CSV = "data/holdout.csv"
TYPED_SAMPLE = ".workbench/notebook/holdout.jsonl"  # the same records with their types
SAMPLE_ROWS = 2000  # what inference needs of them
IGNORED = (".workbench/", ".venv", "__pycache__/", ".ipynb_checkpoints/")


class ExportError(Exception):
    """A problem the data scientist can fix: one paragraph, shown without a traceback in
    the notebook (IPython calls `_render_traceback_`) and by `init --from-notebook`."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(f"{message} Fix: {fix}")

    def _render_traceback_(self) -> list[str]:
        return [f"workbench: {self}"]


def export_project(
    model: Any,
    X_test: Any,
    y_test: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
) -> Path:
    """Save `model`, the held-out `X_test`/`y_test` and a `workbench.yaml` with its
    `evaluation:` block into the project folder `path` (default `workbench-project`;
    `workbench init --from-notebook NB DIR` puts it in DIR), then infer its contract with
    the workbench. Returns the folder. Run it again after retraining: the model and the
    data are replaced, a manifest and schemas you edited are kept."""
    folder = Path(os.environ.get(PROJECT_ENV) or path or DEFAULT_FOLDER).absolute()
    columns, rows = typed_records(X_test, model)
    target, truths = _target(y_test, columns, len(rows))
    if not callable(getattr(model, "predict", None)):
        raise ExportError(
            f"the model given to export_project is a {type(model).__name__}, which has no "
            "predict(): that is not a fitted model.",
            "pass the fitted estimator or pipeline (the object whose .predict you call).",
        )
    folder.mkdir(parents=True, exist_ok=True)
    artifact, flavor = save_model(model, folder)
    records = [{**row, target: truth} for row, truth in zip(rows, truths, strict=True)]
    _write_csv(folder / HOLDOUT_CSV, [*columns, target], records)
    _write_jsonl(folder / TYPED_SAMPLE, records[:SAMPLE_ROWS])
    score = quality(model, X_test, truths)
    manifest = folder / "workbench.yaml"
    kept = manifest.exists()
    if not kept:
        manifest.write_text(
            manifest_text(folder, name, flavor, artifact, target, score), encoding="utf-8"
        )
    _ignore_scratch(folder)
    print(
        f"workbench: saved {artifact} ({flavor}), {len(records)} held-out records in "
        f"{HOLDOUT_CSV} (target `{target}`) into {folder}"
        + ("; workbench.yaml kept as it was" if kept else f"; {score[0]} today {score[1]:.4g}")
    )
    hand_over(folder, target)
    return folder


def _plain(value: Any) -> Any:
    """One cell as JSON has it: numpy and pandas scalars to Python, NaN and NaT to None."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (ValueError, TypeError):
            pass
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _feature_names(model: Any, count: int) -> list[str]:
    """Column names for bare arrays: what the model knows (scikit-learn's
    `feature_names_in_`, CatBoost's `feature_names_`), else x0, x1 ..."""
    for attribute in ("feature_names_in_", "feature_names_"):
        names = getattr(model, attribute, None)
        if names is not None and len(names) == count:
            return [str(n) for n in names]
    return [f"x{i}" for i in range(count)]


def typed_records(X: Any, model: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The held-out features as records of JSON values, each column typed as it is in
    memory: a column of digit strings stays strings, as the request schema will say."""
    if hasattr(X, "columns") and hasattr(X, "itertuples"):  # a pandas DataFrame
        columns = [str(c) for c in X.columns]
        rows = [
            dict(zip(columns, (_plain(v) for v in row), strict=True))
            for row in X.itertuples(index=False, name=None)
        ]
        return columns, rows
    table = X.tolist() if hasattr(X, "tolist") else list(X)
    if not table or not all(isinstance(r, list | tuple) and len(r) == len(table[0]) for r in table):
        raise ExportError(
            f"X_test must be a table (a DataFrame or a 2-D array), got {type(X).__name__}.",
            "pass the held-out features the model predicts on, one row per record.",
        )
    columns = _feature_names(model, len(table[0]))
    return columns, [dict(zip(columns, map(_plain, r), strict=True)) for r in table]


def _target(y: Any, columns: list[str], count: int) -> tuple[str, list[Any]]:
    """The target's name (its Series or one-column DataFrame's, else `target`) and values."""
    name = getattr(y, "name", None)
    if hasattr(y, "columns"):  # a one-column DataFrame
        if len(y.columns) != 1:
            raise ExportError(
                f"y_test has {len(y.columns)} columns; the workbench scores one target.",
                "pass the one column the model predicts, e.g. y_test['price'].",
            )
        name, y = y.columns[0], y[y.columns[0]]
    values = y.tolist() if hasattr(y, "tolist") else list(y)
    values = [v[0] if isinstance(v, list) and len(v) == 1 else v for v in values]
    name = str(name) if name is not None else "target"
    if name in columns:
        raise ExportError(
            f"the target `{name}` is also a column of X_test, so the model would be "
            "given the answer.",
            "drop it from X_test (X_test.drop(columns=[...])) before exporting.",
        )
    if len(values) != count:
        raise ExportError(
            f"X_test has {count} rows but y_test has {len(values)}.",
            "pass the held-out features and targets of the same split.",
        )
    return name, [_plain(v) for v in values]


def save_model(model: Any, folder: Path) -> tuple[str, str]:
    """The model saved the way the sklearn flavor loads it: CatBoost in its own `.cbm`
    format (portable across its versions), anything else with joblib (else pickle)."""
    (folder / "models").mkdir(exist_ok=True)
    if type(model).__module__.split(".")[0] == "catboost":
        model.save_model(str(folder / "models" / "model.cbm"))
        return "models/model.cbm", "sklearn"
    try:
        import joblib
    except ImportError:
        import pickle

        with open(folder / "models" / "model.pkl", "wb") as handle:
            pickle.dump(model, handle)
        return "models/model.pkl", "sklearn"
    joblib.dump(model, folder / "models" / "model.joblib")
    return "models/model.joblib", "sklearn"


def _flat(values: Any) -> list[Any]:
    out = values.tolist() if hasattr(values, "tolist") else list(values)
    return [_plain(v[0] if isinstance(v, list) and len(v) == 1 else v) for v in out]


def quality(model: Any, X: Any, truths: list[Any]) -> tuple[str, float, str, float]:
    """(metric, today's value, bound key, bound): accuracy for a classifier, RMSE for a
    regressor, computed here on the held-out records; the bound lets the model be 5%
    (RMSE 10%) worse than today before `serve.quality` fails, a start to set to what the
    product needs."""
    try:
        predictions = _flat(model.predict(X))
    except Exception as exc:
        raise ExportError(
            f"the model cannot predict on X_test: {type(exc).__name__}: {exc}.",
            "pass the held-out features exactly as the model was trained on them.",
        ) from None
    if getattr(model, "classes_", None) is not None or not all(
        isinstance(t, int | float) and not isinstance(t, bool) for t in truths
    ):
        right = sum(1 for p, t in zip(predictions, truths, strict=True) if p == t)
        accuracy = right / max(len(truths), 1)
        return "accuracy", accuracy, "minimum", math.floor(accuracy * 95) / 100
    errors = [(float(p) - float(t)) ** 2 for p, t in zip(predictions, truths, strict=True)]
    rmse = math.sqrt(sum(errors) / max(len(errors), 1))
    return "rmse", rmse, "maximum", float(f"{rmse * 1.1:.6g}") or 1e-9


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _write_csv(path: Path, header: list[str], records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows([_cell(r.get(h)) for h in header] for r in records)


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)


def _interpreter(folder: Path) -> str:
    """This kernel's interpreter: the model's environment. Relative when it is in the
    project (its `.venv`), so the manifest does not name one person's home folder."""
    here = Path(os.path.abspath(sys.executable))
    try:
        return here.relative_to(folder).as_posix()
    except ValueError:
        return str(here)


def manifest_text(
    folder: Path,
    name: str | None,
    flavor: str,
    artifact: str,
    target: str,
    score: tuple[str, float, str, float],
) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (name or folder.name).lower()).strip("-") or "model"
    metric, today, key, bound = score
    return f"""# workbench manifest, written from the notebook by export_project.
name: {slug}
python: {_interpreter(folder)}   # the notebook kernel's interpreter: the model's environment
model:
  flavor: {flavor}
  artifact: {artifact}
schema:
  request: schema/request.yaml
  response: schema/response.yaml
  examples: schema/examples
serve:
  port: 8080
  memory_limit: 1g
release:
  tag_prefix: v
evaluation:
  data: {HOLDOUT_CSV}        # the held-out records the notebook kept out of training
  target: {json.dumps(target)}
  metric: {metric}
  {key}: {bound}            # {metric} was {today:.6g} on these records at export: set your bound
  tolerance: 0.01
"""


def _ignore_scratch(folder: Path) -> None:
    gitignore = folder / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.exists() else []
    present = {line.strip().strip("/") for line in lines}
    missing = [entry for entry in IGNORED if entry.strip("/") not in present]
    if missing:
        gitignore.write_text("\n".join([*lines, *missing]) + "\n")


def hand_over(folder: Path, target: str) -> None:
    """Hand the folder to the workbench: to `init --from-notebook` that runs this kernel
    (a receipt), else to the `workbench` command, which infers the contract from the saved
    model and the typed records; without one, say the command to run."""
    sample = folder / TYPED_SAMPLE
    receipt = os.environ.get(RECEIPT_ENV)
    if receipt:
        Path(receipt).write_text(
            json.dumps({"project": str(folder), "sample": str(sample), "target": target})
        )
        return
    argv = ["schema", "infer", "-p", str(folder), "--from", str(sample), "--target", target]
    beside = Path(sys.executable).parent / "workbench"
    command = shutil.which("workbench") or (str(beside) if beside.exists() else None)
    if command is None:
        print("workbench: now infer the contract: workbench " + " ".join(argv))
        return
    # The workbench runs in its own environment: none of this kernel's path may shadow it.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([command, *argv], capture_output=True, text=True, check=False, env=env)
    print((done.stdout + done.stderr).strip())
