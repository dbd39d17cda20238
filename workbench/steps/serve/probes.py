"""The probes of the serve test: each asks the running container one question.

Every probe is declared with the checklist item it answers (`PROBES`), takes
what the session knows (`Probing`) and returns that item's result with
evidence measured here, never a fixed sentence.
"""

from __future__ import annotations

import json
import time

from packaging.utils import canonicalize_name

from workbench.checklist.checks import CheckResult
from workbench.kernel.http import Response, request
from workbench.project.lockfile import LOCK_NAME, read_lock
from workbench.project.model_env import load_examples, predict_in_model_env
from workbench.steps.schema.contract import request_schema, response_schema, validation_errors
from workbench.steps.schema.payloads import invalid_payloads, labelled_valid_payloads
from workbench.steps.serve import quality, run
from workbench.steps.serve.confinement import hardened, inside, non_root
from workbench.steps.serve.performance import performance
from workbench.steps.serve.probing import Probe, Probing, post
from workbench.steps.serve.quality import TOLERANCE, close, difference

GRACE_SECONDS = 10


def examples(p: Probing) -> CheckResult:
    examples = load_examples(p.manifest)
    response_contract = response_schema(p.manifest)
    golden = predict_in_model_env(p.manifest, [record for _, record in examples]).answers
    problems, evidence = [], []
    for (name, record), expected in zip(examples, golden, strict=True):
        answer = post(f"{p.live.url}/predict", record)
        if answer.status != 200:
            said = run.logs_for(p.live.container, answer.header("x-request-id"))
            problems.append(
                f"{name}: HTTP {answer.status} {answer.body[:200].decode(errors='replace')}"
                + (": the container logged " + " | ".join(said) if said else "")
            )
            continue
        body = answer.json()
        errors = validation_errors(response_contract, body)
        if errors:
            problems.append(f"{name}: response breaks the schema at {errors[0][0]}: {errors[0][1]}")
        elif not close(body, expected):
            problems.append(
                f"{name}: the image and the model in-process differ at "
                f"{difference(body, expected) or 'the whole answer'}; the container answered "
                f"{json.dumps(body)[:120]}, the model in-process {json.dumps(expected)[:120]}"
            )
        else:
            evidence.append(f"{name}: 200, valid, equal to the in-process answer")
    p.log(f"examples: {len(evidence)} of {len(examples)} match")
    return (
        CheckResult.failed(*problems)
        if problems or not examples
        else CheckResult.passed(
            f"{len(examples)} examples: 200, valid responses, golden parity within {TOLERANCE:g}",
            *evidence,
        )
    )


def error_body_problem(answer: Response) -> str | None:
    """Why a 4xx body is not the contract's error (JSON listing {path, message}), or None."""
    try:
        body = answer.json()
    except ValueError:
        return f"its body is not JSON: {answer.body[:80]!r}"
    listed = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(listed, list) or not listed:
        return f"its body lists no errors: {json.dumps(body)[:120]}"
    for entry in listed:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("path"), str)
            and isinstance(entry.get("message"), str)
        ):
            return f"an error is not {{path, message}}: {json.dumps(entry)[:120]}"
    return None


def invalid(p: Probing) -> CheckResult:
    schema = request_schema(p.manifest)
    cases = invalid_payloads(schema, seed=1)
    problems: list[str] = []
    statuses: dict[int, int] = {}
    bodies_read = 0
    for what, payload in cases:
        answer = post(f"{p.live.url}/predict", payload)
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
        if answer.status >= 500:
            problems.append(_failure(p, what, answer))
        elif answer.status < 400:
            problems.append(f"{what}: accepted with HTTP {answer.status}")
        elif answer.status == 422:
            bodies_read += 1
            said = answer.body.decode(errors="replace")
            shapes = {json.dumps(payload, separators=(",", ":")), json.dumps(payload)}
            if isinstance(payload, dict | list) and any(
                len(shape) >= 8 and shape in said for shape in shapes
            ):
                problems.append(f"{what}: the error echoes the payload")
            elif why := error_body_problem(answer):
                problems.append(f"{what}: HTTP 422 but {why}")
    p.log(f"invalid payloads: {len(cases)} sent, statuses {statuses}")
    summary = f"{len(cases)} generated invalid payloads; statuses {statuses}"
    if not cases:
        return CheckResult.failed("no invalid payload could be generated from the request schema")
    if problems:
        return CheckResult.failed(summary, *problems[:15])
    return CheckResult.passed(
        summary,
        f"none accepted, none a 5xx; {bodies_read} 422 bodies read: each lists "
        "{path, message} and none echoes the payload",
        *(what for what, _ in cases[:12]),
    )


def _failure(p: Probing, what: str, answer: Response) -> str:
    """One failed request as evidence: its status, request id and what the container logged."""
    rid = answer.header("x-request-id")
    said = run.logs_for(p.live.container, rid)
    return f"{what}: HTTP {answer.status} (request id {rid})" + (
        ": the container logged " + " | ".join(said) if said else ""
    )


def valid(p: Probing) -> CheckResult:
    request_contract = request_schema(p.manifest)
    response_contract = response_schema(p.manifest)
    # Typical payloads, then the schema's extremes (named: "amount at 1e+308 (no maximum)").
    labelled = labelled_valid_payloads(request_contract, 50, seed=2)
    payloads = [payload for _, payload in labelled]
    problems = []
    for index, (what, payload) in enumerate(labelled):
        name = f"payload {index}" + ("" if what == "typical" else f" ({what})")
        answer = post(f"{p.live.url}/predict", payload)
        if not 200 <= answer.status < 300:
            problems.append(_failure(p, name, answer))
        elif errors := validation_errors(response_contract, answer.json()):
            path, message = errors[0]
            problems.append(f"{name}: the response breaks the schema at {path}: {message}")
    failed = len(problems)
    batch_size = min(10, len(payloads))
    batch = post(f"{p.live.url}/predict/batch", payloads[:batch_size])
    batch_ok = batch.status == 200 and len(batch.json()) == batch_size
    if not batch_ok:
        problems.append(_failure(p, f"/predict/batch of {batch_size}", batch))
    p.log(f"valid payloads: {len(payloads) - failed} of {len(payloads)} answered well")
    if not payloads:
        return CheckResult.failed("no valid payload could be generated from the request schema")
    if problems:
        return CheckResult.failed(
            f"{failed} of {len(payloads)} generated valid payloads failed"
            + ("" if batch_ok else f"; the batch of {batch_size} failed too"),
            *problems[:15],
        )
    return CheckResult.passed(
        f"{len(payloads)} generated valid payloads: 2xx with valid bodies; "
        f"a batch of {batch_size} too"
    )


def malformed(p: Probing) -> CheckResult:
    broken = post(f"{p.live.url}/predict", None, raw=b'{"sepal_length": 5.1,')
    oversized = post(
        f"{p.live.url}/predict",
        None,
        raw=b'{"x": "' + b"a" * (p.manifest.serve.max_body_bytes + 10) + b'"}',
    )
    limit = p.manifest.serve.max_body_bytes
    evidence = [
        f"malformed JSON: HTTP {broken.status} (expected 400)",
        f"body over {limit} bytes: HTTP {oversized.status} (expected 413)",
    ]
    ok = broken.status == 400 and oversized.status == 413
    return CheckResult.passed(*evidence) if ok else CheckResult.failed(*evidence)


def metadata(p: Probing) -> CheckResult:
    answer = request("GET", f"{p.live.url}/metadata")
    body = answer.json() if answer.status == 200 else {}
    expected = {
        "name": p.context.config["name"],
        "version": p.context.config["version"],
        "revision": p.context.config["revision"],
        "hashes": p.context.hashes,
    }
    wrong = [
        f"{key}: served {body.get(key)!r}, built {value!r}"
        for key, value in expected.items()
        if body.get(key) != value
    ]
    openapi = request("GET", f"{p.live.url}/openapi.json")
    metrics = request("GET", f"{p.live.url}/metrics")
    v2 = request("GET", f"{p.live.url}/v2/models/{p.manifest.name}")
    for label, answer in (
        ("/openapi.json", openapi),
        ("/metrics", metrics),
        (f"/v2/models/{p.manifest.name}", v2),
    ):
        if answer.status != 200:
            wrong.append(f"{label}: HTTP {answer.status}")
    return (
        CheckResult.failed(*wrong)
        if wrong
        else CheckResult.passed(
            f"/metadata reports {body['name']} {body['version']} at {body['revision'][:12]}",
            *(f"{k} {v}" for k, v in p.context.hashes.items()),
            "/openapi.json, /metrics and the v2 model endpoint answer",
        )
    )


def packages(p: Probing) -> CheckResult:
    listed = inside(p, "packages")
    if not isinstance(listed, dict):
        return CheckResult.failed(f"could not list the installed distributions: {listed}")
    installed: dict[str, str] = {canonicalize_name(k): v for k, v in listed.items()}
    locked = {name: entry.version for name, entry in read_lock(p.manifest.root / LOCK_NAME).items()}
    missing = sorted(set(locked) - set(installed))
    extra = sorted(set(installed) - set(locked))
    different = sorted(n for n in set(locked) & set(installed) if locked[n] != installed[n])
    problems = (
        ([f"missing: {', '.join(missing)}"] if missing else [])
        + ([f"not in the lock: {', '.join(extra)}"] if extra else [])
        + ([f"other versions: {', '.join(different)}"] if different else [])
    )
    return (
        CheckResult.failed(*problems)
        if problems
        else CheckResult.passed(
            f"the image's {len(installed)} distributions equal environment.lock exactly"
        )
    )


def sigterm(p: Probing) -> CheckResult:
    started = time.perf_counter()
    p.live.container.stop(timeout=GRACE_SECONDS)
    waited = time.perf_counter() - started
    p.live.container.reload()
    code = p.live.container.attrs["State"].get("ExitCode")
    evidence = [
        f"SIGTERM: stopped in {waited:.2f} s with exit code {code} (grace period {GRACE_SECONDS} s)"
    ]
    return (
        CheckResult.passed(*evidence)
        if code == 0 and waited < GRACE_SECONDS
        else CheckResult.failed(*evidence, "last logs: " + run.logs_tail(p.live.container, 5))
    )


# The probes in the order they run; the last one stops the container.
__all__ = ["PROBES", "Probing", "hardened", "non_root", "performance"]

PROBES = (
    Probe("serve.examples-parity", examples),
    Probe("serve.invalid-rejected", invalid),
    Probe("serve.valid-accepted", valid),
    Probe("serve.malformed-rejected", malformed),
    Probe("serve.metadata", metadata),
    Probe("serve.non-root", non_root),
    Probe("serve.hardened", hardened),
    Probe("serve.packages-match-lock", packages),
    Probe("serve.quality", lambda p: quality.quality(p.manifest, p.live.url, p.log)),
    Probe("serve.expectations", lambda p: quality.expectations(p.manifest, p.live.url, p.log)),
    Probe("serve.performance", performance),
    Probe("serve.sigterm", sigterm),
)
