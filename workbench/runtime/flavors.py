"""Model flavors: how a saved model is loaded and asked for one record's answer.

Pure Python apart from the model's own libraries, imported lazily: this module
runs inside the image and in the data scientist's interpreter alike.
"""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path
from typing import Any, Protocol


class Predictor(Protocol):
    def predict(self, record: dict[str, Any]) -> dict[str, Any]: ...


def _plain(value: Any) -> Any:
    """numpy scalars and arrays to JSON-ready Python values."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class SklearnPredictor:
    """A scikit-learn estimator saved with joblib or pickle.

    Records are turned into one row in feature order: the model's own
    `feature_names_in_` (set when trained on a DataFrame, and then fed a DataFrame),
    else a `feature_names` attribute, else the request schema's `x-feature-order`
    (written by `schema infer` for models trained on bare arrays).
    """

    def __init__(self, artifact: Path, features: list[str]) -> None:
        self.model = self._load(artifact)
        own = getattr(self.model, "feature_names_in_", None)
        if own is None:
            own = getattr(self.model, "feature_names", None)
        # What the model itself knows of its inputs (None when it was trained on bare arrays).
        self.known_features = [str(f) for f in own] if own is not None else None
        self.features = self.known_features or list(features)
        self.frame: Any = None
        if getattr(self.model, "feature_names_in_", None) is not None:
            try:  # fitted on a DataFrame: pandas is in its environment
                from pandas import DataFrame
            except ImportError:
                pass
            else:
                self.frame = DataFrame
        self.classes = [_plain(c) for c in getattr(self.model, "classes_", [])]
        self.has_proba = hasattr(self.model, "predict_proba") and bool(self.classes)
        self.class_from_proba = False  # set by `prepare` once seen true on real records

    @staticmethod
    def _load(artifact: Path) -> Any:
        if artifact.suffix in (".pkl", ".pickle"):
            import pickle

            with open(artifact, "rb") as handle:
                return pickle.load(handle)
        import joblib

        return joblib.load(artifact)

    def prepare(self, examples: list[dict[str, Any]]) -> None:
        """One model call per answer where it gives the same answer: when the class `predict`
        gives is the most probable class of `predict_proba` on every example record (checked
        here, never assumed), the class is taken from the probabilities alone."""
        if not self.has_proba or not examples:
            return
        try:
            rows = self.rows(examples)
            said = [_plain(p) for p in _plain(self.model.predict(rows))]
            probabilities = self.model.predict_proba(rows).tolist()
        except Exception:
            return
        top = [self.classes[max(range(len(p)), key=p.__getitem__)] for p in probabilities]
        self.class_from_proba = said == top and len(set(map(type, said))) <= 1

    def rows(self, records: list[dict[str, Any]]) -> Any:
        """The model's input: a DataFrame with its own column names when it was fitted on
        one (so it sees the names it knows, and missing values as NaN), built column by
        column, else plain rows in feature order."""
        if self.frame is not None:
            columns = {name: [record.get(name) for record in records] for name in self.features}
            return self.frame(columns, columns=self.features).fillna(value=math.nan)
        rows = [[record.get(name) for name in self.features] for record in records]
        # All numbers: the array the model would make of them itself (numpy's own inference,
        # as scikit-learn's check_array does), made once for predict and predict_proba.
        try:
            import numpy

            array = numpy.asarray(rows)
        except (ImportError, TypeError, ValueError):
            return rows
        return array if array.dtype.kind in "fiu" else rows

    def predict_many(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = self.rows(records)
        if self.class_from_proba:  # one call: the class is the most probable one
            names = [str(c) for c in self.classes]
            out = []
            for probs in self.model.predict_proba(rows).tolist():
                best = max(range(len(probs)), key=probs.__getitem__)
                answer = {"prediction": self.classes[best]}
                answer["probabilities"] = dict(zip(names, probs, strict=True))
                out.append(answer)
            return out
        predictions = _plain(self.model.predict(rows))
        out = [{"prediction": _plain(p)} for p in predictions]
        if self.has_proba:
            names = [str(c) for c in self.classes]
            probabilities = self.model.predict_proba(rows).tolist()  # Python floats at once
            for answer, probs in zip(out, probabilities, strict=True):
                answer["probabilities"] = dict(zip(names, probs, strict=True))
        return out

    def predict(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.predict_many([record])[0]


class ClassPredictor:
    """The user's own class: `load(artifacts_dir)` then `predict(record) -> dict`; a class
    that also has `predict_batch(records) -> list[dict]` answers many records in one call
    (what micro-batching and `/predict/batch` use)."""

    def __init__(self, reference: str, code_dir: Path, artifacts_dir: Path) -> None:
        module_name, _, class_name = reference.partition(":")
        if str(code_dir) not in sys.path:
            sys.path.insert(0, str(code_dir))
        cls = getattr(importlib.import_module(module_name), class_name)
        self.instance = cls()
        if hasattr(self.instance, "load"):
            self.instance.load(str(artifacts_dir))

    def predict(self, record: dict[str, Any]) -> dict[str, Any]:
        answer = self.instance.predict(record)
        if not isinstance(answer, dict):
            raise TypeError(f"predict() returned {type(answer).__name__}, expected a dict")
        return {k: _plain(v) for k, v in answer.items()}

    def predict_many(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        many = getattr(self.instance, "predict_batch", None)
        if many is None:
            return [self.predict(r) for r in records]
        answers = list(many(records))
        if len(answers) != len(records) or not all(isinstance(a, dict) for a in answers):
            raise TypeError(
                f"predict_batch() returned {len(answers)} answers to {len(records)} records; "
                "expected one dict per record, in order"
            )
        return [{k: _plain(v) for k, v in answer.items()} for answer in answers]


def load_predictor(
    flavor: str,
    *,
    root: Path,
    artifact: str | None,
    predictor: str | None,
    features: list[str],
) -> SklearnPredictor | ClassPredictor:
    if flavor == "sklearn":
        if artifact is None:
            raise ValueError("flavor sklearn needs an artifact")
        return SklearnPredictor(root / artifact, features)
    if flavor == "python":
        if predictor is None:
            raise ValueError("flavor python needs a predictor reference")
        artifacts_dir = (root / artifact).parent if artifact else root
        return ClassPredictor(predictor, root, artifacts_dir)
    raise ValueError(f"unknown flavor {flavor!r}")
