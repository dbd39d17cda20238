"""Run the model on records in the model's own interpreter (golden answers, inference).

Usage: python inprocess.py < request.json > answers.json
request: {"flavor", "root", "artifact", "predictor", "features", "records"}
answer:  {"answers": [...], "modules": [...], "warnings": [...]}, or {"error": ...}, exit 1.

The modules are everything imported while loading and predicting (pickled
models import their libraries only on load); the warnings are those raised
meanwhile (such as scikit-learn's InconsistentVersionWarning).
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flavors import load_predictor


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


def main() -> int:
    request = json.load(sys.stdin)
    stage = "load"
    before = set(sys.modules)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = load_predictor(
                request["flavor"],
                root=Path(request["root"]),
                artifact=request.get("artifact"),
                predictor=request.get("predictor"),
                features=request.get("features", []),
            )
            stage = "predict"
            answers = [model.predict(record) for record in request["records"]]
        except Exception as exc:
            last = traceback.extract_tb(exc.__traceback__)[-1]
            json.dump(
                {
                    "error": f"{type(exc).__name__}: {exc}",
                    "stage": stage,
                    "where": f"{last.filename}:{last.lineno}",
                    "modules": imported_since(before),
                },
                sys.stdout,
            )
            return 1
    seen = [f"{w.category.__name__}: {w.message}" for w in caught]
    json.dump(
        {
            "answers": answers,
            "modules": imported_since(before),
            "warnings": list(dict.fromkeys(seen)),
            "feature_names": getattr(model, "known_features", None),
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
