"""Step 5, Push: a verified push, then promote and roll back channel tags.

A release is pushed only when the registry's digest for its tag equals the
digest Docker computed while pushing; only then is `push.pushed` recorded (and
committed). A push cut off midway leaves `pushed: false`; running it again
completes it. Release tags are immutable: a tag already holding another digest
is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel import commands, git
from workbench.kernel.atomic import remove_stray_temps
from workbench.kernel.clock import now
from workbench.kernel.docker import cancellable_stream, docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import project_lock
from workbench.kernel.oci import ImageRef, RegistryClient, client_for
from workbench.project.manifest import Manifest
from workbench.project.records import Channel, ChannelMove, PushInfo, ReleaseRecord
from workbench.project.releases import (
    RELEASES,
    load_channels,
    load_release,
    release_path,
    releases,
    save_channels,
    save_release,
)
from workbench.project.semver import SemVer
from workbench.steps.push.keys import signing_key
from workbench.steps.push.referrers import still_attached
from workbench.steps.push.signing import Signed, key_to_sign_with, sign_and_attest
from workbench.steps.push.verify import require_verified


@dataclass(frozen=True)
class LayerProgress:
    layer: str
    status: str
    current: int
    total: int


def layer_progress(event: dict[str, Any]) -> LayerProgress:
    """One layer's progress from the engine's push event. The engine counts the bytes it
    sends (compressed, with the registry's framing) against the layer's size it knows, so
    its count runs past its total (a 104% layer): what was sent is never shown beyond the
    whole, and a layer the engine says is pushed is whole."""
    progress = event.get("progressDetail") or {}
    current, total = int(progress.get("current") or 0), int(progress.get("total") or 0)
    if total:
        current = total if event["status"] in ("Pushed", "Layer already exists") else current
        current = min(current, total)
    return LayerProgress(event["id"], event["status"], current, total)


@dataclass(frozen=True)
class Pushed:
    version: str
    digest: str
    already: bool
    signature: str | None = None  # the sigstore signature's digest, read back; None: unsigned
    attestations: str | None = None  # the .att digest, read back; None: none attached
    attached_by: str | None = None  # "referrers" (the OCI referrers API) or "tags" (fallback)
    attached_why: str | None = None  # what the registry answered when asked for referrers


def _registry(manifest: Manifest) -> RegistryClient:
    if not manifest.registry:
        raise WorkbenchError(
            "`registry:` is not set in workbench.yaml; there is nowhere to push.",
            fix="set it, e.g. registry: localhost:5000/team/" + manifest.name,
        )
    return client_for(manifest.registry)


def latest_version(manifest: Manifest) -> str:
    known = releases(manifest)
    if not known:
        raise WorkbenchError("there is no release yet.", fix="tag one with `workbench tag`.")
    return str(known[-1])


def _save_release(manifest: Manifest, record: ReleaseRecord, message: str) -> None:
    path = save_release(manifest, record)
    _commit_only(manifest, path, message)


def _commit_only(manifest: Manifest, path: Path, message: str) -> None:
    """Commit this one file of the workbench's, never what the user had staged (after a
    push killed mid-commit, the lock its git left is removed first when nobody holds it)."""
    git.remove_stale_git_locks(manifest.root)
    relative = str(path.relative_to(manifest.root))
    git.git(manifest.root, "add", "--", relative)
    git.git(manifest.root, "commit", "--quiet", "-m", message, "--only", "--", relative)


def push_release(
    manifest: Manifest,
    version: str | None = None,
    *,
    cancel: threading.Event | None = None,
    passphrase: str | None = None,
) -> Iterator[LayerProgress | Pushed]:
    """Push, verify, then sign with the project's key when this user has it (`passphrase`
    unlocks it); `signing.required` without a key refuses before anything is pushed."""
    from workbench.steps.tag.recovery import recover_release  # a later step may use an earlier

    recover_release(manifest)  # a tag a kill left half made: finished or undone first
    key = key_to_sign_with(manifest)
    if key is not None and not passphrase:
        raise WorkbenchError(
            f"no passphrase for the signing key {key}; nothing was pushed.",
            fix="set WORKBENCH_SIGNING_PASSPHRASE, or run `workbench push` in a terminal.",
        )
    with project_lock(manifest.root, "release", "pushing a release", wait=0):
        remove_stray_temps(manifest.root / RELEASES)  # a killed push's half-written record
        yield from _push_release(manifest, version, cancel=cancel, passphrase=passphrase)


def _push_release(
    manifest: Manifest,
    version: str | None,
    *,
    cancel: threading.Event | None,
    passphrase: str | None,
) -> Iterator[LayerProgress | Pushed]:
    version = version or latest_version(manifest)
    record = load_release(manifest, version)
    if git.object_type(manifest.root, record.git.tag) != "tag":
        raise WorkbenchError(
            f"release {version} has no annotated git tag {record.git.tag}, so it is not a "
            "complete release; nothing was pushed.",
            fix="tag it again with `workbench tag` (an incomplete release is undone), or "
            "restore the tag if it was deleted by mistake.",
        )
    registry = _registry(manifest)
    registry.check()
    ref = registry.ref
    existing = registry.manifest_digest(version)
    recorded = record.push.digest

    def sign(digest: str) -> Signed | None:
        """The signature, the attestations and where they went; None where this user has no
        key (push says so)."""
        if not passphrase or signing_key(manifest) is None:
            return None
        return sign_and_attest(manifest, registry, record, digest, passphrase)

    if existing and recorded and existing == recorded:
        _commit_interrupted_record(manifest, version, existing)
        push = record.push
        if push.attestations and not still_attached(
            registry, existing, push.attached_by, push.attestations
        ):
            push.attestations = None  # removed or replaced in the registry: again
        if not push.signed or push.attestations is None:
            done = sign(existing)  # pushed before the key, or the attestations are gone
            if done is not None and _record_signed(record, done):
                _save_release(manifest, record, f"release {manifest.name} {version}: signed")
        yield Pushed(
            version, existing, True, push.signature, push.attestations, push.attached_by,
            push.attached_why,
        )  # fmt: skip
        return
    client = docker_client()
    image = client.images.get(record.image.id)
    local_digests = [
        d.split("@", 1)[1]
        for d in image.attrs.get("RepoDigests") or []
        if d.startswith(ref.name + "@")
    ]
    if existing and existing not in local_digests:
        raise WorkbenchError(
            f"the registry already holds {ref.tagged(version)} with another image "
            f"({existing}); release tags are immutable, so nothing was pushed.",
            fix="release a new version (`workbench tag`), or remove the foreign tag from the "
            "registry if it is a mistake.",
        )
    with commands.running(f"docker tag {record.image.id[:19]} {ref.tagged(version)}"):
        image.tag(ref.name, tag=version)
    with commands.running(f"docker push {ref.tagged(version)}"):
        pushed_digest = yield from _stream_push(client, ref, version, cancel)
    remote, config = _verify_pushed(registry, version, pushed_digest, record.image.id)
    done = sign(remote)
    record.push = PushInfo(
        pushed=True, digest=remote, pushed_at=now(), ref=f"{ref.name}@{remote}",
        config_digest=config,
    )  # fmt: skip
    if done is not None:
        _record_signed(record, done)
    _save_release(manifest, record, f"release {manifest.name} {version}: pushed {remote}")
    push = record.push
    yield Pushed(
        version, remote, False, push.signature, push.attestations, push.attached_by,
        push.attached_why,
    )  # fmt: skip


def _record_signed(record: ReleaseRecord, done: Signed) -> bool:
    """Record the signature, the attestations and where they went; whether that changed."""
    push = record.push
    before = (push.signed, push.signature, push.attestations, push.attached_by)
    push.signed, push.signature, push.attestations = True, done.signature, done.attestations
    push.attached_by, push.attached_why = done.placement.by, done.placement.said
    return before != (push.signed, push.signature, push.attestations, push.attached_by)


def _commit_interrupted_record(manifest: Manifest, version: str, digest: str) -> None:
    """Pushed and recorded; a push killed between writing its record and committing it
    left the record uncommitted: committed now, so the history holds it."""
    path = release_path(manifest, version)
    if git.run(manifest.root, "status", "--porcelain", "--", str(path)).stdout.strip():
        _commit_only(
            manifest,
            path,
            f"release {manifest.name} {version}: pushed {digest} (record of an interrupted push)",
        )


def _stream_push(
    client: Any, ref: ImageRef, version: str, cancel: threading.Event | None
) -> Generator[LayerProgress, None, str | None]:
    """Push `ref:version` through the engine, layer by layer; the digest Docker pushed."""
    from docker.errors import APIError, DockerException  # the SDK only where it is used
    from requests.exceptions import RequestException

    pushed_digest = None
    try:
        # a stalled registry: Escape ends the push at once
        stream = cancellable_stream(
            client, cancel, lambda: client.api.push(ref.name, tag=version, stream=True, decode=True)
        )
        for event in stream:
            if "error" in event:
                detail = event.get("errorDetail", {}).get("message") or event["error"]
                raise WorkbenchError(
                    f"the push of {ref.tagged(version)} failed: {detail}; the release "
                    "stays marked not pushed.",
                    fix="fix the cause and run `workbench push` again; it completes the push.",
                )
            if "aux" in event and "Digest" in event["aux"]:
                pushed_digest = event["aux"]["Digest"]
            if "id" in event and "status" in event:
                yield layer_progress(event)
    except (APIError, DockerException, RequestException) as exc:  # the engine went away
        raise WorkbenchError(
            f"the push of {ref.tagged(version)} failed ({exc}); the release "
            "stays marked not pushed.",
            fix="run `workbench push` again once the registry is back.",
        ) from None
    return pushed_digest


def _verify_pushed(
    registry: RegistryClient, version: str, pushed_digest: str | None, image_id: str
) -> tuple[str, str]:
    """The registry's digest for `version` and its config, once both are what was pushed:
    the digest Docker pushed, pointing at the tested image."""
    remote = registry.manifest_digest(version)
    if not pushed_digest or not remote or remote != pushed_digest:
        raise WorkbenchError(
            f"after the push the registry reports {remote} for {registry.ref.tagged(version)}, "
            f"but Docker pushed {pushed_digest}; the release is not marked pushed.",
            fix="run `workbench push` again; if it persists, check the registry.",
        )
    config = config_digest(registry, remote)
    if config != image_id:
        raise WorkbenchError(
            f"the registry's {registry.ref.tagged(version)} ({remote}) points at the image config "
            f"{config}, not at the tested image {image_id}; the release is not marked "
            "pushed.",
            fix="remove that tag from the registry and push again.",
        )
    return remote, config


def config_digest(registry: RegistryClient, digest: str) -> str | None:
    """The image config a manifest in the registry points at: the image's id."""
    body, _, _ = registry.get_manifest(digest)
    try:
        config = json.loads(body).get("config") or {}
    except ValueError:
        return None
    value = config.get("digest")
    return str(value) if value else None


# --- channels --------------------------------------------------------------------------------


def _point(
    manifest: Manifest,
    channel: str,
    version: str,
    action: str,
    by: str,
    unverified_reason: str | None = None,
) -> str:
    """Verify the release first (signature, digest, SBOM, provenance): refused unless it
    verifies or a reason is given, which the channel's history records."""
    reason = require_verified(manifest, version, unverified_reason)
    with project_lock(manifest.root, "release", f"{action} of {channel}", wait=0):
        return _move_channel(manifest, channel, version, action, by, reason)


def _move_channel(
    manifest: Manifest, channel: str, version: str, action: str, by: str, reason: str | None
) -> str:
    registry = _registry(manifest)
    record = load_release(manifest, version)
    pushed = record.push.digest
    if not record.push.pushed or not pushed:
        raise WorkbenchError(
            f"release {version} is not pushed yet.", fix=f"run `workbench push {version}` first."
        )
    body, media_type, digest = registry.get_manifest(pushed)
    if digest and digest != pushed:
        raise WorkbenchError(
            f"the registry serves {digest} for {version}, not the recorded {pushed}."
        )
    registry.put_manifest(channel, body, media_type)
    now_points = registry.manifest_digest(channel)
    if now_points != pushed:
        raise WorkbenchError(
            f"the channel {channel} points at {now_points} after tagging, not {pushed}."
        )
    channels = load_channels(manifest)
    entry = channels.setdefault(channel, Channel())
    entry.current = version
    entry.digest = now_points
    entry.history.append(
        ChannelMove(
            version=version,
            digest=now_points,
            action=action,
            at=now(),
            by=by,
            unverified_reason=reason,
        )
    )
    path = save_channels(manifest, channels)
    _commit_only(manifest, path, f"{action} {manifest.name} {channel} -> {version}")
    return now_points


def promote(
    manifest: Manifest,
    version: str,
    channel: str,
    by: str,
    unverified_reason: str | None = None,
) -> str:
    from workbench.steps.push.replay import require_replay

    SemVer.parse(version)
    require_replay(manifest, version, channel)  # the team's minimum agreement, when set
    return _point(manifest, channel, version, "promote", by, unverified_reason)


def rollback(
    manifest: Manifest, channel: str, by: str, unverified_reason: str | None = None
) -> tuple[str, str]:
    """Point the channel back at the version it held before the current one."""
    entry = load_channels(manifest).get(channel)
    if not entry or not entry.history:
        raise WorkbenchError(
            f"the channel {channel} has no history to roll back.",
            fix=f"promote a version first: `workbench promote V --channel {channel}`.",
        )
    target = rollback_target(entry)
    if target is None:
        raise WorkbenchError(
            f"the channel {channel} has held only {entry.current}; there is no "
            "earlier version to roll back to."
        )
    return target, _point(manifest, channel, target, "rollback", by, unverified_reason)


def rollback_target(entry: Channel | None) -> str | None:
    """The version a rollback of this channel would point it at (None: nothing earlier)."""
    if not entry or not entry.history:
        return None
    earlier = [h.version for h in entry.history if h.version != entry.current]
    return earlier[-1] if earlier else None
