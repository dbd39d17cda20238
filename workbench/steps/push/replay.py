"""Replay before promote, the part that needs no engine: production's log lines read into
the predictions it logged (`monitoring.log_predictions`: one JSON line per prediction, its
inputs and outputs with `x-log: false` fields left out) and the latency its access line
gave each request; a bounded sample of them; the candidate's answers compared with
production's, field by field; the replay recorded, and judged against the team's minimum
(`monitoring.replay_min_agreement`)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
import orjson

from workbench.kernel.confine import open_no_follow, scratch_path
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.steps.push.report import FieldAgreement, ReplayError, ReplayReport

LIMIT = 200  # requests replayed by default
MAX_LOG_LINES = 100_000  # lines read from each replica's log (its latest)
SEED = 0  # the sample is the same for the same logs: a replay can be repeated
REL_TOL, ABS_TOL = 1e-6, 1e-9  # numbers agree within these (float printing, BLAS order)


@dataclass(frozen=True)
class Logged:
    """One prediction production logged."""

    request_id: str
    inputs: Any
    outputs: Any
    version: str | None
    latency_ms: float | None = None  # its request's, from the access line (single records)


def _events(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    """The JSON objects with a request id among log lines; any other line is skipped."""
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            event = orjson.loads(text)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict) and isinstance(event.get("request_id"), str):
            yield event


def _access(event: dict[str, Any]) -> float | None:
    """The latency an access line of a single-record request says (None for other lines)."""
    value = event.get("latency_ms")
    if event.get("path") != "/predict" or isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def access_latencies(lines: Iterable[str]) -> dict[str, float]:
    """Each single-record request's latency, by request id, from its access line."""
    return {e["request_id"]: ms for e in _events(lines) if (ms := _access(e)) is not None}


def parse(lines: Iterable[str]) -> list[Logged]:
    """The predictions in log lines, each with its request's latency where the access line of
    a single-record request (`/predict`) says it (a batch's latency is not one record's)."""
    found: list[Logged] = []
    latency: dict[str, float] = {}
    per_request: dict[str, int] = {}
    for event in _events(lines):
        request_id = event["request_id"]
        if event.get("event") == "prediction" and "inputs" in event:
            version = event.get("model_version")
            found.append(
                Logged(request_id, event["inputs"], event.get("outputs"), version and str(version))
            )
            per_request[request_id] = per_request.get(request_id, 0) + 1
        elif (ms := _access(event)) is not None:
            latency[request_id] = ms
    return [
        Logged(p.request_id, p.inputs, p.outputs, p.version, latency.get(p.request_id))
        if per_request[p.request_id] == 1
        else p
        for p in found
    ]


def sample(logged: list[Logged], limit: int) -> list[Logged]:
    """At most `limit` of them, drawn at random with a fixed seed (the same logs give the same
    sample), in the order they were logged."""
    if limit < 1:
        raise WorkbenchError(
            f"--limit {limit} replays nothing.", fix="give a limit of 1 or more (default 200)."
        )
    if len(logged) <= limit:
        return list(logged)
    chosen = sorted(random.Random(SEED).sample(range(len(logged)), limit))
    return [logged[i] for i in chosen]


def agree(production: Any, candidate: Any) -> bool:
    """The same answer: numbers within a relative 1e-6, objects and lists element by
    element, anything else equal (a bool is not a number here)."""
    if isinstance(production, bool) or isinstance(candidate, bool):
        return production is candidate
    if isinstance(production, int | float) and isinstance(candidate, int | float):
        return math.isclose(production, candidate, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    if isinstance(production, dict) and isinstance(candidate, dict):
        return production.keys() == candidate.keys() and all(
            agree(value, candidate[key]) for key, value in production.items()
        )
    if isinstance(production, list) and isinstance(candidate, list):
        return len(production) == len(candidate) and all(
            agree(a, b) for a, b in zip(production, candidate, strict=True)
        )
    return bool(production == candidate)


WHOLE = "(answer)"  # an answer that is not an object is compared whole


@dataclass(frozen=True)
class Answer:
    """What the candidate said to one replayed request."""

    status: int  # 0: no answer
    body: Any
    request_id: str | None
    latency_ms: float | None  # from its own access line, as production's was measured
    error: str = ""


def _fields(sent: list[Logged], hidden: frozenset[str]) -> list[str]:
    names: dict[str, None] = {}
    for logged in sent:
        keys = logged.outputs.keys() if isinstance(logged.outputs, dict) else [WHOLE]
        names.update(dict.fromkeys(k for k in keys if k not in hidden))
    return list(names)


def compare(
    sent: list[Logged], answers: list[Answer], hidden_outputs: frozenset[str]
) -> tuple[int, list[FieldAgreement], list[ReplayError]]:
    """How many answered requests agreed on every field, each field's agreement, and every
    request not answered 200. Fields never logged are said absent, never compared."""
    names = _fields(sent, hidden_outputs)
    agreed_per = dict.fromkeys(names, 0)
    compared_per = dict.fromkeys(names, 0)
    agreed, errors = 0, []
    for logged, answer in zip(sent, answers, strict=True):
        if answer.status != 200:
            message = _said(answer)
            errors.append(
                ReplayError(
                    status=answer.status,
                    request_id=answer.request_id,
                    production_request_id=logged.request_id,
                    message=message,
                )
            )
            continue
        production = logged.outputs if isinstance(logged.outputs, dict) else {WHOLE: logged.outputs}
        candidate = answer.body if isinstance(answer.body, dict) else {WHOLE: answer.body}
        every = True
        for name in names:
            if name not in production:
                continue
            compared_per[name] += 1
            same = name in candidate and agree(production[name], candidate[name])
            agreed_per[name] += same
            every = every and same
        agreed += every
    fields = [
        FieldAgreement(field=n, agreed=agreed_per[n], compared=compared_per[n]) for n in names
    ]
    never = "never logged (x-log: false)"
    fields += [FieldAgreement(field=n, absent=never) for n in sorted(hidden_outputs)]
    return agreed, fields, errors


def _said(answer: Answer) -> str:
    if answer.error:
        return answer.error[:200]
    body = answer.body
    if isinstance(body, dict) and body.get("error"):
        problems = body.get("errors") or []
        first = problems[0] if problems and isinstance(problems[0], dict) else {}
        detail = f": {first.get('path', '')} {first.get('message', '')}".rstrip() if first else ""
        return f"{body['error']}{detail}"[:200]
    return str(body)[:200]


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0-100) of what was measured; None of nothing."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def hidden(schema: dict[str, Any]) -> frozenset[str]:
    """The fields a schema marks `x-log: false` (the image never logs them)."""
    properties = schema.get("properties") or {}
    return frozenset(
        n for n, spec in properties.items() if isinstance(spec, dict) and spec.get("x-log") is False
    )


# --- the record: the last replay of each channel, for `push.replay` and `promote` -------------


def _path(manifest: Manifest, channel: str) -> Any:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", channel):
        raise WorkbenchError(
            f"{channel!r} is not a channel name (it becomes a registry tag and a file name).",
            fix="name a channel as a tag: letters, digits, _ . - (e.g. production).",
        )
    return scratch_path(manifest.root, "push", f"replay-{channel}.json", what="the replay")


def save(manifest: Manifest, report: ReplayReport) -> None:
    import os

    descriptor = open_no_follow(
        _path(manifest, report.channel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, what="the replay"
    )
    with open(descriptor, "wb") as handle:
        handle.write(msgspec.json.encode(report))


def load(manifest: Manifest, channel: str) -> ReplayReport | None:
    path = _path(manifest, channel)
    if not path.is_file():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=ReplayReport)
    except msgspec.DecodeError as exc:
        raise WorkbenchError(
            f"{path} does not read as a replay ({exc}).",
            fix=f"replay again (`workbench replay --channel {channel} --candidate VERSION`).",
        ) from None


def recorded(manifest: Manifest) -> list[ReplayReport]:
    """Every channel's last replay, by channel name."""
    folder = scratch_path(manifest.root, "push", what="the replays", folder=True)
    channels = sorted(p.stem.removeprefix("replay-") for p in folder.glob("replay-*.json"))
    return [r for c in channels if (r := load(manifest, c)) is not None]


Verdict = Literal["pass", "warn", "fail", "stale"]


def judge(
    report: ReplayReport, candidate: str, created: str, minimum: float | None
) -> tuple[Verdict, list[str]]:
    """What a replay says of the candidate `candidate` (released at `created`): stale when
    it replayed another release or ran before this one was made; under the team's `minimum`
    (as workbench.yaml says it now), a failure naming each disagreeing field and its count."""
    said = summary(report)
    if report.candidate != candidate or report.replayed_at < created:
        return "stale", [
            f"{report.channel}: the replay ran {report.candidate} at {report.replayed_at}; the "
            f"candidate is {candidate}, released {created}: replay it "
            f"(`workbench replay --channel {report.channel} --candidate {candidate}`)"
        ]
    if not report.sent:
        return "warn", [*said, f"{report.channel}: nothing was replayed: no prediction logged"]
    if not any(f.compared for f in report.fields if not f.absent):
        return "warn", [
            *said,
            f"{report.channel}: no answer field could be compared (each is x-log: false, or "
            "none was logged): an agreement of nothing is no agreement",
        ]
    enough = min(LIMIT, report.logged)
    if minimum is not None and report.sent < enough:
        return "warn", [
            *said,
            f"{report.channel}: only {report.sent} of {report.logged} logged requests were "
            f"replayed; the team's minimum is judged on at least {enough} (replay without "
            "a smaller --limit)",
        ]
    agreement = report.agreement or 0.0
    if minimum is None:
        verdict: Verdict = "pass" if report.agreed == report.sent else "warn"
        note = "no minimum set (`monitoring.replay_min_agreement` makes this a gate)"
        return verdict, [*said, note]
    if agreement < minimum:
        return "fail", [
            *said,
            f"{report.channel}: agreement {agreement:.1%} is under the team's minimum "
            f"{minimum:.1%} (monitoring.replay_min_agreement)",
        ]
    return "pass", said


def summary(report: ReplayReport) -> list[str]:
    """The replay in lines: agreement overall and per field, latency, every error."""
    lines = [
        f"{report.channel}: {report.candidate} answered {report.agreed} of {report.sent} "
        f"replayed requests as production ({report.production}) did "
        f"({(report.agreement or 0.0):.1%}); {report.logged} logged predictions read from "
        f"{report.source}, at {report.replayed_at}"
    ]
    for field in report.fields:
        if field.absent:
            lines.append(f"  {field.field}: absent, {field.absent}")
        elif field.agreed < field.compared:
            lines.append(
                f"  {field.field}: disagreed on {field.compared - field.agreed} of {field.compared}"
            )
        else:
            lines.append(f"  {field.field}: agreed on {field.agreed} of {field.compared}")
    if report.absent_inputs:
        lines.append(
            "  inputs never logged (x-log: false), sent without them: "
            + ", ".join(report.absent_inputs)
        )
    lines.append("  " + latency(report))
    for error in report.errors[:20]:
        lines.append(
            f"  error {error.status or 'no answer'} (candidate request {error.request_id or '-'}, "
            f"production request {error.production_request_id}): {error.message}"
        )
    if len(report.errors) > 20:
        lines.append(f"  ... and {len(report.errors) - 20} more errors")
    return lines


def latency(report: ReplayReport) -> str:
    def ms(value: float | None) -> str:
        return f"{value:.1f} ms" if value is not None else "?"

    mine = f"latency p50 {ms(report.candidate_p50_ms)}, p99 {ms(report.candidate_p99_ms)}"
    if report.production_p50_ms is None:
        return mine + "; production's is not known (no access line of these requests logged)"
    return (
        f"{mine}; production's p50 {ms(report.production_p50_ms)}, "
        f"p99 {ms(report.production_p99_ms)}"
    )


def headline(report: ReplayReport, verdict: Verdict) -> str:
    """The replay in one line (the TUI's promote confirmation)."""
    if verdict == "stale":
        return f"replay: stale (it ran {report.candidate}; replay this release)"
    disagreeing = [
        f"{f.field} disagreed on {f.compared - f.agreed}"
        for f in report.fields
        if not f.absent and f.agreed < f.compared
    ]
    errors = f", {len(report.errors)} errors" if report.errors else ""
    return (
        f"replay: {verdict}, {report.agreed} of {report.sent} answered as production "
        f"({(report.agreement or 0.0):.1%}){errors}"
        + (f"; {', '.join(disagreeing)}" if disagreeing else "")
    )


def headlines(manifest: Manifest, versions: list[str]) -> dict[tuple[str, str], str]:
    """Each (version, channel) with a recorded replay of that channel: its one-line verdict."""
    from workbench.project.releases import load_release

    created = {}
    for version in versions:
        try:
            created[version] = load_release(manifest, version).created
        except WorkbenchError:
            continue
    found = {}
    for report in recorded(manifest):
        for version, at in created.items():
            verdict, _ = judge(report, version, at, manifest.monitoring.replay_min_agreement)
            found[(version, report.channel)] = headline(report, verdict)
    return found


def require_replay(manifest: Manifest, version: str, channel: str) -> None:
    """The team's gate on promote: with `monitoring.replay_min_agreement` set and the channel
    serving traffic from a swarm deployment, `version` is promoted only once a replay of
    that traffic, fresh for it, passed. Without a minimum, or with nothing deployed (no
    traffic to replay), promote only shows what the replay said."""
    from workbench.project.releases import load_deployments, load_release

    minimum = manifest.monitoring.replay_min_agreement
    deployed = any(d.channel == channel and d.target == "swarm" for d in load_deployments(manifest))
    if minimum is None or not deployed:
        return
    report = load(manifest, channel)
    fix = (
        f"replay the channel's traffic against it (`workbench replay --channel {channel} "
        f"--candidate {version}`); if the team agrees to promote on less, lower "
        "monitoring.replay_min_agreement in workbench.yaml (a committed change)"
    )
    if report is None:
        raise WorkbenchError(
            f"{version} was never replayed against {channel}'s traffic, and the team asks "
            f"for {minimum:.1%} agreement before a promote (monitoring.replay_min_agreement).",
            fix=fix,
        )
    verdict, lines = judge(report, version, load_release(manifest, version).created, minimum)
    if verdict != "pass":
        raise WorkbenchError(
            f"promoting {version} to {channel} is refused: its replay is {verdict}: "
            + "; ".join(line.strip() for line in lines[:4])
            + ".",
            fix=fix,
        )
