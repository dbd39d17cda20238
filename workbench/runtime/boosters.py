"""Native boosters: a LightGBM model file (`Booster.save_model`, `.txt`) or an XGBoost one
(`.json`, `.ubj`), or either Booster pickled, given the face the sklearn flavor asks of a
model; and the categories a LightGBM or XGBoost model (wrapper or Booster) was trained on.

What the face says comes from the model itself: its feature names (never LightGBM's
made-up Column_0, Column_1), its classes from its objective (binary: 0 and 1 with
probabilities; multiclass: 0 .. num_class-1; anything else answers a number), and every
call's answer is checked against that shape. Imported only for these models.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

LIGHTGBM_BINARY = ("binary",)
LIGHTGBM_MULTICLASS = ("multiclass", "multiclassova")
# XGBoost objective -> (kind, probabilities): binary:hinge and multi:softmax answer classes
# without probabilities; every other objective (reg:*, binary:logitraw, rank:* ...) a number.
XGBOOST_CLASSIFIERS = {
    "binary:logistic": ("binary", True),
    "binary:hinge": ("binary", False),
    "multi:softprob": ("multiclass", True),
    "multi:softmax": ("multiclass", False),
}

# One thread per prediction: the server runs a process per CPU already, and a booster left
# to OpenMP's default (every core, in every process) answered one record in 27 ms
# (LightGBM) and 63 ms (XGBoost) on a loaded 2-core host, against about 2 ms on one thread.
THREADS = 1


def _library(model: Any) -> str:
    return type(model).__module__.split(".")[0]


def _plain_values(values: Any) -> list[Any] | None:
    """Categories as JSON values (numpy scalars made plain); None when one is not a string,
    number or boolean (dates: the schema could not say them)."""
    out = [v.item() if hasattr(v, "item") else v for v in values]
    return out if all(isinstance(v, str | int | float | bool) for v in out) else None


def lightgbm_categories(booster: Any) -> dict[str, list[Any]]:
    """The pandas categories of each categorical feature, in training order: LightGBM keeps
    them (`pandas_categorical`) in the order of its categorical features (those whose
    feature info lists values). Nothing when the two cannot be paired."""
    known = getattr(booster, "pandas_categorical", None) or []
    if not known:
        return {}
    infos = booster.dump_model(num_iteration=1).get("feature_infos") or {}
    categorical = [name for name, info in infos.items() if info.get("values")]
    if len(categorical) != len(known):
        return {}
    out = {name: _plain_values(values) for name, values in zip(categorical, known, strict=True)}
    return {name: values for name, values in out.items() if values is not None}


def xgboost_categories(booster: Any) -> dict[str, list[Any]]:
    """The categories XGBoost (3.1 and later) saves with a model trained on pandas
    categories, read from the model's JSON (`cats.enc`, one entry per feature: strings as
    UTF-8 bytes cut by `offsets`, numbers as `values`). Nothing for a model without
    categorical features, or one saved by an XGBoost that kept no categories."""
    types = list(booster.feature_types or [])
    names = list(booster.feature_names or [])
    if "c" not in types or len(names) != len(types):
        return {}
    try:
        model = json.loads(bytes(booster.save_raw("json")))
        encoded = model["learner"]["gradient_booster"]["model"]["cats"]["enc"]
    except (KeyError, TypeError, ValueError):
        return {}
    out: dict[str, list[Any]] = {}
    for name, kind, entry in zip(names, types, encoded, strict=False):
        if kind != "c":
            continue
        offsets, values = entry.get("offsets") or [], entry.get("values") or []
        if offsets:
            raw = bytes(values)
            found = [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
        else:
            found = list(values)
        plain = _plain_values(found)
        if plain:
            out[name] = plain
    return out


def categories_of(model: Any) -> dict[str, list[Any]]:
    """The training categories of a LightGBM or XGBoost model (scikit-learn wrapper or
    native), by feature name; nothing for any other model."""
    if isinstance(model, NativeBooster):
        return model.categories
    library = _library(model)
    if library == "lightgbm" and hasattr(model, "booster_"):
        return lightgbm_categories(model.booster_)
    if library == "xgboost" and callable(getattr(model, "get_booster", None)):
        return xgboost_categories(model.get_booster())
    return {}


class NativeBooster:
    """A LightGBM or XGBoost Booster with `predict`, `predict_proba` (a classifier with
    probabilities), `classes_`, `feature_names` and `n_features_in_`."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster
        self.library = _library(booster)
        if self.library == "lightgbm":
            self._read_lightgbm(booster)
        else:
            self._read_xgboost(booster)
        self.classes_: list[int] | None = (
            list(range(self.num_class)) if self.kind != "number" else None
        )
        if self.kind != "number" and self.probabilities:
            self.predict_proba = self._probabilities
        # `predict` is the most probable class of `predict_proba`, by construction here.
        self.predict_is_argmax = self.kind != "number" and self.probabilities

    def _read_lightgbm(self, booster: Any) -> None:
        head = booster.dump_model(num_iteration=1)
        self.objective = str(head.get("objective") or "").split(" ")[0]
        self.num_class = int(head.get("num_class") or 1)
        self.kind = (
            "binary"
            if self.objective in LIGHTGBM_BINARY
            else "multiclass"
            if self.objective in LIGHTGBM_MULTICLASS
            else "number"
        )
        self.num_class = 2 if self.kind == "binary" else self.num_class
        self.probabilities = True
        names = [str(n) for n in booster.feature_name()]
        made_up = names == [f"Column_{i}" for i in range(len(names))]
        self.feature_names = None if made_up else names
        self.n_features_in_ = int(booster.num_feature())
        self.categories = lightgbm_categories(booster)

    def _read_xgboost(self, booster: Any) -> None:
        learner = json.loads(booster.save_config())["learner"]
        self.objective = str(learner["objective"]["name"])
        self.kind, self.probabilities = XGBOOST_CLASSIFIERS.get(self.objective, ("number", False))
        classes = int(float(learner["learner_model_param"].get("num_class") or 0))
        self.num_class = 2 if self.kind == "binary" else classes
        booster.set_param({"nthread": THREADS})
        names = booster.feature_names
        self.feature_names = [str(n) for n in names] if names else None
        self.n_features_in_ = int(booster.num_features())
        self.categories = xgboost_categories(booster)

    def _raw(self, rows: Any) -> Any:
        """The booster's own answer to the rows (a DataFrame as built, else a float matrix,
        a missing value as NaN)."""
        import numpy

        data = rows if hasattr(rows, "columns") else numpy.asarray(rows, dtype=numpy.float64)
        if self.library == "lightgbm":
            out = self.booster.predict(data, num_threads=THREADS)
        else:
            out = self.booster.inplace_predict(data)
        return numpy.asarray(out), len(data)

    def _expected(self, out: Any, count: int) -> Any:
        """The answer checked against the shape the objective promises."""
        # Probabilities of each class per record, else one value per record (the probability
        # of 1, a class, a number).
        many = self.kind == "multiclass" and self.probabilities
        want = (count, self.num_class) if many else (count,)
        if self.kind == "number" and out.ndim == 2 and out.shape[0] == count:
            return out  # several targets: one list of numbers per record
        if out.shape != want:
            raise ValueError(
                f"the {self.library} model's objective {self.objective} promises answers of "
                f"shape {want} for {count} records, but it answered {out.shape}"
            )
        return out

    def _probabilities(self, rows: Any) -> Any:
        import numpy

        out = self._expected(*self._raw(rows))
        if self.kind == "binary":
            return numpy.column_stack([1 - out, out])
        return out

    def predict(self, rows: Any) -> Any:
        out = self._expected(*self._raw(rows))
        if self.kind == "number":
            return out
        if self.kind == "multiclass":
            return out.argmax(axis=1) if self.probabilities else out.astype(int)
        return (out > 0.5).astype(int)  # binary: the probability of 1, or hinge's 0/1


def load(artifact: Path) -> NativeBooster:
    """A native model file: `.txt` LightGBM, `.json` / `.ubj` XGBoost."""
    if artifact.suffix.lower() == ".txt":
        import lightgbm

        return NativeBooster(lightgbm.Booster(model_file=str(artifact)))
    import xgboost

    return NativeBooster(xgboost.Booster(model_file=str(artifact)))


def native(model: Any) -> Any:
    """A pickled LightGBM or XGBoost Booster given the same face; any other model as is."""
    if type(model).__name__ == "Booster" and _library(model) in ("lightgbm", "xgboost"):
        return NativeBooster(model)
    return model
