"""What the image tells about its traffic: inputs and predictions counted into the fixed
bins made at build time (drift, at /metrics and /monitoring), and, when switched on, one
JSON line per prediction with its inputs and outputs (sampled; fields marked
`x-log: false` in the schemas left out).

The bin rule (`rules.bin_of`) is the one the build's reference is made with. The labels
come from the build, never from a request, so /metrics stays bounded whatever is sent.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

import orjson
from prometheus_client import Counter

from .rules import bin_of

try:  # in the image whenever the model uses it (scikit-learn does); counting works without
    import numpy
except ImportError:  # pragma: no cover - a predictor class with no NumPy
    numpy = None  # type: ignore[assignment]

FEATURE_BINS = Counter(
    "workbench_feature_bin", "Input values per field and reference bin", ["feature", "bin"]
)
PREDICTION_BINS = Counter("workbench_prediction_bin", "Predictions per reference bin", ["bin"])


def _hidden(schema: dict[str, Any]) -> frozenset[str]:
    properties = schema.get("properties") or {}
    return frozenset(
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and spec.get("x-log") is False
    )


class Monitor:
    def __init__(
        self,
        config: dict[str, Any],
        request_schema: dict[str, Any],
        response_schema: dict[str, Any],
    ) -> None:
        settings = config.get("monitoring") or {}
        self.version = config.get("version")
        self.counting_since = round(time.time(), 3)  # the window the counts cover
        self.reference: dict[str, Any] | None = settings.get("reference")
        self.log_predictions = bool(settings.get("log_predictions"))
        self.sample = float(settings.get("sample", 1.0))
        self.hidden_inputs = _hidden(request_schema)
        self.hidden_outputs = _hidden(response_schema)
        features = (self.reference or {}).get("features") or {}
        self.features = [(name, spec) for name, spec in features.items()]
        self.prediction = (self.reference or {}).get("prediction")
        # Every child counter made once: a request only adds to them.
        self.children = {
            (name, label): FEATURE_BINS.labels(name, label)
            for name, spec in self.features
            for label in spec["reference"]
        }
        self.prediction_children = {
            label: PREDICTION_BINS.labels(label)
            for label in (self.prediction or {}).get("reference", {})
        }

    def observe(self, records: list[Any], answers: list[Any], request_id: str) -> None:
        if self.features or self.prediction:
            self._count(records, answers)
        if self.log_predictions:
            self._log(records, answers, request_id)

    def _count(self, records: list[Any], answers: list[Any]) -> None:
        for name, spec in self.features:
            column = [r.get(name) if isinstance(r, dict) else None for r in records]
            self._add(column, spec, lambda label, n, name=name: self.children[(name, label)].inc(n))
        if self.prediction:
            field = self.prediction.get("field", "prediction")
            column = [a.get(field) if isinstance(a, dict) else None for a in answers]
            self._add(
                column, self.prediction, lambda label, n: self.prediction_children[label].inc(n)
            )

    def _add(self, column: list[Any], spec: dict[str, Any], inc: Any) -> None:
        """Count one field's values of a request into its bins: with NumPy for numbers (one
        searchsorted for the whole batch; the same bins as `bin_of`), else value by value."""
        if spec["kind"] == "numeric" and numpy is not None and len(column) > 8:
            try:
                values = numpy.array(column, dtype=float)  # None becomes NaN: "missing"
            except (TypeError, ValueError):
                values = None
            if values is not None:
                missing = numpy.isnan(values)
                found = numpy.searchsorted(
                    numpy.asarray(spec["edges"], dtype=float), values[~missing], side="left"
                )
                for index, count in enumerate(
                    numpy.bincount(found, minlength=len(spec["edges"]) + 1)
                ):
                    if count:
                        inc(str(index), int(count))
                if missing.any():
                    inc("missing", int(missing.sum()))
                return
        seen: dict[str, int] = {}
        for value in column:
            label = bin_of(spec, value)
            seen[label] = seen.get(label, 0) + 1
        for label, count in seen.items():
            inc(label, count)

    def _log(self, records: list[Any], answers: list[Any], request_id: str) -> None:
        lines = []
        for record, answer in zip(records, answers, strict=False):
            if self.sample < 1.0 and random.random() >= self.sample:
                continue
            inputs = (
                {k: v for k, v in record.items() if k not in self.hidden_inputs}
                if isinstance(record, dict)
                else record
            )
            outputs = (
                {k: v for k, v in answer.items() if k not in self.hidden_outputs}
                if isinstance(answer, dict)
                else answer
            )
            lines.append(
                orjson.dumps(
                    {
                        "event": "prediction",
                        "ts": round(time.time(), 3),
                        "request_id": request_id,
                        "model_version": self.version,
                        "inputs": inputs,
                        "outputs": outputs,
                    }
                )
            )
        if lines:
            sys.stdout.write(b"\n".join(lines).decode() + "\n")

    def describe(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "log_predictions": self.log_predictions,
            "sample": self.sample,
            "hidden_fields": sorted(self.hidden_inputs | self.hidden_outputs),
            "counting_since": self.counting_since,
        }
