"""What a failure of the model in its own interpreter means, and what to do about it.

The in-process runner (`workbench/runtime/inprocess.py`) answers a failure as data: the
error, the stage (load or predict), where, the file a FileNotFoundError named, the warnings
raised meanwhile and the features the model knows. Each known case becomes one error that
names its cause in the user's terms (their file, their field, their library's versions) and
the fix; the workbench's own files are never given as the place to look.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest

SHIPPED = (
    "the image holds only model.artifact, the predictor module and the files listed in "
    "model.code, under /app/model (the folder the model is loaded from, with /app as the "
    "working folder); the local checks load it from a copy laid out the same way"
)
STALE_FIX = (
    "save the model again with the installed scikit-learn, or install the version it was "
    "saved with in the model's environment (pip install scikit-learn==<that version>) and "
    "take the snapshot again"
)
# pickle's words for a function or class of the training script (`python train.py`).
MAIN_ATTRIBUTE = re.compile(r"Can't get attribute '([^']+)' on <module '__main__'")
STALE = re.compile(
    r"unpickle estimator (\w+) from version (\S+) when using version ([^\s.]+(?:\.[^\s.]+)*)"
)


def _shown(path: str, app: Path, root: Path) -> str:
    """A path the model's code used, in the project's terms (never the staged copy's)."""
    staged = str(app / "model")
    if path.startswith(staged + "/"):
        return path[len(staged) + 1 :]
    if path.startswith(str(app) + "/"):
        return path[len(str(app)) + 1 :]
    return path.replace(staged, str(root))


def _missing_file(manifest: Manifest, app: Path, missing: str, where: str) -> WorkbenchError:
    relative = _shown(missing, app, manifest.root)
    absolute = Path(missing)
    inside_model = missing.startswith(str(app / "model") + "/")
    if absolute.is_absolute() and not missing.startswith(str(app) + "/"):
        return WorkbenchError(
            f"the model reads {missing} (at {where}), a file outside the project: {SHIPPED}.",
            fix="copy the file into the project, list it in model.code in workbench.yaml, and "
            "read it from the folder load() receives.",
        )
    if not (manifest.root / relative).exists():
        return WorkbenchError(
            f"the model reads `{relative}` (at {where}), which does not exist in the project "
            f"({manifest.root}).",
            fix="create that file, or correct the path the model reads.",
        )
    if not inside_model:
        return WorkbenchError(
            f"the model reads `{relative}` (at {where}) relative to the working folder: it "
            f"is in the project, but {SHIPPED}.",
            fix=f"list `{relative}` in model.code in workbench.yaml and open it relative to "
            "the folder load() receives (or to Path(__file__).parent), never the working "
            "folder.",
        )
    return WorkbenchError(
        f"the model reads `{relative}` (at {where}): it is in the project but not in the "
        f"model folder, so the image would fail to load it: {SHIPPED}.",
        fix=f"list `{relative}` (or its folder) in model.code in workbench.yaml.",
    )


def stale_pickle(warnings: list[str]) -> str | None:
    for warning in warnings:
        found = STALE.search(warning)
        if found:
            kind, saved, installed = found.groups()
            return (
                f"the model was pickled by scikit-learn {saved} and this environment has "
                f"scikit-learn {installed} ({kind} read with InconsistentVersionWarning)"
            )
    return None


def _renamed(manifest: Manifest, known: list[str], schema_fields: list[str]) -> str | None:
    lost = [name for name in known if name not in schema_fields]
    if not lost or not schema_fields:
        return None
    extra = [name for name in schema_fields if name not in known]
    return (
        f"the model was trained on the feature(s) {', '.join(f'`{n}`' for n in lost)}, which "
        f"the request schema ({manifest.schema.request}) does not have"
        + (
            f"; it has {', '.join(f'`{n}`' for n in extra)}, which the model does not know"
            if extra
            else ""
        )
    )


def model_failure(
    manifest: Manifest,
    app: Path,
    interpreter: Path,
    payload: dict[str, Any],
    schema_fields: list[str] | None = None,
) -> WorkbenchError:
    """The error a failed in-process run of the model is, cause and fix named."""
    stage = "loading the model" if payload.get("stage") == "load" else "predicting"
    error = _shown(str(payload["error"]), app, manifest.root)
    where = _shown(str(payload.get("where_model") or payload.get("where")), app, manifest.root)
    if payload.get("missing"):
        return _missing_file(manifest, app, str(payload["missing"]), where)
    module = str(payload.get("missing_module") or "").split(".")[0]
    for local in (f"{module}.py", module):
        shipped = (app / "model" / local).exists()
        if module and (manifest.root / local).exists() and not shipped:
            return WorkbenchError(
                f"the model imports `{module}` (at {where}): `{local}` is in the project but "
                f"not in the model folder, so the image could not import it: {SHIPPED}.",
                fix=f"list `{local}` in model.code in workbench.yaml.",
            )
    stale = stale_pickle(list(payload.get("warnings") or []))
    if stale:
        return WorkbenchError(
            f"{stage} failed in {interpreter}: {stale}; the pickle does not read with the "
            f"installed version ({error}).",
            fix=STALE_FIX + ".",
        )
    returned = re.match(r"TypeError: (predict(?:_batch)?\(\)) returned (.*)", str(payload["error"]))
    if returned and manifest.model.predictor:
        module, _, cls = manifest.model.predictor.partition(":")
        return WorkbenchError(
            f"{cls}.{returned.group(1)} in {module.replace('.', '/')}.py (model.predictor) "
            f"returned {returned.group(2)}: every answer must be a dict of the response's "
            'fields, e.g. {"prediction": 3.2}.',
            fix=f"make {cls}.{returned.group(1)} return "
            + ("a dict" if returned.group(1) == "predict()" else "a list of dicts, one per record")
            + ".",
        )
    pickled_main = MAIN_ATTRIBUTE.search(str(payload["error"]))
    if pickled_main:
        name = pickled_main.group(1)
        return WorkbenchError(
            f"{stage} failed in {interpreter}: the pickle refers to `{name}` as defined in "
            "`__main__`, the script that trained it; pickle saves a function or class by "
            f"its module and name, so `{name}` can be found again only in that script run "
            f"as a program, never in the model folder or the image ({error}).",
            fix=f"move `{name}` into a module of the project (e.g. features.py), import it "
            "from there in the training script, retrain and save; then list that module in "
            "model.code in workbench.yaml.",
        )
    renamed = _renamed(manifest, list(payload.get("known_features") or []), schema_fields or [])
    if renamed:
        return WorkbenchError(
            f"{stage} failed in {interpreter}: {renamed} (renamed or removed?), so the model "
            f"gets no value for it ({error}).",
            fix="name the field in the request schema as the model knows it, or retrain the "
            "model on the new name.",
        )
    return WorkbenchError(
        f"{stage} failed in {interpreter}: {error} (at {where}).",
        fix="make the model load and predict in its own environment, from the model folder "
        f"({SHIPPED}).",
    )
