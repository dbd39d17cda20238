"""Step 4, Tag: a semver release with a manifest, an annotated git tag and image tags."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import gitrepo
from workbench.checklist import Checklist
from workbench.checklist.registry import file_digest
from workbench.checklist.state import STATE_NAME, now
from workbench.contract import load_schema
from workbench.errors import WorkbenchError
from workbench.manifest import Manifest
from workbench.release.semver import LEVELS, SemVer
from workbench.schema_diff import Change, diff_schemas, required_bump
from workbench.snapshot.lockfile import LOCK_NAME, SNAPSHOT_NAME
from workbench.yamlio import dump_yaml, load_yaml, parse_yaml, to_plain

RELEASES = "releases"
GATED_STEPS = ("snapshot", "schema", "serve")
# Written by the workbench and committed with each release.
RELEASE_INPUTS = (STATE_NAME, SNAPSHOT_NAME, LOCK_NAME)
WORKBENCH_FILES = (*RELEASE_INPUTS, f"{RELEASES}/")


def git(root: Path, *args: str, check: bool = True, strip: bool = True) -> str:
    """`git ARGS` in `root`; a failure is a WorkbenchError unless `check` is off."""
    result = gitrepo.run(root, *args)
    if check and result.returncode != 0:
        raise WorkbenchError(
            f"`git {' '.join(args)}` failed: {result.stderr.strip()}",
            fix="check the repository's state with `git status`.",
        )
    return result.stdout.strip() if strip else result.stdout


def release_path(manifest: Manifest, version: str) -> Path:
    return manifest.root / RELEASES / f"{version}.yaml"


def tag_name(manifest: Manifest, version: SemVer | str) -> str:
    return f"{manifest.release.tag_prefix}{version}"


def releases(manifest: Manifest) -> list[SemVer]:
    """Released versions: release manifests in releases/ and git tags with our prefix."""
    found = set()
    folder = manifest.root / RELEASES
    for path in folder.glob("*.yaml") if folder.is_dir() else []:
        if path.stem != "channels":
            try:
                found.add(SemVer.parse(path.stem))
            except WorkbenchError:
                continue
    prefix = manifest.release.tag_prefix
    for tag in git(manifest.root, "tag", "--list", f"{prefix}*", check=False).splitlines():
        try:
            found.add(SemVer.parse(tag[len(prefix) :]))
        except WorkbenchError:
            continue
    return sorted(found)


def load_release(manifest: Manifest, version: str) -> dict[str, Any]:
    path = release_path(manifest, version)
    if not path.exists():
        raise WorkbenchError(
            f"there is no release {version} ({path} does not exist).",
            fix="list releases with `workbench releases`.",
        )
    data = to_plain(load_yaml(path, what="release manifest"))
    return data if isinstance(data, dict) else {}


def latest_release(manifest: Manifest) -> tuple[SemVer, dict[str, Any]] | None:
    """The highest release and its manifest, or None before the first release."""
    known = releases(manifest)
    if not known:
        return None
    return known[-1], load_release(manifest, str(known[-1]))


def file_at_release(manifest: Manifest, version: SemVer | str, relative: str) -> str | None:
    """A project file as it was at a release's git tag (None if absent)."""
    prefix = git(manifest.root, "rev-parse", "--show-prefix", check=False)
    result = gitrepo.run(manifest.root, "show", f"{tag_name(manifest, version)}:{prefix}{relative}")
    return result.stdout if result.returncode == 0 else None


@dataclass
class Suggestion:
    previous: SemVer | None
    version: SemVer
    level: str
    reason: str
    changes: list[Change] = field(default_factory=list)


def schema_changes(manifest: Manifest, previous: SemVer) -> list[Change]:
    changes: list[Change] = []
    for where, relative in (
        ("request", manifest.schema.request),
        ("response", manifest.schema.response),
    ):
        old_text = file_at_release(manifest, previous, relative)
        if old_text is None:
            continue
        old = to_plain(parse_yaml(old_text, source=f"{tag_name(manifest, previous)}:{relative}"))
        new = load_schema(manifest.resolve(relative), f"{where} schema")
        changes += diff_schemas(old, new, where)
    return changes


def suggest(manifest: Manifest) -> Suggestion:
    known = releases(manifest)
    if not known:
        return Suggestion(None, SemVer(1, 0, 0), "major", "the first release")
    previous = known[-1]
    changes = schema_changes(manifest, previous)
    level = required_bump(changes)
    if level == "major":
        breaking = [f"{c.where} {c.path}: {c.what}" for c in changes if c.kind == "breaking"]
        reason = "breaking contract changes: " + "; ".join(breaking[:4])
    elif level == "minor":
        additive = [f"{c.where} {c.path}: {c.what}" for c in changes if c.kind == "additive"]
        reason = "additive contract changes: " + "; ".join(additive[:4])
    else:
        reason = "no contract change: a new model or environment only"
    return Suggestion(previous, previous.bump(level), level, reason, changes)


def dirty_files(manifest: Manifest) -> list[str]:
    """Uncommitted changes in the project, apart from the files the workbench writes."""
    prefix = git(manifest.root, "rev-parse", "--show-prefix")
    # Not stripped: the first column of a porcelain line may be a space.
    status = git(manifest.root, "status", "--porcelain", "--untracked-files=all", ".", strip=False)
    out = []
    for line in status.splitlines():
        path = line[3:].strip().strip('"')
        relative = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        if not relative.startswith(WORKBENCH_FILES) and not relative.startswith(".workbench/"):
            out.append(relative)
    return out


def validate_version(
    manifest: Manifest,
    text: str,
    suggestion: Suggestion,
    registry_tags: Callable[[str], str | None] | None = None,
) -> SemVer:
    version = SemVer.parse(text)
    if suggestion.previous is not None and not version > suggestion.previous:
        raise WorkbenchError(
            f"{version} is not higher than the last release {suggestion.previous}.",
            fix=f"use {suggestion.version} or higher.",
        )
    if git(manifest.root, "tag", "--list", tag_name(manifest, version)):
        raise WorkbenchError(
            f"the git tag {tag_name(manifest, version)} already exists.",
            fix="choose another version; release tags are never moved.",
        )
    if suggestion.previous is not None and LEVELS.index(
        version.level_from(suggestion.previous)
    ) < LEVELS.index(suggestion.level):
        raise WorkbenchError(
            f"{version} is a {version.level_from(suggestion.previous)} bump, but the contract "
            f"changes need a {suggestion.level} one ({suggestion.reason}).",
            fix=f"use {suggestion.version}.",
        )
    if registry_tags is not None and registry_tags(str(version)):
        raise WorkbenchError(
            f"the registry already holds version {version}.",
            fix="choose another version; release tags are immutable.",
        )
    return version


@dataclass
class Release:
    version: SemVer
    path: Path
    tag: str
    image_ref: str
    image_id: str
    document: dict[str, Any]


def create_release(
    checklist: Checklist,
    version_text: str | None = None,
    *,
    log: Callable[[str], None] = lambda _: None,
    cancel: threading.Event | None = None,
) -> Release:
    """Check the gates, write releases/<version>.yaml, commit, tag git and the image."""
    from workbench.harness import docker_client
    from workbench.serve.probes import build

    manifest = checklist.manifest
    if git(manifest.root, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        raise WorkbenchError(
            f"{manifest.root} is not in a git repository.",
            fix="`git init`, commit the project, then tag.",
        )
    checklist.refresh()
    checklist.require_gates(GATED_STEPS, "tag a release")
    dirty = dirty_files(manifest)
    if dirty:
        raise WorkbenchError(
            "the git tree has uncommitted changes: " + ", ".join(dirty[:10]) + ".",
            fix="commit or stash them; a release points at a commit.",
        )
    suggestion = suggest(manifest)
    registry_tags = None
    if manifest.registry:
        from workbench.release.registry import client_for

        registry = client_for(manifest.registry)
        registry_tags = registry.manifest_digest
    version = validate_version(
        manifest, version_text or str(suggestion.version), suggestion, registry_tags
    )
    log(f"releasing {version} ({suggestion.reason})")

    context, built = build(
        manifest,
        log,
        cancel or threading.Event(),
        version=str(version),
        tag=f"workbench/{manifest.name}:{version}",
    )
    client = docker_client()
    image = client.images.get(built.image_id)
    image_ref = (
        f"{manifest.registry}:{version}"
        if manifest.registry
        else f"workbench/{manifest.name}:{version}"
    )
    repository, _, tag = image_ref.rpartition(":")
    image.tag(repository, tag=tag)
    base = client.images.get(context.base_image)
    tested = checklist.state.results.get("serve.image-built")
    summaries = checklist.summaries()
    revision = git(manifest.root, "rev-parse", "HEAD")
    pair = checklist.pair
    document = {
        "version": str(version),
        "created": now(),
        "git": {"revision": revision, "tag": tag_name(manifest, version)},
        "previous": str(suggestion.previous) if suggestion.previous else None,
        "bump": {
            "level": version.level_from(suggestion.previous) if suggestion.previous else "major",
            "suggested": str(suggestion.version),
            "reason": suggestion.reason,
            "changes": [f"{c.kind}: {c.where} {c.path}: {c.what}" for c in suggestion.changes],
        },
        "hashes": {
            "lock": file_digest(manifest.root / LOCK_NAME),
            "request_schema": file_digest(manifest.resolve(manifest.schema.request)),
            "response_schema": file_digest(manifest.resolve(manifest.schema.response)),
            "artifacts": {
                relative: file_digest(manifest.resolve(relative))
                for relative in ([manifest.model.artifact] if manifest.model.artifact else [])
            },
        },
        "base_image": {"name": context.base_image, "id": base.id},
        "image": {
            "ref": image_ref,
            "id": built.image_id,
            "tested_id": tested.details.get("image_id") if tested else None,
        },
        "checklist": {
            "readiness": checklist.readiness(summaries),
            "steps": {
                s.step: {"score": s.score, "max": s.max_score, "status": s.status.value}
                for s in summaries
            },
        },
        "waivers": {
            k: {"reason": w.reason, "by": w.by, "at": w.at}
            for k, w in checklist.state.waivers.items()
        },
        "released_by": {"driver": pair[0], "navigator": pair[1]} if pair else checklist.driver,
        "push": {"pushed": False, "digest": None},
    }
    path = release_path(manifest, str(version))
    from workbench.atomic import write_text_atomic

    write_text_atomic(
        path,
        f"# Release {version} of {manifest.name}, written by `workbench tag`."
        "\n" + dump_yaml(document),
    )
    prefix = git(manifest.root, "rev-parse", "--show-prefix")
    to_add = [str(path.relative_to(manifest.root))]
    to_add += [name for name in RELEASE_INPUTS if (manifest.root / name).exists()]
    git(manifest.root, "add", "--", *to_add)
    author = pair[0] if pair else checklist.driver
    git(
        manifest.root,
        "commit",
        "--quiet",
        "-m",
        f"release {manifest.name} {version}",
        "-m",
        f"{suggestion.reason}\n\nReleased by {author} with workbench.",
    )
    message = (
        f"{manifest.name} {version}\n\n{suggestion.reason}\nimage {image_ref} "
        f"({built.image_id})\nreadiness {checklist.readiness(summaries):g}"
    )
    git(manifest.root, "tag", "--annotate", tag_name(manifest, version), "-m", message)
    log(
        f"committed {prefix}{path.relative_to(manifest.root)}, tagged "
        f"{tag_name(manifest, version)}, image {image_ref}"
    )
    return Release(version, path, tag_name(manifest, version), image_ref, built.image_id, document)
