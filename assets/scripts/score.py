"""Run in the model's own interpreter: a quality metric by scikit-learn's implementation.

Reads {"metric", "y_true", "y_pred", "labels", "proba"} as JSON on stdin and prints
{"value", "n", and a confusion matrix or a residual summary} (or {"error"}) as JSON.
Only the standard library and scikit-learn/NumPy, which the model's environment has
whenever it trains with scikit-learn. Without them (a predictor class on NumPy alone, an ONNX
or torch model), the metrics of the prediction alone are computed here by their definitions
(the same figures); the probability metrics (log_loss, roc_auc) say scikit-learn is needed.
"""

import json
import math
import sys


def _percentile(values: list, share: float) -> float:
    """NumPy's default (linear) percentile."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * share
    low = math.floor(at)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (at - low)


def _regression(metric: str, truth: list, pred: list) -> tuple:
    errors = [p - t for t, p in zip(truth, pred)]
    mean = sum(truth) / len(truth)
    total = sum((t - mean) ** 2 for t in truth)
    squares = sum(e * e for e in errors)
    value = {
        "rmse": math.sqrt(squares / len(errors)),
        "mae": sum(abs(e) for e in errors) / len(errors),
        "r2": (1 - squares / total) if total else (1.0 if squares == 0 else 0.0),
    }[metric]
    absolute = [abs(e) for e in errors]
    residuals = {
        "mean_abs": sum(absolute) / len(absolute),
        "p95_abs": _percentile(absolute, 0.95),
        "max_abs": max(absolute),
        "mean_signed": sum(errors) / len(errors),
    }
    return value, residuals


def _label(value: object) -> str:
    """A class label compared as scikit-learn compares values: the number 1, 1.0 and True
    are one label (a predictor answering floats against a CSV's integer classes), text is
    itself."""
    if isinstance(value, (bool, int, float)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _classes(metric: str, y_true: list, y_pred: list) -> float:
    pairs = list(zip(map(_label, y_true), map(_label, y_pred)))
    if metric == "accuracy":
        return sum(t == p for t, p in pairs) / len(pairs)
    recalls, f1s = [], []
    for label in sorted({t for t, _ in pairs} | {p for _, p in pairs}):
        hit = sum(t == p == label for t, p in pairs)
        actual = sum(t == label for t, _ in pairs)
        said = sum(p == label for _, p in pairs)
        if actual:
            recalls.append(hit / actual)
        f1s.append(2 * hit / (actual + said) if actual + said else 0.0)
    return sum(recalls) / len(recalls) if metric == "balanced_accuracy" else sum(f1s) / len(f1s)


PLAIN = ("rmse", "mae", "r2", "accuracy", "balanced_accuracy", "f1_macro")


def plain(request: dict) -> dict:
    """A metric of the prediction alone, by its definition, with no scikit-learn."""
    metric, y_true, y_pred = request["metric"], request["y_true"], request["y_pred"]
    out: dict = {"n": len(y_true)}
    try:
        if metric in ("rmse", "mae", "r2"):
            truth, pred = [float(t) for t in y_true], [float(p) for p in y_pred]
            value, out["residuals"] = _regression(metric, truth, pred)
        else:
            value = _classes(metric, y_true, y_pred)
            seen = sorted({*map(_label, y_true), *map(_label, y_pred)})
            index = {label: i for i, label in enumerate(seen)}
            matrix = [[0] * len(seen) for _ in seen]
            for t, p in zip(map(_label, y_true), map(_label, y_pred)):
                matrix[index[t]][index[p]] += 1
            out["confusion"] = {"labels": seen, "matrix": matrix}
    except Exception as exc:  # reported as the item's evidence
        return {"error": f"{type(exc).__name__}: {exc}"}
    out["value"] = float(value)
    return out


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        import numpy as np
        from sklearn import metrics
    except ImportError as exc:
        if request["metric"] in PLAIN:
            print(json.dumps(plain(request)))
        else:
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
