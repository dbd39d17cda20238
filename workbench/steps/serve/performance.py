"""The performance probe: latency sequential and under concurrent clients, the share of
errors, peak memory, cold start and image size, each against its budget (`serve.budget`)."""

from __future__ import annotations

import http.client
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from workbench.checklist.checks import CheckResult
from workbench.kernel.http import request
from workbench.project.manifest import BudgetSpec
from workbench.project.model_env import load_examples
from workbench.steps.serve import run
from workbench.steps.serve.probing import Probing, exec_in
from workbench.steps.serve.report import Figures, ImageFacts

LATENCY_REQUESTS = 300


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


CONCURRENT_CLIENTS = 8
CONCURRENT_REQUESTS = 30  # per client
PEAK_FILES = (
    ("/sys/fs/cgroup/memory.peak", "cgroup v2 memory.peak"),
    ("/sys/fs/cgroup/memory/memory.max_usage_in_bytes", "cgroup v1 memory.max_usage_in_bytes"),
)

# Read by `sh` and `cat` (a Python started in the container would count in the very peak it
# reads): the first file that holds a number, with its path; else "none".
PEAK_PROBE = (
    'for f; do v=$(cat "$f" 2>/dev/null) || continue; '
    'case "$v" in ""|*[!0-9]*) ;; *) echo "$f $v"; exit 0;; esac; done; echo none'
)


@dataclass(frozen=True)
class Timed:
    ms: float
    status: int


UNANSWERED_LIMIT = 3  # requests with no answer at all before a run of them stops


def _post_status(url: str, body: bytes) -> int:
    """One POST on a new connection, its body read whole; the status. Straight through
    http.client, not requests: the same exchange (a connection per request, as a client that
    keeps none opens), without ~1 ms of the client's own CPU per request, which the serve test
    sends 540 of. No answer at all is an OSError."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        return int(answer.status)
    except http.client.HTTPException as exc:  # a malformed or cut answer: no answer
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
    finally:
        connection.close()


def _timed_requests(url: str, records: list[Any], count: int, offset: int = 0) -> list[Timed]:
    """Up to `count` timed requests; a model that stops answering ends the run after
    `UNANSWERED_LIMIT` unanswered ones (each waits 30 s), not after 540 of them."""
    timed: list[Timed] = []
    unanswered = 0
    bodies = [json.dumps(record).encode() for record in records]
    for index in range(count):
        started = time.perf_counter()
        try:
            status = _post_status(url, bodies[(offset + index) % len(bodies)])
        except OSError:
            status = 0  # no answer at all: an error, counted as such
            unanswered += 1
        timed.append(Timed((time.perf_counter() - started) * 1000, status))
        if unanswered >= UNANSWERED_LIMIT:
            break
    return timed


def peak_memory(live: run.Running) -> tuple[float, str]:
    """The container's peak memory in bytes and where it was read: the cgroup's own peak
    counter (v2 `memory.peak`, v1 `memory.max_usage_in_bytes`), else the engine's
    `max_usage`; (0, why) when none reports a peak (never the current usage as a peak)."""
    # Both files asked in one exec (each costs the engine some 50 ms of CPU): the first that
    # reads, with its path, so the figure says which counter it is.
    code, out = exec_in(live, ["sh", "-c", PEAK_PROBE, "sh", *(path for path, _ in PEAK_FILES)])
    said = out.strip().split(" ")
    for path, source in PEAK_FILES:
        if code == 0 and len(said) == 2 and said[0] == path and said[1].isdigit():
            return float(said[1]), source
    memory = live.container.stats(stream=False).get("memory_stats", {})
    if memory.get("max_usage"):
        return float(memory["max_usage"]), "the engine's memory_stats.max_usage"
    return 0.0, "no peak counter: neither cgroup file nor max_usage is readable"


def _over_budget(figures: Figures, budget: BudgetSpec, peak_budget: float) -> list[str]:
    """What is over its budget, judged on the figures as measured (not as rounded)."""
    # (figure, its value, its budget, the budget's key, unit)
    judged = [
        ("p99 sequential", figures.p99_ms, budget.p99_ms, "p99_ms", "ms"),
        (
            f"p99 under {CONCURRENT_CLIENTS} concurrent clients",
            figures.p99_concurrent_ms,
            budget.p99_ms,
            "p99_ms",
            "ms",
        ),
        ("error rate", figures.error_rate, budget.error_rate, "error_rate", ""),
        ("peak memory", figures.peak_memory_mb, peak_budget, "peak_memory_mb", "MB"),
        ("cold start", figures.cold_start_s, budget.cold_start_s, "cold_start_s", "s"),
        ("image size", figures.image_mb, budget.image_mb, "image_mb", "MB"),
    ]
    return [
        f"{name} {value:.4g} {unit} is over its budget of {limit:.4g} {unit} "
        f"(serve.budget.{key})".replace("  ", " ")
        for name, value, limit, key, unit in judged
        if value is not None and value > limit
    ]


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _rounded(exact: Figures) -> Figures:
    """The figures as recorded: to a precision a reader can use, diffs small."""
    return Figures(
        p50_ms=round(exact.p50_ms, 2),
        p95_ms=round(exact.p95_ms, 2),
        p99_ms=round(exact.p99_ms, 2),
        p99_concurrent_ms=_round(exact.p99_concurrent_ms, 2),
        rps_concurrent=_round(exact.rps_concurrent, 1),
        batching=exact.batching,
        error_rate=_round(exact.error_rate, 4),
        cold_start_s=_round(exact.cold_start_s, 3),
        peak_memory_mb=_round(exact.peak_memory_mb, 1),
        image_mb=_round(exact.image_mb, 1),
    )


def _largest(image: ImageFacts | None) -> str:
    """The image's largest packages and layer, as the build read them (nothing when the
    build could not read them)."""
    if image is None or not image.packages:
        return ""
    said = "; largest packages " + ", ".join(p.describe() for p in image.packages[:3])
    return said + (f"; largest layer {image.layers[0].describe()}" if image.layers else "")


def size_fix(image: ImageFacts) -> str:
    """What to cut when the image is over its size budget: its biggest packages, named."""
    return (
        "fix the size: the biggest packages are "
        + ", ".join(p.describe() for p in image.packages[:3])
        + "; leave out what the model does not import (snapshot.exclude), take lighter "
        "builds (torch's +cpu, no CUDA wheels), or raise serve.budget.image_mb"
    )


def batching_in_force(url: str) -> str:
    """The image's own batching decision as its /metadata says it (read back, not assumed
    from the manifest: `auto` is decided by timing the model at load)."""
    try:
        said = request("GET", f"{url}/metadata", timeout=10).json().get("batching") or {}
    except (OSError, ValueError, AttributeError):
        return "unknown (/metadata did not say)"
    if not isinstance(said, dict) or "enabled" not in said:
        return "unknown (/metadata did not say)"
    timings = (
        f"; {said['single_ms']} ms alone, {said['per_record_in_batch_ms']} ms a record in a batch"
        if "single_ms" in said and "per_record_in_batch_ms" in said
        else ""
    )
    return f"{'on' if said['enabled'] else 'off'} ({said.get('why', 'no reason given')}{timings})"


def performance(p: Probing) -> CheckResult:
    """Latency sequential and under concurrent clients, the share of errors, peak memory,
    cold start and image size, each against its budget (`serve.budget`)."""
    records = [record for _, record in load_examples(p.manifest)] or [{}]
    url = f"{p.live.url}/predict"
    budget = p.manifest.serve.budget
    sequential = _timed_requests(url, records, LATENCY_REQUESTS)
    began = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        runs = pool.map(
            lambda client: _timed_requests(url, records, CONCURRENT_REQUESTS, client),
            range(CONCURRENT_CLIENTS),
        )
        concurrent = [t for run_ in runs for t in run_]
    rps = len(concurrent) / (time.perf_counter() - began)
    batching = batching_in_force(p.live.url)
    peak, peak_source = peak_memory(p.live)
    every = sequential + concurrent
    errors = [t for t in every if not 200 <= t.status < 300]
    error_rate = len(errors) / len(every)
    seq_ms = [t.ms for t in sequential]
    p50, p95, p99 = (_percentile(seq_ms, q) for q in (0.5, 0.95, 0.99))
    p99_concurrent = _percentile([t.ms for t in concurrent], 0.99)
    image_mb = float(p.live.container.image.attrs.get("Size") or 0) / 1e6
    peak_mb = peak / 1e6
    peak_budget = budget.peak_memory_mb or 0.8 * p.manifest.serve.memory_bytes / 1e6
    statuses: dict[int, int] = {}
    for t in errors:
        statuses[t.status] = statuses.get(t.status, 0) + 1
    exact = Figures(
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        p99_concurrent_ms=p99_concurrent,
        rps_concurrent=rps,
        batching=batching,
        error_rate=error_rate,
        cold_start_s=p.live.ready_seconds,
        peak_memory_mb=peak_mb,
        image_mb=image_mb,
    )
    over = _over_budget(exact, budget, peak_budget)
    if peak == 0:
        over.append(f"peak memory could not be read ({peak_source})")
    p.log(
        f"latency over {len(sequential)} requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
        f"under {CONCURRENT_CLIENTS} clients p99 {p99_concurrent:.1f} ms; "
        f"errors {len(errors)} of {len(every)}; peak memory {peak_mb:.0f} MB"
    )
    evidence = [
        f"{len(sequential)} sequential requests: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms (mean {statistics.mean(seq_ms):.1f}); budget p99 {budget.p99_ms:g} ms",
        f"{len(concurrent)} requests from {CONCURRENT_CLIENTS} concurrent clients: "
        f"p99 {p99_concurrent:.1f} ms, {rps:.0f} answers/s; batching {batching}",
        f"{len(errors)} of {len(every)} answers were not 2xx"
        + (f" (statuses {statuses})" if statuses else "")
        + f"; budget error rate {budget.error_rate:g}",
        f"peak memory {peak_mb:.0f} MB ({peak_source}); budget {peak_budget:.0f} MB "
        f"of the {p.manifest.serve.memory_limit} limit",
        f"cold start to ready {p.live.ready_seconds:.2f} s; budget {budget.cold_start_s:g} s",
        f"image {image_mb:.0f} MB; budget {budget.image_mb:g} MB" + _largest(p.image),
    ]
    report = _rounded(exact)
    if over:
        if image_mb > budget.image_mb and p.image is not None and p.image.packages:
            evidence.append(size_fix(p.image))
        return CheckResult.failed("over budget: " + "; ".join(over), *evidence, report=report)
    return CheckResult.passed(*evidence, report=report)
