"""`workbench replay`: production's logged requests (every replica of the channel's swarm
service, or a file of JSON lines) sent to a candidate release's image run locally exactly
as the serve test runs it (hardened, loopback, labelled as the project's own, always
removed), its answers compared with production's, the replay recorded for `push.replay`."""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from workbench.kernel.cancel import raise_if_cancelled
from workbench.kernel.clock import now
from workbench.kernel.docker import docker_client, short_error
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import request
from workbench.project.manifest import Manifest
from workbench.project.releases import load_release
from workbench.steps.push import replay
from workbench.steps.push.replay import Answer, Logged
from workbench.steps.push.report import ReplayReport
from workbench.steps.schema.contract import request_schema, response_schema
from workbench.steps.serve import run


def service_lines(manifest: Manifest, channel: str) -> tuple[list[str], str]:
    """The latest log lines of every running replica of the channel's service, and where
    they came from; a replica on another node is said, not read."""
    from workbench.steps.push import swarm

    client = swarm.swarm_client()
    name = swarm.service_name(manifest, channel)
    service = swarm.find_service(client, name)
    if service is None:
        raise WorkbenchError(
            f"the channel {channel} has no swarm service on this engine ({name}).",
            fix=f"deploy it (`workbench deploy --channel {channel}`), or replay its logs from a "
            "file with `--from FILE` (one JSON line per log line).",
        )
    from workbench.steps.serve.run import PROJECT_ID_LABEL

    spec = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    owner = (spec.get("Labels") or {}).get(PROJECT_ID_LABEL)
    if owner != manifest.project_id:  # the same name, made by another project: not its logs
        raise WorkbenchError(
            f"the swarm service {name} was not deployed by this project (its containers' "
            f"{PROJECT_ID_LABEL} is {owner!r}): its traffic is not this channel's.",
            fix=f"deploy this project's channel (`workbench deploy --channel {channel}`), or "
            "replay its logs from a file with `--from FILE`.",
        )
    lines: list[str] = []
    read, elsewhere = 0, 0
    for task in service.tasks(filters={"desired-state": "running"}):
        container_id = (task["Status"].get("ContainerStatus") or {}).get("ContainerID")
        try:
            container = client.containers.get(container_id) if container_id else None
        except Exception:  # on another node, or gone
            container = None
        if container is None:
            elsewhere += 1
            continue
        text = container.logs(stdout=True, stderr=False, tail=replay.MAX_LOG_LINES)
        lines += text.decode(errors="replace").splitlines()
        read += 1
    if not read:
        raise WorkbenchError(
            f"no replica of {name} runs on this engine: its logs cannot be read here.",
            fix="replay from a file of its log lines with `--from FILE`.",
        )
    where = f"{read} replica{'s' if read != 1 else ''} of the service {name}"
    return lines, where + (f" ({elsewhere} on other nodes, not read)" if elsewhere else "")


def file_lines(path: Path) -> tuple[list[str], str]:
    """The last lines of a file of JSON lines (a deployment not on this swarm)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            kept = collections.deque(handle, maxlen=replay.MAX_LOG_LINES)
    except OSError as exc:
        raise WorkbenchError(
            f"{path} cannot be read ({exc.strerror or exc}).",
            fix="give --from a file of the deployment's log lines (one JSON object a line).",
        ) from None
    return list(kept), str(path)


def candidate_image(manifest: Manifest, version: str) -> tuple[str, bool]:
    """The candidate's image: the tested image id when this engine has it, else the pushed
    digest, pulled (True: pulled for the replay, to be removed after it)."""
    record = load_release(manifest, version)
    client = docker_client()
    try:
        client.images.get(record.image.id)
        return record.image.id, False
    except Exception:
        pass
    if record.push.pushed and record.push.digest and manifest.registry:
        reference = f"{manifest.registry}@{record.push.digest}"
        try:
            client.images.pull(reference)
        except Exception as exc:  # the registry away, the digest gone, no credentials
            raise WorkbenchError(
                f"the image of {version} is not on this engine, and pulling {reference} "
                f"failed: {short_error(exc)}",
                fix="check that the registry answers (`workbench check -s push`), or replay "
                "where the release was built.",
            ) from None
        return reference, True
    raise WorkbenchError(
        f"the image of {version} ({record.image.id[:19]}) is not on this engine, and the "
        "release was not pushed.",
        fix=f"push it from where it was built (`workbench push {version}`), then replay.",
    )


def _ask(url: str, logged: Logged) -> Answer:
    try:
        answer = request(
            "POST",
            f"{url}/predict",
            body=orjson.dumps(logged.inputs),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    except OSError as exc:
        return Answer(0, None, None, None, error=f"{type(exc).__name__}: {exc}")
    try:
        body = answer.json()
    except ValueError:
        body = answer.body.decode(errors="replace")[:200]
    return Answer(answer.status, body, answer.header("x-request-id"), None)


def _with_latency(container: Any, answers: list[Answer]) -> list[Answer]:
    """Each answer with the latency the candidate's own access line gives it (the log comes a
    moment after the answer: read again, for up to 2 s, until the last one is there)."""
    ids = [a.request_id for a in answers if a.request_id]
    deadline = time.monotonic() + 2
    found: dict[str, float] = {}
    while True:
        text = container.logs(stdout=True, stderr=False).decode(errors="replace")
        found = replay.access_latencies(text.splitlines())
        if not ids or ids[-1] in found or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return [
        Answer(a.status, a.body, a.request_id, found.get(a.request_id or ""), a.error)
        for a in answers
    ]


def replay_candidate(
    manifest: Manifest,
    channel: str,
    candidate: str,
    *,
    limit: int = replay.LIMIT,
    source: Path | None = None,
    cancel: threading.Event | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> ReplayReport:
    """Replay up to `limit` of production's logged requests against `candidate`, record the
    replay (for `push.replay`) and return it."""
    lines, where = file_lines(source) if source else service_lines(manifest, channel)
    logged = replay.parse(lines)
    if not logged:
        off = "" if manifest.monitoring.log_predictions else " (monitoring.log_predictions is off)"
        raise WorkbenchError(
            f"no prediction is logged in {where}{off}: nothing to replay.",
            fix="set `monitoring.log_predictions: true` in workbench.yaml (and "
            "`monitoring.sample`), release and deploy it; replay once it has answered traffic.",
        )
    chosen = replay.sample(logged, limit)
    image, pulled = candidate_image(manifest, candidate)
    log(f"replaying {len(chosen)} of {len(logged)} logged predictions against {candidate}")
    client = docker_client()
    try:
        with run.running(client, image, manifest, cancel=cancel) as live:
            answers = []
            for item in chosen:
                raise_if_cancelled(cancel)
                answers.append(_ask(live.url, item))
            answers = _with_latency(live.container, answers)
    finally:
        if pulled:  # pulled for this replay only: the reference goes again (as rehearsals do)
            with contextlib.suppress(Exception):  # in use elsewhere, or gone already
                client.images.remove(image)
    return _report(manifest, channel, candidate, where, logged, chosen, answers)


def _report(
    manifest: Manifest,
    channel: str,
    candidate: str,
    where: str,
    logged: list[Logged],
    chosen: list[Logged],
    answers: list[Answer],
) -> ReplayReport:
    hidden_out = replay.hidden(response_schema(manifest))
    agreed, fields, errors = replay.compare(chosen, answers, hidden_out)
    theirs = [x.latency_ms for x in chosen if x.latency_ms is not None]
    mine = [a.latency_ms for a in answers if a.latency_ms is not None]
    versions = sorted({x.version or "?" for x in chosen})
    report = ReplayReport(
        channel=channel,
        candidate=candidate,
        production=", ".join(versions),
        source=where,
        replayed_at=now(),
        logged=len(logged),
        sent=len(chosen),
        answered=sum(a.status == 200 for a in answers),
        agreed=agreed,
        fields=fields,
        absent_inputs=sorted(replay.hidden(request_schema(manifest))),
        candidate_p50_ms=replay.percentile(mine, 50),
        candidate_p99_ms=replay.percentile(mine, 99),
        production_p50_ms=replay.percentile(theirs, 50),
        production_p99_ms=replay.percentile(theirs, 99),
        errors=errors,
        minimum=manifest.monitoring.replay_min_agreement,
    )
    replay.save(manifest, report)
    return report
