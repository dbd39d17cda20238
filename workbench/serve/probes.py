"""The local serve test: a real container, fired at with real requests.

One session builds the image, starts it hardened, runs every probe and stops
it; each probe becomes the result of one checklist item, with evidence.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.checklist.registry import Cancelled, CheckResult
from workbench.contract import (
    invalid_payloads,
    request_schema,
    response_schema,
    valid_payloads,
    validation_errors,
)
from workbench.errors import WorkbenchError
from workbench.http import Response, request
from workbench.manifest import Manifest
from workbench.model_env import load_examples, predict_in_model_env
from workbench.serve import run
from workbench.serve.build import BuildContext, BuildLog, Built, assemble_context, build_image
from workbench.serve.build import image_tag as default_tag
from workbench.snapshot.lockfile import LOCK_NAME, read_lock

Log = Callable[[str], None]
TOLERANCE = 1e-6
LATENCY_REQUESTS = 300
GRACE_SECONDS = 10

PACKAGES_PROBE = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


@dataclass
class Session:
    """What one serve test found: a result per checklist item, and the figures."""

    results: dict[str, CheckResult] = field(default_factory=dict)
    image_id: str | None = None
    figures: dict[str, float] = field(default_factory=dict)


def post(url: str, body: Any, *, raw: bytes | None = None) -> Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return request("POST", url, body=data, headers={"Content-Type": "application/json"}, timeout=30)


def close(a: Any, b: Any, tolerance: float = TOLERANCE) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=tolerance, abs_tol=tolerance)
        except (TypeError, ValueError):
            return False
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def build(
    manifest: Manifest,
    log: Log,
    cancel: threading.Event,
    *,
    version: str = "0.0.0-dev",
    tag: str | None = None,
    nocache: bool = False,
) -> tuple[BuildContext, Built]:
    context = assemble_context(manifest, version=version)
    log(f"build context {context.path}: {len(context.files)} files (Dockerfile kept there)")
    built: Built | None = None
    for event in build_image(context, tag or default_tag(manifest), cancel=cancel, nocache=nocache):
        if isinstance(event, BuildLog):
            log(event.text)
        else:
            built = event
    assert built is not None
    return context, built


def serve_session(
    manifest: Manifest,
    *,
    log: Log = lambda _: None,
    cancel: threading.Event | None = None,
    host_port: int | None = None,
) -> Session:
    from workbench.harness import docker_client

    cancel = cancel or threading.Event()
    session = Session()
    try:
        context, built = build(manifest, log, cancel)
    except WorkbenchError as exc:
        key = "serve.secrets-free" if "secrets" in exc.message else "serve.image-built"
        session.results[key] = CheckResult.failed(exc.paragraph)
        if key == "serve.secrets-free":
            session.results["serve.image-built"] = CheckResult.failed(
                "not built: see serve.secrets-free"
            )
        return session
    session.image_id = built.image_id
    client = docker_client()
    image = client.images.get(built.image_id)
    size_mb = image.attrs["Size"] / 1e6
    session.results["serve.secrets-free"] = CheckResult.passed(
        f"scanned {sum(1 for f in context.files if f.startswith('model/'))} model files: "
        "no keys, tokens or credentials",
        "sent to the engine: " + ", ".join(sorted({f.split("/")[0] for f in context.files})),
    )
    session.results["serve.image-built"] = CheckResult.passed(
        f"{built.tag} {built.image_id[:19]}, {size_mb:.0f} MB, built in {built.seconds:.1f} s",
        f"base {context.base_image}; non-root user 10001; HEALTHCHECK; exec-form entrypoint",
        image_id=built.image_id,
        size_bytes=image.attrs["Size"],
    )
    session.figures.update(build_seconds=built.seconds, image_mb=size_mb)
    if cancel.is_set():
        raise Cancelled()

    log(
        "starting the container (read-only, no capabilities, no-new-privileges, "
        f"memory {manifest.serve.memory_limit})"
    )
    container_started = time.perf_counter()
    with run.running(client, built.image_id, manifest, host_port=host_port) as live:
        log(f"ready after {live.ready_seconds:.2f} s at {live.url}")
        session.figures["cold_start_seconds"] = live.ready_seconds
        probes = [
            _examples,
            _invalid,
            _valid,
            _malformed,
            _metadata,
            _non_root,
            _packages,
            _performance,
        ]
        for probe in probes:
            if cancel.is_set():
                raise Cancelled()
            try:
                probe(manifest, live, context, session, log)
            except OSError as exc:
                log(f"{probe.__name__.strip('_')}: the container stopped answering ({exc})")
                session.results.setdefault(
                    _ITEMS[probe.__name__],
                    CheckResult.failed(
                        f"the container stopped answering: {exc}; its logs: "
                        + run.logs_tail(live.container, 10).replace("\n", " | ")
                    ),
                )
        _sigterm(manifest, live, context, session, log)
    session.figures["session_seconds"] = time.perf_counter() - container_started
    return session


_ITEMS = {
    "_examples": "serve.examples-parity",
    "_invalid": "serve.invalid-rejected",
    "_valid": "serve.valid-accepted",
    "_malformed": "serve.malformed-rejected",
    "_metadata": "serve.metadata",
    "_non_root": "serve.non-root",
    "_packages": "serve.packages-match-lock",
    "_performance": "serve.performance",
}


def _examples(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    examples = load_examples(m)
    response_contract = response_schema(m)
    golden = predict_in_model_env(m, [record for _, record in examples]).answers
    problems, evidence = [], []
    for (name, record), expected in zip(examples, golden, strict=True):
        answer = post(f"{live.url}/predict", record)
        if answer.status != 200:
            problems.append(f"{name}: HTTP {answer.status} {answer.body[:200].decode()}")
            continue
        body = answer.json()
        errors = validation_errors(response_contract, body)
        if errors:
            problems.append(f"{name}: response breaks the schema at {errors[0][0]}: {errors[0][1]}")
        elif not close(body, expected):
            problems.append(
                f"{name}: container answered {json.dumps(body)[:120]}, the model "
                f"in-process {json.dumps(expected)[:120]}"
            )
        else:
            evidence.append(f"{name}: 200, valid, equal to the in-process answer")
    log(f"examples: {len(evidence)} of {len(examples)} match")
    s.results["serve.examples-parity"] = (
        CheckResult.failed(*problems)
        if problems or not examples
        else CheckResult.passed(
            f"{len(examples)} examples: 200, valid responses, golden parity within {TOLERANCE:g}",
            *evidence,
        )
    )


def _invalid(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    schema = request_schema(m)
    cases = invalid_payloads(schema, seed=1)
    server_errors: list[str] = []
    accepted: list[str] = []
    statuses: dict[int, int] = {}
    for what, payload in cases:
        answer = post(f"{live.url}/predict", payload)
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
        if answer.status >= 500:
            server_errors.append(f"{what}: HTTP {answer.status}")
        elif answer.status < 400:
            accepted.append(f"{what}: HTTP {answer.status}")
        elif answer.status == 422 and json.dumps(payload) in answer.body.decode():
            server_errors.append(f"{what}: the error echoes the payload")
    log(f"invalid payloads: {len(cases)} sent, statuses {statuses}")
    summary = f"{len(cases)} generated invalid payloads; statuses {statuses}"
    if server_errors or accepted:
        s.results["serve.invalid-rejected"] = CheckResult.failed(summary, *server_errors, *accepted)
    else:
        s.results["serve.invalid-rejected"] = CheckResult.passed(
            summary,
            "every one got a 4xx listing {path, message}, none a 5xx",
            *(what for what, _ in cases[:12]),
        )


def _valid(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    request_contract = request_schema(m)
    response_contract = response_schema(m)
    payloads = valid_payloads(request_contract, 50, seed=2)
    problems = []
    for index, payload in enumerate(payloads):
        answer = post(f"{live.url}/predict", payload)
        if not 200 <= answer.status < 300:
            problems.append(
                f"payload {index}: HTTP {answer.status} "
                f"(request id {answer.header('x-request-id')})"
            )
        elif validation_errors(response_contract, answer.json()):
            path, message = validation_errors(response_contract, answer.json())[0]
            problems.append(f"payload {index}: the response breaks the schema at {path}: {message}")
    batch = post(f"{live.url}/predict/batch", payloads[:10])
    if batch.status != 200 or len(batch.json()) != 10:
        problems.append(f"/predict/batch of 10: HTTP {batch.status}")
    log(f"valid payloads: {len(payloads) - len(problems)} of {len(payloads)} answered well")
    s.results["serve.valid-accepted"] = (
        CheckResult.failed(
            f"{len(problems)} of {len(payloads)} generated valid payloads failed", *problems[:15]
        )
        if problems
        else CheckResult.passed(
            f"{len(payloads)} generated valid payloads: 2xx with valid bodies; a batch of 10 too"
        )
    )


def _malformed(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    broken = post(f"{live.url}/predict", None, raw=b'{"sepal_length": 5.1,')
    oversized = post(
        f"{live.url}/predict", None, raw=b'{"x": "' + b"a" * (m.serve.max_body_bytes + 10) + b'"}'
    )
    evidence = [
        f"malformed JSON: HTTP {broken.status} (expected 400)",
        f"body over {m.serve.max_body_bytes} bytes: HTTP {oversized.status} (expected 413)",
    ]
    ok = broken.status == 400 and oversized.status == 413
    s.results["serve.malformed-rejected"] = (
        CheckResult.passed(*evidence) if ok else CheckResult.failed(*evidence)
    )


def _metadata(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    answer = request("GET", f"{live.url}/metadata")
    body = answer.json() if answer.status == 200 else {}
    expected = {
        "name": ctx.config["name"],
        "version": ctx.config["version"],
        "revision": ctx.config["revision"],
        "hashes": ctx.hashes,
    }
    wrong = [
        f"{key}: served {body.get(key)!r}, built {value!r}"
        for key, value in expected.items()
        if body.get(key) != value
    ]
    openapi = request("GET", f"{live.url}/openapi.json")
    metrics = request("GET", f"{live.url}/metrics")
    v2 = request("GET", f"{live.url}/v2/models/{m.name}")
    for label, answer in (
        ("/openapi.json", openapi),
        ("/metrics", metrics),
        (f"/v2/models/{m.name}", v2),
    ):
        if answer.status != 200:
            wrong.append(f"{label}: HTTP {answer.status}")
    s.results["serve.metadata"] = (
        CheckResult.failed(*wrong)
        if wrong
        else CheckResult.passed(
            f"/metadata reports {body['name']} {body['version']} at {body['revision'][:12]}",
            *(f"{k} {v}" for k, v in ctx.hashes.items()),
            "/openapi.json, /metrics and the v2 model endpoint answer",
        )
    )


def _exec(live: run.Running, command: list[str]) -> tuple[int, str]:
    result = live.container.exec_run(command, demux=False)
    return int(result.exit_code), result.output.decode(errors="replace").strip()


def _non_root(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    code, out = _exec(
        live,
        [
            "python3",
            "-c",
            "import os; print(os.getuid(), os.getgid(), "
            "open('/proc/1/status').read().count('CapEff:\\t0000000000000000'))",
        ],
    )
    uid, gid, no_caps = [*out.split(), "?", "?", "?"][:3] if code == 0 else ("?", "?", "?")
    top = live.container.top(ps_args="-o uid,pid,comm")
    evidence = [
        f"process uid {uid}, gid {gid}; effective capabilities "
        f"{'none' if no_caps == '1' else 'present'}",
        f"docker top: {top.get('Processes')}",
    ]
    s.results["serve.non-root"] = (
        CheckResult.passed(*evidence) if uid not in ("0", "?") else CheckResult.failed(*evidence)
    )


def _packages(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    from packaging.utils import canonicalize_name

    code, out = _exec(live, ["python3", "-c", PACKAGES_PROBE])
    if code != 0:
        s.results["serve.packages-match-lock"] = CheckResult.failed(f"could not list: {out}")
        return
    installed: dict[str, str] = {canonicalize_name(k): v for k, v in json.loads(out).items()}
    locked = {name: entry.version for name, entry in read_lock(m.root / LOCK_NAME).items()}
    missing = sorted(set(locked) - set(installed))
    extra = sorted(set(installed) - set(locked))
    different = sorted(n for n in set(locked) & set(installed) if locked[n] != installed[n])
    problems = (
        ([f"missing: {', '.join(missing)}"] if missing else [])
        + ([f"not in the lock: {', '.join(extra)}"] if extra else [])
        + ([f"other versions: {', '.join(different)}"] if different else [])
    )
    s.results["serve.packages-match-lock"] = (
        CheckResult.failed(*problems)
        if problems
        else CheckResult.passed(
            f"the image's {len(installed)} distributions equal environment.lock exactly"
        )
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _performance(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    examples = load_examples(m)
    record = examples[0][1] if examples else {}
    times = []
    for _ in range(LATENCY_REQUESTS):
        started = time.perf_counter()
        post(f"{live.url}/predict", record)
        times.append((time.perf_counter() - started) * 1000)
    stats = live.container.stats(stream=False)
    memory = stats.get("memory_stats", {})
    peak = memory.get("max_usage") or memory.get("usage") or 0
    p50, p95, p99 = (_percentile(times, q) for q in (0.5, 0.95, 0.99))
    s.figures.update(p50_ms=p50, p95_ms=p95, p99_ms=p99, peak_memory_mb=peak / 1e6)
    log(
        f"latency over {LATENCY_REQUESTS} requests: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"p99 {p99:.1f} ms; peak memory {peak / 1e6:.0f} MB"
    )
    s.results["serve.performance"] = CheckResult.passed(
        f"latency over {LATENCY_REQUESTS} sequential requests: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {p99:.1f} ms (mean {statistics.mean(times):.1f})",
        f"cold start to ready {live.ready_seconds:.2f} s",
        f"peak memory {peak / 1e6:.0f} MB of {m.serve.memory_limit}",
        p50_ms=round(p50, 2),
        p95_ms=round(p95, 2),
        p99_ms=round(p99, 2),
        cold_start_s=round(live.ready_seconds, 3),
        peak_memory_mb=round(peak / 1e6, 1),
    )


def _sigterm(m: Manifest, live: run.Running, ctx: BuildContext, s: Session, log: Log) -> None:
    started = time.perf_counter()
    live.container.stop(timeout=GRACE_SECONDS)
    waited = time.perf_counter() - started
    live.container.reload()
    code = live.container.attrs["State"].get("ExitCode")
    evidence = [
        f"SIGTERM: stopped in {waited:.2f} s with exit code {code} (grace period {GRACE_SECONDS} s)"
    ]
    s.results["serve.sigterm"] = (
        CheckResult.passed(*evidence)
        if code == 0 and waited < GRACE_SECONDS
        else CheckResult.failed(*evidence, "last logs: " + run.logs_tail(live.container, 5))
    )
