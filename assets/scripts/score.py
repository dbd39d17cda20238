"""Run in the model's own interpreter: a quality metric by scikit-learn's implementation.

Reads {"metric", "y_true", "y_pred", "labels", "proba"} as JSON on stdin and prints
{"value", "n", and a confusion matrix or a residual summary} (or {"error"}) as JSON.
Only the standard library and scikit-learn/NumPy, which the model's environment has
whenever it trains with scikit-learn; stated clearly when it does not.
"""

import json
import math
import sys


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        import numpy as np
        from sklearn import metrics
    except ImportError as exc:
        print(json.dumps({"error": f"scikit-learn is not importable here ({exc})"}))
        return 0
    metric = request["metric"]
    y_true, y_pred = request["y_true"], request["y_pred"]
    labels, proba = request.get("labels"), request.get("proba")
    out: dict = {"n": len(y_true)}
    try:
        if metric in ("rmse", "mae", "r2"):
            truth = np.asarray(y_true, dtype=float)
            pred = np.asarray(y_pred, dtype=float)
            value = {
                "rmse": lambda: math.sqrt(metrics.mean_squared_error(truth, pred)),
                "mae": lambda: metrics.mean_absolute_error(truth, pred),
                "r2": lambda: metrics.r2_score(truth, pred),
            }[metric]()
            residuals = np.abs(truth - pred)
            out["residuals"] = {
                "mean_abs": float(residuals.mean()),
                "p95_abs": float(np.percentile(residuals, 95)),
                "max_abs": float(residuals.max()),
                "mean_signed": float((pred - truth).mean()),
            }
        elif metric in ("roc_auc", "log_loss"):
            if not proba or not labels:
                raise ValueError(
                    f"{metric} needs probabilities in the answers; the model gave none"
                )
            matrix = np.asarray(proba, dtype=float)
            if metric == "log_loss":
                value = metrics.log_loss(y_true, matrix, labels=labels)
            elif len(labels) == 2:
                value = metrics.roc_auc_score([t == labels[1] for t in y_true], matrix[:, 1])
            else:
                value = metrics.roc_auc_score(y_true, matrix, multi_class="ovr", labels=labels)
        else:
            value = {
                "accuracy": lambda: metrics.accuracy_score(y_true, y_pred),
                "balanced_accuracy": lambda: metrics.balanced_accuracy_score(y_true, y_pred),
                "f1_macro": lambda: metrics.f1_score(y_true, y_pred, average="macro"),
            }[metric]()
        if metric not in ("rmse", "mae", "r2") and len(y_pred) == len(y_true):
            seen = sorted({*map(str, y_true), *map(str, y_pred)})
            matrix = metrics.confusion_matrix(
                list(map(str, y_true)), list(map(str, y_pred)), labels=seen
            )
            out["confusion"] = {"labels": seen, "matrix": matrix.tolist()}
    except Exception as exc:  # reported as the item's evidence
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 0
    out["value"] = float(value)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
