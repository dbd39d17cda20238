"""Step 5, Push: a verified push, then promote and roll back channel tags.

A release is pushed only when the registry's digest for its tag equals the
digest Docker computed while pushing; only then is `push.pushed` recorded (and
committed). A push cut off midway leaves `pushed: false`; running it again
completes it. Release tags are immutable: a tag already holding another digest
is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.atomic import write_text_atomic
from workbench.checklist.registry import Cancelled
from workbench.checklist.state import now
from workbench.errors import WorkbenchError
from workbench.manifest import Manifest
from workbench.release.registry import RegistryClient, client_for
from workbench.release.semver import SemVer
from workbench.release.tagging import RELEASES, git, load_release, release_path, releases
from workbench.yamlio import dump_yaml, load_yaml, to_plain

CHANNELS = "channels.yaml"


@dataclass(frozen=True)
class LayerProgress:
    layer: str
    status: str
    current: int
    total: int


@dataclass(frozen=True)
class Pushed:
    version: str
    digest: str
    already: bool


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


def _save_release(manifest: Manifest, version: str, document: dict[str, Any], message: str) -> None:
    path = release_path(manifest, version)
    write_text_atomic(
        path,
        f"# Release {version} of {manifest.name}, written by `workbench tag`."
        "\n" + dump_yaml(document),
    )
    git(manifest.root, "add", "--", str(path.relative_to(manifest.root)))
    git(manifest.root, "commit", "--quiet", "-m", message)


def push_release(
    manifest: Manifest,
    version: str | None = None,
    *,
    cancel: threading.Event | None = None,
) -> Iterator[LayerProgress | Pushed]:
    from docker.errors import APIError, DockerException

    from workbench.harness import docker_client

    version = version or latest_version(manifest)
    document = load_release(manifest, version)
    registry = _registry(manifest)
    registry.check()
    ref = registry.ref
    existing = registry.manifest_digest(version)
    recorded = (document.get("push") or {}).get("digest")
    if existing and recorded and existing == recorded:
        yield Pushed(version, existing, already=True)
        return
    client = docker_client()
    image = client.images.get(document["image"]["id"])
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
    image.tag(ref.name, tag=version)
    pushed_digest = None
    try:
        stream = client.api.push(ref.name, tag=version, stream=True, decode=True)
        for event in stream:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if "error" in event:
                detail = event.get("errorDetail", {}).get("message") or event["error"]
                raise WorkbenchError(
                    f"the push of {ref.tagged(version)} failed: {detail}; the release stays "
                    "marked not pushed.",
                    fix="fix the cause and run `workbench push` again; it completes the push.",
                )
            if "aux" in event and "Digest" in event["aux"]:
                pushed_digest = event["aux"]["Digest"]
            if "id" in event and "status" in event:
                progress = event.get("progressDetail") or {}
                yield LayerProgress(
                    event["id"],
                    event["status"],
                    int(progress.get("current") or 0),
                    int(progress.get("total") or 0),
                )
    except (APIError, DockerException) as exc:
        raise WorkbenchError(
            f"the push of {ref.tagged(version)} failed ({exc}); the release "
            "stays marked not pushed.",
            fix="run `workbench push` again once the registry is back.",
        ) from None
    remote = registry.manifest_digest(version)
    if not pushed_digest or not remote or remote != pushed_digest:
        raise WorkbenchError(
            f"after the push the registry reports {remote} for {ref.tagged(version)}, but Docker "
            f"pushed {pushed_digest}; the release is not marked pushed.",
            fix="run `workbench push` again; if it persists, check the registry.",
        )
    document["push"] = {
        "pushed": True,
        "digest": remote,
        "pushed_at": now(),
        "ref": f"{ref.name}@{remote}",
    }
    _save_release(
        manifest, version, document, f"release {manifest.name} {version}: pushed {remote}"
    )
    yield Pushed(version, remote, already=False)


# --- channels --------------------------------------------------------------------------------


def channels_path(manifest: Manifest) -> Any:
    return manifest.root / RELEASES / CHANNELS


def load_channels(manifest: Manifest) -> dict[str, Any]:
    path = channels_path(manifest)
    if not path.exists():
        return {}
    data = to_plain(load_yaml(path, what="channels"))
    return data if isinstance(data, dict) else {}


def _point(manifest: Manifest, channel: str, version: str, action: str, by: str) -> str:
    registry = _registry(manifest)
    document = load_release(manifest, version)
    if not (document.get("push") or {}).get("pushed"):
        raise WorkbenchError(
            f"release {version} is not pushed yet.", fix=f"run `workbench push {version}` first."
        )
    body, media_type, digest = registry.get_manifest(document["push"]["digest"])
    if digest and digest != document["push"]["digest"]:
        raise WorkbenchError(
            f"the registry serves {digest} for {version}, not the recorded "
            f"{document['push']['digest']}."
        )
    registry.put_manifest(channel, body, media_type)
    now_points = registry.manifest_digest(channel)
    if now_points != document["push"]["digest"]:
        raise WorkbenchError(
            f"the channel {channel} points at {now_points} after tagging, not "
            f"{document['push']['digest']}."
        )
    channels = load_channels(manifest)
    entry = channels.setdefault(channel, {"current": None, "history": []})
    entry["current"] = version
    entry["digest"] = now_points
    entry["history"].append(
        {"version": version, "digest": now_points, "action": action, "at": now(), "by": by}
    )
    path = channels_path(manifest)
    write_text_atomic(
        path,
        "# Channel tags and their history, written by `workbench promote` "
        "and `workbench rollback`.\n" + dump_yaml(channels),
    )
    git(manifest.root, "add", "--", str(path.relative_to(manifest.root)))
    git(
        manifest.root, "commit", "--quiet", "-m", f"{action} {manifest.name} {channel} -> {version}"
    )
    return str(now_points)


def promote(manifest: Manifest, version: str, channel: str, by: str) -> str:
    SemVer.parse(version)
    return _point(manifest, channel, version, "promote", by)


def rollback(manifest: Manifest, channel: str, by: str) -> tuple[str, str]:
    """Point the channel back at the version it held before the current one."""
    entry = load_channels(manifest).get(channel)
    if not entry or not entry.get("history"):
        raise WorkbenchError(
            f"the channel {channel} has no history to roll back.",
            fix=f"promote a version first: `workbench promote V --channel {channel}`.",
        )
    current = entry["current"]
    earlier = [h["version"] for h in entry["history"] if h["version"] != current]
    if not earlier:
        raise WorkbenchError(
            f"the channel {channel} has held only {current}; there is no "
            "earlier version to roll back to."
        )
    target = earlier[-1]
    return target, _point(manifest, channel, target, "rollback", by)


def release_table(manifest: Manifest) -> list[dict[str, Any]]:
    channels = load_channels(manifest)
    rows = []
    tags = set(
        git(
            manifest.root, "tag", "--list", f"{manifest.release.tag_prefix}*", check=False
        ).splitlines()
    )
    for version in reversed(releases(manifest)):
        try:
            document = load_release(manifest, str(version))
        except WorkbenchError:
            document = {}
        push = document.get("push") or {}
        rows.append(
            {
                "version": str(version),
                "tagged": f"{manifest.release.tag_prefix}{version}" in tags,
                "pushed": bool(push.get("pushed")),
                "digest": push.get("digest"),
                "channels": sorted(
                    c for c, e in channels.items() if e.get("current") == str(version)
                ),
                "created": document.get("created"),
            }
        )
    return rows
