"""Run the model on records in the model's own interpreter (golden answers, inference).

Usage: python inprocess.py < request.json > answers.json
       python inprocess.py --many  (one request per line in, one answer per line out)
request: {"flavor", "root", "artifact", "predictor", "features", "dtypes", "labels", "records",
          "tolerate"}
answer:  {"answers": [...], "modules": [...], "warnings": [...], "facts": {...}},
         or {"error": ...}, exit 1.

With "tolerate", a record the model fails on answers {"__error__": "..."} instead of
failing them all (to learn which inputs the model accepts, e.g. missing values).
"facts" is what the model itself knows: feature names, feature count, classes.

The modules are everything imported while loading and predicting (pickled
models import their libraries only on load); the warnings are those raised
meanwhile (such as scikit-learn's InconsistentVersionWarning).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flavors import load_predictor


def module_files(names: list[str]) -> dict[str, str]:
    """Where each imported top-level module lives (a file or a package folder): how the
    snapshot finds the owner of a module that an editable install provides."""
    found = {}
    for name in names:
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None) or next(
            iter(getattr(module, "__path__", []) or []), None
        )
        if where:
            found[name] = str(where)
    return found


def imported_since(before: set[str]) -> list[str]:
    """Top-level modules imported since `before` that come from files (not built-in or
    pseudo-modules such as Cython's `cython_runtime`)."""
    names = set()
    for name in set(sys.modules) - before:
        top = name.split(".")[0]
        module = sys.modules.get(top)
        if module is not None and (
            getattr(module, "__file__", None) or getattr(module, "__path__", None)
        ):
            names.add(top)
    return sorted(names)


WHOLE = object()  # the record was read as a whole (iterated, copied, listed)


class ReadRecord(dict):
    """A record that notes which fields a predictor class read (local checks only, never
    in the image): by key (`record["x"]`, `.get`, `in`), or whole (iterated, `.items()`,
    `dict(record)`, a DataFrame of it), so a field no code path read can be named."""

    def __init__(self, data: dict, reads: set) -> None:
        super().__init__(data)
        self.reads = reads

    def __getitem__(self, key: object) -> object:
        self.reads.add(("asked", key))
        return super().__getitem__(key)

    def get(self, key: object, default: object = None) -> object:
        self.reads.add(("asked", key))
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.reads.add(("probed", key))  # a test for a field, not a need of it
        return super().__contains__(key)

    def setdefault(self, key: object, default: object = None) -> object:
        self.reads.add(("asked", key))
        return super().setdefault(key, default)

    def pop(self, key: object, *default: object) -> object:
        self.reads.add(("asked", key))
        return super().pop(key, *default)

    def __setitem__(self, key: object, value: object) -> None:
        self.reads.add(("written", key))  # a feature it derives: never asked of a caller
        super().__setitem__(key, value)

    def update(self, *others: object, **more: object) -> None:
        merged = dict(*others, **more)
        self.reads.update(("written", key) for key in merged)
        super().update(merged)

    def whole(self) -> None:
        self.reads.add(WHOLE)

    def __iter__(self):
        self.whole()  # also what dict(record) and **record go through for a subclass
        return super().__iter__()

    def keys(self):
        self.whole()
        return super().keys()

    def items(self):
        self.whole()
        return super().items()

    def values(self):
        self.whole()
        return super().values()

    def copy(self) -> dict:
        self.whole()
        return dict(super().items())

    def __reduce__(self):
        self.whole()  # pickled or deep-copied: a plain dict from here on
        return (dict, (dict(super().items()),))


def fields_read(reads: set) -> dict[str, list[str]] | None:
    """The fields the predictor read by name (`read`: asked or tested with `in`) and those
    it asked for (`asked`: `record[k]`, `.get`), both without the keys it wrote itself (a
    derived feature); None when it read a record whole."""
    if WHOLE in reads:
        return None
    written = {str(k) for kind, k in reads if kind == "written"}
    asked = {str(k) for kind, k in reads if kind == "asked"} - written
    probed = {str(k) for kind, k in reads if kind == "probed"} - written
    return {"read": sorted(asked | probed), "asked": sorted(asked)}


def tolerant(model: object, record: object) -> dict[str, object]:
    try:
        return model.predict(record)  # type: ignore[attr-defined]
    except Exception as exc:
        return {"__error__": f"{type(exc).__name__}: {exc}"}


def facts(model: object) -> dict[str, object]:
    """What the model knows of its own inputs and outputs (sklearn estimators and models
    with their API). A feature count of 0 is never believed (a pickled CatBoost model says
    0): its feature names, when it has them, count instead."""
    inner = getattr(model, "model", None)
    n_features = getattr(model, "n_features_in", None) or getattr(inner, "n_features_in_", None)
    if not n_features:
        names = getattr(inner, "feature_names_", None)
        n_features = len(names) if names is not None and len(names) else None
    return {
        "feature_names": getattr(model, "known_features", None),
        "n_features_in": int(n_features) if n_features else None,
        "classes": getattr(model, "classes", None) or None,
        "has_proba": bool(getattr(model, "has_proba", False)),
        "categorical": getattr(model, "categorical", None) or [],
        # LightGBM's and XGBoost's training categories, by feature (pandas `category`).
        "categories": getattr(model, "categories", None) or {},
        # A scikit-learn encoder's categories per column, and whether it fails on others.
        "encoder_categories": getattr(model, "encoder_categories", None) or {},
        # A graph's own element types, as Open Inference Protocol v2 datatypes (onnx).
        "datatypes": getattr(model, "datatypes", dict)(),
    }


def model_frame(exc: BaseException, root: Path) -> str | None:
    """The innermost frame of a file in the model folder: where the model's code failed."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(str(root) + "/"):
            return f"{frame.filename}:{frame.lineno}"
    return None


def answers_channel() -> TextIO:
    """The real stdout, kept for the JSON answer alone: from here on file descriptor 1 (a
    model's `print()`, a C library's output) goes to stderr, so a chatty model cannot hide
    its answers (the image sends the same lines to its log)."""
    sys.stdout.flush()
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return channel


def answer(request: dict, before: set) -> tuple[dict, int]:
    """The answer to one request, and the exit code it stands for (1: an error)."""
    stage = "load"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = load_predictor(
                request["flavor"],
                root=Path(request["root"]),
                artifact=request.get("artifact"),
                predictor=request.get("predictor"),
                features=request.get("features", []),
                dtypes=request.get("dtypes"),
                labels=request.get("labels"),
            )
            stage = "predict"
            records, reads = request["records"], set()  # type: tuple[list, set]
            tracked = request["flavor"] == "python" and bool(request.get("track_reads"))
            if tracked:
                records = [ReadRecord(record, reads) for record in records]
            if request.get("tolerate"):
                answers = [tolerant(model, record) for record in records]
            else:
                answers = model.predict_many(records) if records else []
        except Exception as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1]
            return {
                "error": f"{type(exc).__name__}: {exc}",
                "stage": stage,
                "where": f"{last.filename}:{last.lineno}",
                # The frame of the model's own code nearest the failure (not ours).
                "where_model": model_frame(exc, Path(request["root"])),
                "missing": getattr(exc, "filename", None)
                if isinstance(exc, FileNotFoundError)
                else None,
                "missing_module": getattr(exc, "name", None)
                if isinstance(exc, ModuleNotFoundError)
                else None,
                "modules": imported_since(before),
                "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
                "known_features": getattr(model, "known_features", None)
                if stage == "predict"
                else None,
            }, 1
    seen = [f"{w.category.__name__}: {w.message}" for w in caught]
    return {
        "answers": answers,
        "modules": imported_since(before),
        "module_files": module_files(imported_since(before)),
        "warnings": list(dict.fromkeys(seen)),
        "feature_names": getattr(model, "known_features", None),
        "facts": {**facts(model), **({"fields_read": fields_read(reads)} if tracked else {})},
    }, 0


def main() -> int:
    out = answers_channel()
    before = set(sys.modules)
    if sys.argv[1:] == ["--many"]:
        # One request per line, one answer per line, until stdin closes: a command with
        # several questions about one model imports its libraries once. The modules of a
        # later answer are all those imported since the start (the same model's). The
        # requests come on a copy of stdin; the model's own stdin is empty, as when asked
        # once (a model that reads it cannot swallow the next request).
        requests = os.fdopen(os.dup(0), "r")
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the process's stdin from here on
        for line in requests:
            out.write(json.dumps(answer(json.loads(line), before)[0]) + "\n")
            out.flush()
        return 0
    payload, code = answer(json.load(sys.stdin), before)
    json.dump(payload, out)
    out.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
