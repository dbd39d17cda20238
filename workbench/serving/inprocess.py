"""Run the model on records in the model's own interpreter (golden answers, inference).

Usage: python inprocess.py < request.json > answers.json
request: {"flavor", "root", "artifact", "predictor", "features", "records"}
answer:  {"answers": [...], "modules": [...]} or {"error": "..."}, exit 1.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flavors import load_predictor


def main() -> int:
    request = json.load(sys.stdin)
    stage = "load"
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
            },
            sys.stdout,
        )
        return 1
    json.dump({"answers": answers, "modules": sorted(sys.modules)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
