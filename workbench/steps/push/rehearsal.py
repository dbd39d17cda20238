"""Rehearsing the way back: the version a rollback of a channel would return to is pulled
from the registry by its digest (never a tag), started locally as the serve test runs
images (loopback only, read-only, no capabilities, labelled as the project's own, always
removed), asked one of its own example requests, and its answer checked against its own
response schema (both read at its release's git tag, today's files only where the tag has
none, which the evidence says).

`push.rollback-rehearsed` rehearses every channel's way back as it stands; `workbench
promote` rehearses, before it moves the channel, the version that becomes the way back
(the channel's current one), and records the outcome as that item's result.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import msgspec

from workbench.checklist.checks import CheckResult, Report
from workbench.kernel.cancel import Cancelled
from workbench.kernel.docker import cancellable_stream, docker_client, short_error
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import request
from workbench.kernel.yamlio import parse_yaml, to_plain
from workbench.project.manifest import Manifest
from workbench.project.model_env import load_examples
from workbench.project.records import Channel
from workbench.project.releases import file_at_release, load_channels, load_release, tag_name
from workbench.steps.push.publish import rollback_target
from workbench.steps.schema.contract import response_schema, validation_errors
from workbench.steps.serve import run

ITEM = "push.rollback-rehearsed"
ANSWER_LIMIT = 160  # characters of the answer kept as evidence


class Rehearsal(msgspec.Struct, frozen=True, kw_only=True):
    """One version a rollback would return to, rehearsed: what was read back, or why not."""

    channels: list[str]  # the channels whose way back it is
    version: str
    digest: str  # what was pulled: the release's pushed digest
    image_id: str | None = None  # the pulled image's id, read back from the engine
    ready_seconds: float | None = None
    example: str | None = None  # the example request sent (its file name)
    status: int | None = None  # the HTTP status it answered with
    answer: str | None = None  # the start of its answer
    cause: str | None = None  # why the way back fails; None: it answered, valid

    def said(self) -> str:
        where = ", ".join(self.channels)
        if self.cause is not None:
            return f"{where}: the way back to {self.version} ({self.digest}) fails: {self.cause}"
        return (
            f"{where}: rollback target {self.version} pulled by digest {self.digest} "
            f"(image {(self.image_id or '?')[:19]}), ready in {self.ready_seconds or 0:.1f} s; "
            f"POST /predict {self.example} answered {self.status}, valid against its "
            f"response schema: {self.answer}"
        )


class Rehearsals(Report, frozen=True, kw_only=True):
    """push.rollback-rehearsed: every channel's way back, rehearsed."""

    rehearsals: list[Rehearsal] = []


def targets(manifest: Manifest, moving: tuple[str, str] | None = None) -> dict[str, list[str]]:
    """version -> the channels a rollback would return to it; with `moving` (channel,
    version), as they will be once that promote is made."""
    found: dict[str, list[str]] = {}
    channels = load_channels(manifest)
    if moving is not None:
        entry = channels.get(moving[0]) or Channel()
        channels[moving[0]] = Channel(current=moving[1], history=entry.history)
    for name, entry in sorted(channels.items()):
        target = rollback_target(entry)
        if target is not None:
            found.setdefault(target, []).append(name)
    return found


def rehearse_all(
    manifest: Manifest,
    moving: tuple[str, str] | None = None,
    *,
    cancel: threading.Event | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> CheckResult:
    """Every way back rehearsed (each version once) as `push.rollback-rehearsed`'s result;
    skipped, with the reason, when no channel has an earlier version."""
    found = targets(manifest, moving)
    if not found:
        return CheckResult.skipped(
            "no channel has an earlier version to roll back to: no way back to rehearse yet"
        )
    done = []
    for version, channels in found.items():
        log(f"rehearsing the way back of {', '.join(channels)}: {version}")
        done.append(rehearse(manifest, version, channels, cancel=cancel))
    report = Rehearsals(rehearsals=done)
    said = [r.said() for r in done]
    if all(r.cause is None for r in done):
        return CheckResult.passed(*said, report=report)
    return CheckResult.failed(*said, report=report)


def rehearse(
    manifest: Manifest,
    version: str,
    channels: list[str],
    *,
    cancel: threading.Event | None = None,
) -> Rehearsal:
    """Pull `version` by its pushed digest, start it, ask it once; never raises for the way
    back failing (the cause is the result), only for a cancel."""
    try:
        record = load_release(manifest, version)
    except WorkbenchError as exc:
        return Rehearsal(channels=channels, version=version, digest="?", cause=exc.message)
    digest = record.push.digest
    if not record.push.pushed or not digest or not manifest.registry:
        why = "`registry:` is not set" if not manifest.registry else f"{version} is not pushed"
        return Rehearsal(channels=channels, version=version, digest=digest or "none", cause=why)
    ref = f"{manifest.registry}@{digest}"
    said: dict[str, Any] = {"channels": channels, "version": version, "digest": digest}
    client = docker_client()
    try:
        image_id, pulled = _pull(client, manifest.registry, digest, cancel)
    except WorkbenchError as exc:
        return Rehearsal(**said, cause=exc.message)
    said["image_id"] = image_id
    env = {"PORT": str(manifest.serve.port)}
    try:
        with run.running(client, ref, manifest, env=env, cancel=cancel) as live:
            said["ready_seconds"] = round(live.ready_seconds, 3)
            return Rehearsal(**said, **_ask(manifest, version, live.url))
    except Cancelled:
        raise
    except WorkbenchError as exc:
        return Rehearsal(**said, cause=f"{ref} did not start: {exc.message}")
    finally:
        if pulled:  # pulled for this rehearsal only: the reference goes again (in use, or
            with contextlib.suppress(Exception):  # gone already: as the engine has it)
                client.images.remove(ref)


def _pull(
    client: Any, registry: str, digest: str, cancel: threading.Event | None
) -> tuple[str, bool]:
    """The image id pulled from the registry by digest, and whether the engine lacked it
    before (the registry is asked either way: a digest it no longer holds fails here)."""
    from docker.errors import DockerException, ImageNotFound

    ref = f"{registry}@{digest}"
    try:
        client.images.get(ref)
        had = True
    except ImageNotFound:
        had = False
    try:
        stream = cancellable_stream(
            client, cancel, lambda: client.api.pull(registry, tag=digest, stream=True, decode=True)
        )
        for event in stream:
            if "error" in event:
                detail = (event.get("errorDetail") or {}).get("message") or event["error"]
                raise WorkbenchError(f"{ref} cannot be pulled from the registry: {detail}")
        image_id = str(client.images.get(ref).id)
    except DockerException as exc:
        raise WorkbenchError(
            f"{ref} cannot be pulled from the registry: {short_error(exc)}"
        ) from None
    return image_id, not had


def _ask(manifest: Manifest, version: str, url: str) -> dict[str, Any]:
    """One example request of the release, POSTed; its answer checked against the release's
    response schema: the fields of a `Rehearsal` it read back."""
    try:
        name, record, whence = _example(manifest, version)
    except WorkbenchError as exc:
        return {"cause": f"no example request to send: {exc.message}"}
    try:
        answer = request(
            "POST",
            url + "/predict",
            body=json.dumps(record).encode(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    except OSError as exc:
        return {"example": name, "cause": f"POST /predict {name} got no answer: {exc}"}
    text = " ".join(answer.body.decode("utf-8", errors="replace").split())
    said: dict[str, Any] = {
        "example": name + whence,
        "status": answer.status,
        "answer": text[:ANSWER_LIMIT],
    }
    if answer.status != 200:
        return said | {"cause": f"POST /predict {name} answered {answer.status}: {text[:200]}"}
    try:
        body = json.loads(text)
    except ValueError:
        return said | {"cause": f"POST /predict {name} answered 200 with no JSON: {text[:200]}"}
    try:
        errors = validation_errors(_response_schema(manifest, version), body)
    except WorkbenchError as exc:
        return said | {"cause": f"its response schema cannot be read: {exc.message}"}
    if errors:
        path, message = errors[0]
        return said | {"cause": f"its answer to {name} breaks its response schema at {path}: "
                       f"{message}"}  # fmt: skip
    return said


def _example(manifest: Manifest, version: str) -> tuple[str, Any, str]:
    """The first example request as it was at the release's tag (today's first example,
    said so, where the tag has none of them)."""
    examples = load_examples(manifest)
    if not examples:
        raise WorkbenchError(f"{manifest.schema.examples} holds no example request to send")
    folder = PurePosixPath(manifest.schema.examples)
    for name, _ in examples:
        text = file_at_release(manifest, version, str(folder / name))
        if text is not None:
            try:
                return name, json.loads(text), ""
            except ValueError:
                raise WorkbenchError(f"{folder / name} at {version}'s tag is not JSON") from None
    name, record = examples[0]
    return name, record, f" (today's: {tag_name(manifest, version)} has none of them)"


def _response_schema(manifest: Manifest, version: str) -> dict[str, Any]:
    relative = manifest.schema.response
    text = file_at_release(manifest, version, relative)
    if text is None:
        return response_schema(manifest)
    source = f"{tag_name(manifest, version)}:{relative}"
    schema = to_plain(parse_yaml(text, source=source, what="response schema"))
    return schema if isinstance(schema, dict) else response_schema(manifest)
