"""Drift: fixed bins per input field and for the prediction, made at build time from the
held-out data (else the example requests), and the comparison `workbench monitor` makes.

The image counts every record it answers into these bins (bounded cardinality: the bins
come from the build, never from requests) and serves the counts at /metrics and the
reference at /monitoring. The drift score per field is the population stability index
(PSI): below 0.1 stable, 0.1-0.25 watch (a warning), above 0.25 drifted; the thresholds
are the usual ones and can be set. Below a minimum number of observations (100 by default)
there is no verdict at all: "not enough traffic yet: N of M" (two requests are not a
distribution).
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import request
from workbench.project.manifest import Manifest
from workbench.project.model_env import load_examples
from workbench.runtime.rules import bin_of, label
from workbench.steps.schema.sample import read_sample

BINS = 10  # numeric fields: deciles of the reference
CATEGORIES = 10  # text fields: the most frequent values; the rest count as "(other)"
MAX_FIELDS = 50
MODERATE, DRIFTED = 0.1, 0.25  # the usual PSI thresholds: watch above the first
MIN_OBSERVATIONS = 100
METRIC_LINE = re.compile(r"^workbench_(feature|prediction)_bin_total\{(.*)\} ([0-9.e+]+)$")


def _numeric(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in present
    )


def bins_for(values: list[Any]) -> dict[str, Any]:
    """One field's bins and the reference share of each (missing values have their own)."""
    present = [v for v in values if v is not None]
    if _numeric(values):
        ordered = sorted(float(v) for v in present)
        edges = sorted(
            {ordered[min(len(ordered) - 1, (len(ordered) * q) // BINS)] for q in range(1, BINS)}
        )
        spec: dict[str, Any] = {"kind": "numeric", "edges": edges}
    else:
        counts: dict[str, int] = {}
        for value in present:
            counts[label(value)] = counts.get(label(value), 0) + 1
        top = sorted(counts, key=lambda k: (-counts[k], k))[:CATEGORIES]
        spec = {"kind": "categorical", "categories": top}
    spec["reference"] = shares([bin_of(spec, v) for v in values], names(spec))
    return spec


def names(spec: dict[str, Any]) -> list[str]:
    if spec["kind"] == "numeric":
        return [str(i) for i in range(len(spec["edges"]) + 1)] + ["missing"]
    return [*spec["categories"], "(other)", "missing"]


def shares(labels: list[str], all_names: list[str]) -> dict[str, float]:
    total = len(labels) or 1
    return {name: labels.count(name) / total for name in all_names}


def reference(manifest: Manifest, request_schema: dict[str, Any]) -> dict[str, Any] | None:
    """The bins of each top-level scalar request field, and of the true answers (the
    prediction's reference), from the held-out data; else from the example requests."""
    evaluation = manifest.evaluation
    truths: list[Any] = []
    if evaluation is not None:
        rows = read_sample(
            manifest.resolve(evaluation.data),
            limit=20_000,
            schema=request_schema,
            within=manifest.root,
        )
        truths = [row.get(evaluation.target) for row in rows]
        source = evaluation.data
    else:
        rows = [record for _, record in load_examples(manifest, missing_ok=True)]
        source = manifest.schema.examples
    rows = [r for r in rows if isinstance(r, dict)]
    if not rows:
        return None
    properties = request_schema.get("properties") or {}
    fields = [
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and not {"object", "array"} & set(_types(spec))
    ][:MAX_FIELDS]
    out: dict[str, Any] = {
        "source": source,
        "n": len(rows),
        "features": {name: bins_for([row.get(name) for row in rows]) for name in fields},
    }
    if truths and evaluation is not None:
        out["prediction"] = {**bins_for(truths), "field": evaluation.output}
    return out


def _types(spec: dict[str, Any]) -> list[str]:
    kind = spec.get("type", [])
    return kind if isinstance(kind, list) else [kind]


BLOCKS = " ▁▂▃▄▅▆▇█"


def bars(shares: dict[str, float]) -> str:
    """A distribution as a row of block characters, one per bin (CLI and TUI alike)."""
    top = max(shares.values(), default=0) or 1
    return "".join(BLOCKS[round(8 * v / top)] for v in shares.values())


# --- the comparison (workbench monitor) ------------------------------------------------------


def psi(expected: dict[str, float], actual: dict[str, float]) -> float:
    """Population stability index, each share floored at 0.1% (empty bins are common)."""
    score = 0.0
    for name in expected:
        e = max(expected[name], 1e-3)
        a = max(actual.get(name, 0.0), 1e-3)
        score += (a - e) * math.log(a / e)
    return score


@dataclass(frozen=True)
class Thresholds:
    """When a distribution is judged at all, and how (`workbench monitor` flags)."""

    min_observations: int = MIN_OBSERVATIONS
    watch: float = MODERATE
    drifted: float = DRIFTED

    def said(self) -> str:
        return (
            f"PSI above {self.watch:g} watch, above {self.drifted:g} drifted; no verdict "
            f"below {self.min_observations} observations"
        )


@dataclass
class Drift:
    what: str  # a field name, or "prediction"
    psi: float
    n: int
    expected: dict[str, float]
    actual: dict[str, float]
    thresholds: Thresholds = Thresholds()

    @property
    def verdict(self) -> Literal["too few", "stable", "watch", "drifted"]:
        if self.n < self.thresholds.min_observations:
            return "too few"
        if self.psi > self.thresholds.drifted:
            return "drifted"
        return "watch" if self.psi > self.thresholds.watch else "stable"

    @property
    def said(self) -> str:
        """The verdict in words: no verdict with too little traffic, saying how much."""
        if self.verdict == "too few":
            return f"not enough traffic yet: {self.n} of {self.thresholds.min_observations}"
        return self.verdict


def parse_counts(text: str) -> dict[str, dict[str, float]]:
    """{field or "prediction": {bin: count}} from a Prometheus text page (every worker's)."""
    counts: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        match = METRIC_LINE.match(line.strip())
        if not match:
            continue
        kind, labels, value = match.groups()
        parts = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels))
        what = parts.get("feature", "prediction") if kind == "feature" else "prediction"
        name = parts.get("bin", "")
        counts.setdefault(what, {})
        counts[what][name] = counts[what].get(name, 0.0) + float(value)
    return counts


def compare(
    reference_doc: dict[str, Any],
    counts: dict[str, dict[str, float]],
    thresholds: Thresholds = Thresholds(),
) -> list[Drift]:
    out = []
    specs = dict(reference_doc.get("features") or {})
    if reference_doc.get("prediction"):
        specs["prediction"] = reference_doc["prediction"]
    for what, spec in specs.items():
        seen = counts.get(what, {})
        total = sum(seen.values())
        if total == 0:
            continue
        actual = {name: seen.get(name, 0.0) / total for name in spec["reference"]}
        score = psi(spec["reference"], actual)
        out.append(Drift(what, score, int(total), spec["reference"], actual, thresholds))
    return out


def monitor(url: str, thresholds: Thresholds = Thresholds()) -> tuple[dict[str, Any], list[Drift]]:
    """Read a running service's reference and counts; the drift of each field."""
    base = url.rstrip("/")
    try:
        described = request("GET", f"{base}/monitoring", timeout=10)
        page = request("GET", f"{base}/metrics", timeout=10)
    except OSError as exc:
        raise WorkbenchError(
            f"{base} cannot be reached ({type(exc).__name__}).",
            fix="give the address of a running workbench image, e.g. http://127.0.0.1:8080.",
        ) from None
    if described.status != 200 or page.status != 200:
        raise WorkbenchError(
            f"{base} answered {described.status} at /monitoring and {page.status} at /metrics; "
            "is it an image built by this workbench version?",
            fix="rebuild and run the image (`workbench serve`), then monitor it.",
        )
    document = json.loads(described.body)
    if not document.get("reference"):
        raise WorkbenchError(
            f"{base} has no drift reference (no held-out data nor example requests at build).",
            fix="add `evaluation:` with held-out data to workbench.yaml, and rebuild.",
        )
    counts = parse_counts(page.body.decode())
    return document, compare(document["reference"], counts, thresholds)


def window(document: dict[str, Any]) -> str:
    """What the counts cover: every record answered since the image started counting."""
    started = document.get("counting_since")
    if not isinstance(started, int | float):
        return "every record answered since the image started"
    minutes = max(0.0, time.time() - started) / 60
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(started))
    return f"every record answered since {since} ({minutes:.0f} min)"
