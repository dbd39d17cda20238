"""A python-flavor class answering numpy values inside nested objects and lists.

The trial of a hand-written scorer (`{"risk": np.float32, "detail": {"z": np.float32,
"contributions": ndarray}}`): only an answer's top-level values were made plain, so the
model's own environment failed to write the answers as JSON and the workbench said its
interpreter "is not a working Python 3.8+ interpreter" (point `python:` elsewhere), while
the image, whose JSON library writes numpy, served the same answers: a correct model
refused locally for a wrong cause. Every value at any depth is now plain, the same for the
local checks and the image (a NaN anywhere is null in both).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from workbench.runtime.flavors import ClassPredictor

SCORER = """\
import numpy as np


class Scorer:
    def load(self, artifacts_dir):
        pass

    def predict(self, record):
        x = np.array([record["age"], record["income"]], dtype=np.float32)
        return {
            "risk": np.float32(0.25),
            "flag": np.bool_(True),
            "detail": {"z": np.float32(-1.5), "contributions": x * np.float32(0.5),
                       "rank": np.int64(3), "gap": float("nan"), "by_code": {np.int64(7): 1}},
            "history": (np.float64(1.0), [np.int32(2)]),
        }
"""

WANT = {
    "risk": 0.25,
    "flag": True,
    "detail": {
        "z": -1.5,
        "contributions": [20.0, 15000.0],
        "rank": 3,
        "gap": None,
        "by_code": {"7": 1},
    },
    "history": [1.0, [2]],
}


@pytest.fixture
def predictor(tmp_path: Path) -> ClassPredictor:
    (tmp_path / "nested_scorer.py").write_text(SCORER)
    return ClassPredictor("nested_scorer:Scorer", tmp_path, tmp_path)


def test_nested_numpy_values_are_plain_json_one_record_and_many(
    predictor: ClassPredictor,
) -> None:
    record = {"age": 40, "income": 30000}
    for answer in (predictor.predict(record), *predictor.predict_many([record, record])):
        text = json.dumps(answer, allow_nan=False)  # what the model's environment writes
        assert json.loads(text) == WANT
        assert type(answer["detail"]["rank"]) is int and type(answer["flag"]) is bool
        assert not any(isinstance(v, float) and math.isnan(v) for v in answer["detail"].values())


def test_plain_values_pass_through_unchanged(tmp_path: Path) -> None:
    (tmp_path / "plain_scorer.py").write_text(
        "class Plain:\n    def predict(self, record):\n"
        "        return {'label': 'a b', 'scores': {'a b': 0.5}, 'top': ['a b'], 'n': 2}\n"
    )
    answer = ClassPredictor("plain_scorer:Plain", tmp_path, tmp_path).predict({})
    assert answer == {"label": "a b", "scores": {"a b": 0.5}, "top": ["a b"], "n": 2}
    assert np.float32(0.5) == 0.5  # numpy present for the module above
