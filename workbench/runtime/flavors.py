"""Model flavors: how a saved model is loaded and asked for one record's answer.

Pure Python apart from the model's own libraries, imported lazily: this module
runs inside the image and in the data scientist's interpreter alike.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any, Protocol


class Predictor(Protocol):
    def predict(self, record: dict[str, Any]) -> dict[str, Any]: ...


def _plain(value: Any) -> Any:
    """numpy scalars and arrays to JSON-ready Python values, at any depth of an answer's
    objects and lists (a NaN anywhere is null, a key that is not text is written as JSON
    writes it), so the image and the model's own environment see the same values."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {
            k if isinstance(k, str) else json.dumps(_plain(k)): _plain(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _is_catboost(model: Any) -> bool:
    return type(model).__module__.split(".")[0] == "catboost"


def own_features(model: Any) -> list[str] | None:
    """The feature names the model knows: scikit-learn's `feature_names_in_`, a
    `feature_names` attribute, CatBoost's `feature_names_` (unless its made-up 0, 1, 2 of a
    model trained on bare arrays)."""
    for attribute in ("feature_names_in_", "feature_names", "feature_names_"):
        names = getattr(model, attribute, None)
        if names is not None and len(names):
            named = [str(f) for f in names]
            if attribute == "feature_names_" and named == [str(i) for i in range(len(named))]:
                return None
            return named
    return None


def encoded_columns(model: Any) -> list[tuple[str, list[Any], bool]]:
    """Each column a fitted scikit-learn ColumnTransformer hands to an encoder (OneHotEncoder,
    OrdinalEncoder, TargetEncoder: anything with `categories_`): its categories (None and
    NaN left out, numpy scalars as Python's) and whether the encoder fails on any other
    value (`handle_unknown="error"`, OneHotEncoder's and OrdinalEncoder's default)."""
    found: list[tuple[str, list[Any], bool]] = []

    def walk(step: Any, columns: list[str] | None, depth: int) -> None:
        if step is None or depth > 8:
            return
        steps = getattr(step, "steps", None)
        if isinstance(steps, list):  # a Pipeline: its first step sees the columns as sent;
            for _, inner in steps:  # the next ones only past an imputer (it keeps text text):
                walk(inner, columns, depth + 1)  # a FunctionTransformer may make numbers text
                if type(inner).__name__ != "SimpleImputer":
                    break
            return
        transformers = getattr(step, "transformers_", None)
        if isinstance(transformers, list):
            for entry in transformers:
                picked: Any = entry[2] if len(entry) > 2 else None
                picked = [picked] if isinstance(picked, str) else picked
                names = list(picked) if hasattr(picked, "__iter__") else []
                if names and all(isinstance(n, str) for n in names):
                    walk(entry[1], names, depth + 1)
            return
        categories = getattr(step, "categories_", None)
        if columns and isinstance(categories, list) and len(categories) == len(columns):
            strict = getattr(step, "handle_unknown", None) == "error"
            for column, values in zip(columns, categories, strict=True):
                seen = [v.item() if hasattr(v, "item") else v for v in values]
                found.append((column, [v for v in seen if v is not None and v == v], strict))

    walk(model, None, 0)
    return found


def text_encoded(model: Any) -> list[str]:
    """The columns an encoder took as text (all its categories text): a code such as
    `02110` must reach it as text, never as the number 2110."""
    found: list[str] = []
    for column, seen, _ in encoded_columns(model):
        if seen and all(isinstance(v, str) for v in seen) and column not in found:
            found.append(column)
    return found


CATBOOST_CLASSIFIER_LOSSES = ("Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll")
# Native booster files: LightGBM's `save_model` text, XGBoost's JSON and UBJSON.
BOOSTER_SUFFIXES = (".txt", ".json", ".ubj")
BOOSTER_LIBRARIES = ("lightgbm", "xgboost")


def _boosters() -> Any:
    """boosters.py, imported only for LightGBM and XGBoost models: a package inside the
    image, a plain module beside this one in the model's own interpreter."""
    return importlib.import_module(f"{__package__}.boosters" if __package__ else "boosters")


def own_categories(model: Any) -> dict[str, list[Any]]:
    """The categories a LightGBM or XGBoost model was trained on (pandas `category`
    columns), by feature: each request's value becomes the code it had in training."""
    if type(model).__name__ == "NativeBooster":  # it read them already
        return dict(model.categories)
    if type(model).__module__.split(".")[0] in BOOSTER_LIBRARIES:
        return dict(_boosters().categories_of(model))
    return {}


def load_model(artifact: Path) -> Any:
    """A saved model: a CatBoost native `.cbm` as the classifier or regressor its loss says
    it is (so it answers classes and probabilities), a LightGBM `.txt` or XGBoost `.json` /
    `.ubj` Booster as its objective says (boosters.py), `.pkl`/`.pickle` with pickle,
    anything else with joblib (a pickled Booster given the same face as its file)."""
    if artifact.suffix.lower() in BOOSTER_SUFFIXES:
        return _boosters().load(artifact)
    loaded = _load_file(artifact)
    if type(loaded).__module__.split(".")[0] in BOOSTER_LIBRARIES:
        return _boosters().native(loaded)
    return loaded


def _load_file(artifact: Path) -> Any:
    """CatBoost's `.cbm`, a pickle, or a joblib file."""
    if artifact.suffix == ".cbm":
        from catboost import CatBoost, CatBoostClassifier, CatBoostRegressor

        loss = str(CatBoost().load_model(str(artifact)).get_all_params().get("loss_function"))
        kind = CatBoostClassifier if loss in CATBOOST_CLASSIFIER_LOSSES else CatBoostRegressor
        return kind().load_model(str(artifact))
    if artifact.suffix in (".pkl", ".pickle"):
        return _load_pickle(artifact)
    import joblib

    return joblib.load(artifact)


def _load_pickle(artifact: Path) -> Any:
    """A pickle, or what `joblib.dump(model, "model.pkl")` wrote under that name: plain
    pickle cannot read the numpy arrays joblib writes beside its stream, so joblib (which
    reads plain pickles too) is asked when pickle fails; its import then puts it in the
    runtime set, as the image needs it. Neither loading: pickle's own error is raised."""
    import pickle

    try:
        with open(artifact, "rb") as handle:
            return pickle.load(handle)
    except Exception as pickle_error:
        try:
            import joblib

            return joblib.load(artifact)
        except Exception:
            raise pickle_error from None


# Classifiers whose `predict` is the argmax of `predict_proba` by construction (their own
# code computes it so), by top-level package and exact class name: a subclass may not be.
ARGMAX_CLASSIFIERS = frozenset(
    ("sklearn", name)
    for name in (
        "LogisticRegression",
        "LogisticRegressionCV",
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
        "KNeighborsClassifier",
        "GaussianNB",
        "MultinomialNB",
        "BernoulliNB",
        "ComplementNB",
    )
)


def _one(prediction: Any) -> Any:
    """One answer per record: a column of one (a regressor fitted on a one-column DataFrame
    target, CatBoost's labels) is that one value, never `[x]`."""
    value = _plain(prediction)
    return value[0] if isinstance(value, list) and len(value) == 1 else value


class SklearnPredictor:
    """A scikit-learn estimator saved with joblib or pickle, or a model with its API
    (XGBoost, LightGBM, CatBoost wrappers; CatBoost's native `.cbm` too).

    Records are turned into one row in feature order: the model's own
    `feature_names_in_` (set when trained on a DataFrame, and then fed a DataFrame),
    else a `feature_names` attribute, else the request schema's `x-feature-order`
    (written by `schema infer` for models trained on bare arrays).
    """

    def __init__(
        self, artifact: Path, features: list[str], dtypes: dict[str, str] | None = None
    ) -> None:
        self.model = load_model(artifact)
        # What the model itself knows of its inputs (None when it was trained on bare arrays).
        self.known_features = own_features(self.model)
        self.features = self.known_features or list(features)
        # CatBoost's categorical features (by index), sent as strings as it was trained.
        indices = getattr(self.model, "get_cat_feature_indices", None)
        self.categorical = [self.features[i] for i in indices()] if callable(indices) else []
        # scikit-learn encoders fitted on text: such columns are strings too (`02110`).
        self.categorical += [
            f for f in text_encoded(self.model) if f in self.features and f not in self.categorical
        ]
        # What each encoder knows of its column, for the contract (`schema infer`): a
        # strict one's (it fails on anything else) where two encoders take the column.
        self.encoder_categories: dict[str, dict[str, Any]] = {}
        for c, v, strict in encoded_columns(self.model):
            if c in self.features and not self.encoder_categories.get(c, {}).get("strict"):
                self.encoder_categories[c] = {"values": v, "strict": strict}
        # LightGBM's and XGBoost's pandas categories, each column made one with them.
        self.categories = {
            k: v for k, v in own_categories(self.model).items() if k in self.features
        }
        self.frame: Any = None
        self.numpy: Any = None
        self.category: Any = None
        if (
            getattr(self.model, "feature_names_in_", None) is not None
            or (self.known_features and _is_catboost(self.model))
            or self.categories
        ):
            try:  # fitted on a DataFrame: pandas (and so numpy) is in its environment
                import numpy
                from pandas import Categorical, DataFrame
            except ImportError:
                pass
            else:
                self.frame, self.numpy, self.category = DataFrame, numpy, Categorical
        # Each column's dtype as the schema implies it (never the batch's neighbours'); not
        # CatBoost's categorical columns, which refuse floats, nor pandas categories.
        self.dtypes = {
            k: v
            for k, v in (dtypes or {}).items()
            if k in self.features and k not in self.categorical and k not in self.categories
        }
        classes = getattr(self.model, "classes_", None)
        # A multi-output classifier's classes_ is one array per output, and its predict_proba
        # a list of arrays: its answers are its predictions alone.
        if isinstance(classes, list) and any(
            hasattr(c, "__len__") and not isinstance(c, str) for c in classes
        ):
            classes = None
        self.classes = [_plain(c) for c in classes] if classes is not None else []
        self.has_proba = hasattr(self.model, "predict_proba") and bool(self.classes)
        self.class_from_proba = False  # set by `prepare` once seen true on real records

    def prepare(self, examples: list[dict[str, Any]]) -> None:
        """One model call per answer where it gives the same answer on every record: only
        for a final estimator whose `predict` is by definition the most probable class of
        its `predict_proba` (ARGMAX_CLASSIFIERS; never a tuned threshold, an SVC's Platt
        scaling or a subclass), and then checked on every example record, values and types."""
        final = self.model[-1] if hasattr(self.model, "steps") else self.model
        kind = type(final)
        argmax = getattr(final, "predict_is_argmax", False) is True  # a native booster's
        if (kind.__module__.split(".")[0], kind.__name__) not in ARGMAX_CLASSIFIERS and not argmax:
            return
        if not self.has_proba or not examples:
            return
        try:
            rows = self.rows(examples)
            said = [_one(p) for p in _plain(self.model.predict(rows))]
            probabilities = self.model.predict_proba(rows).tolist()
        except Exception:
            return
        top = [self.classes[max(range(len(p)), key=p.__getitem__)] for p in probabilities]
        self.class_from_proba = said == top and list(map(type, said)) == list(map(type, top))

    def rows(self, records: list[dict[str, Any]]) -> Any:
        """The model's input: a DataFrame with its own column names when it was fitted on
        one (so it sees the names it knows, and missing values as NaN), built column by
        column, else plain rows in feature order."""
        if self.frame is not None:
            columns: dict[str, Any] = {}
            for name in self.features:
                values = [record.get(name) for record in records]
                if name in self.categories:  # the training categories, so the same codes
                    known = self.categories[name]
                    # A value training never saw is missing to the model (as it codes one).
                    seen = [v if v in known else None for v in values]
                    columns[name] = self.category(seen, categories=known)
                else:
                    columns[name] = self._typed(values, self.dtypes.get(name))
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

    def _typed(self, values: list[Any], dtype: str | None) -> Any:
        """One column as the schema types it; left to pandas when it does not fit (an
        integer past int64, which the schema allows without a maximum)."""
        if dtype is None:
            return values
        try:
            return self.numpy.array(values, dtype=dtype)
        except (OverflowError, TypeError, ValueError):
            return values

    def predict_many(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows = self.rows(records)
        out: list[dict[str, Any]] = []
        if self.class_from_proba:  # one call: the class is the most probable one
            names = [str(c) for c in self.classes]
            proba = self.model.predict_proba(rows)
            classes = self.classes
            return [
                {"prediction": classes[best], "probabilities": dict(zip(names, probs, strict=True))}
                for best, probs in zip(proba.argmax(axis=1).tolist(), proba.tolist(), strict=True)
            ]
        # One answer per record: a column of one (a regressor fitted on a one-column
        # DataFrame target, CatBoost's labels) is that one value, never `[x]`.
        predictions = [_one(p) for p in _plain(self.model.predict(rows))]
        out = [{"prediction": p} for p in predictions]
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
    dtypes: dict[str, str] | None = None,
    labels: list[str] | None = None,
) -> Any:
    """The predictor of `flavor`: SklearnPredictor, ClassPredictor, or a tensor flavor's
    (`tensors.py`, imported only for those flavors)."""
    if flavor in ("onnx", "torch"):
        if artifact is None:
            raise ValueError(f"flavor {flavor} needs an artifact")
        # A package inside the image (`.tensors`), a plain folder on sys.path beside it when
        # the model's own interpreter runs inprocess.py.
        tensors = importlib.import_module(f"{__package__}.tensors" if __package__ else "tensors")
        return tensors.load(flavor, root / artifact, features, list(labels or []))
    if flavor == "sklearn":
        if artifact is None:
            raise ValueError("flavor sklearn needs an artifact")
        # A pipeline pickled with functions of the project's own modules (a
        # FunctionTransformer over features.double, the module shipped in model.code)
        # imports them when unpickled: from the model's folder, here and in the image.
        if str(root) not in sys.path:
            sys.path.append(str(root))
        return SklearnPredictor(root / artifact, features, dtypes)
    if flavor == "python":
        if predictor is None:
            raise ValueError("flavor python needs a predictor reference")
        artifacts_dir = (root / artifact).parent if artifact else root
        return ClassPredictor(predictor, root, artifacts_dir)
    raise ValueError(f"unknown flavor {flavor!r}")
