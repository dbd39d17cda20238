"""Step 4, Tag: a semver release with a manifest, an annotated git tag and image tags."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.checklist.engine import Checklist
from workbench.checklist.state import STATE_NAME
from workbench.kernel import git
from workbench.kernel.clock import now
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest
from workbench.kernel.oci import client_for
from workbench.project.lockfile import LOCK_NAME, SNAPSHOT_NAME
from workbench.project.manifest import Manifest
from workbench.project.records import (
    BaseImageInfo,
    BumpInfo,
    ChecklistAtRelease,
    GitInfo,
    Hashes,
    ImageInfo,
    People,
    PushInfo,
    ReleaseRecord,
    StepScore,
    WaiverInfo,
)
from workbench.project.releases import (
    RELEASES,
    releases,
    save_release,
    tag_name,
)
from workbench.project.semver import LEVELS, SemVer
from workbench.steps.schema.diff import Change, required_bump, schema_changes
from workbench.steps.serve.session import build

GATED_STEPS = ("snapshot", "schema", "serve")
# Written by the workbench and committed with each release.
RELEASE_INPUTS = (STATE_NAME, SNAPSHOT_NAME, LOCK_NAME)
WORKBENCH_FILES = (*RELEASE_INPUTS, f"{RELEASES}/")


@dataclass
class Suggestion:
    previous: SemVer | None
    version: SemVer
    level: str
    reason: str
    changes: list[Change] = field(default_factory=list)


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
    if not git.is_repository(manifest.root):
        raise WorkbenchError(
            f"{manifest.root} is not in a git repository, so its changes cannot be listed.",
            fix="`git init` and commit the project.",
        )
    prefix = git.prefix(manifest.root)
    # Not stripped: the first column of a porcelain line may be a space.
    status = git.status(manifest.root)
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
    if git.tags(manifest.root, tag_name(manifest, version)):
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
    record: ReleaseRecord


def create_release(
    checklist: Checklist,
    version_text: str | None = None,
    *,
    log: Callable[[str], None] = lambda _: None,
    cancel: threading.Event | None = None,
) -> Release:
    """Check the gates, write releases/<version>.yaml, commit, tag git and the image."""
    manifest = checklist.manifest
    root = manifest.root
    if not git.is_repository(root):
        raise WorkbenchError(
            f"{root} is not in a git repository.",
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
        registry_tags = client_for(manifest.registry).manifest_digest
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
    revision = git.git(root, "rev-parse", "HEAD")
    pair = checklist.pair
    record = ReleaseRecord(
        version=str(version),
        created=now(),
        git=GitInfo(revision=revision, tag=tag_name(manifest, version)),
        previous=str(suggestion.previous) if suggestion.previous else None,
        bump=BumpInfo(
            level=version.level_from(suggestion.previous) if suggestion.previous else "major",
            suggested=str(suggestion.version),
            reason=suggestion.reason,
            changes=[f"{c.kind}: {c.where} {c.path}: {c.what}" for c in suggestion.changes],
        ),
        hashes=Hashes(
            lock=file_digest(root / LOCK_NAME),
            request_schema=file_digest(manifest.resolve(manifest.schema.request)),
            response_schema=file_digest(manifest.resolve(manifest.schema.response)),
            artifacts={
                relative: file_digest(manifest.resolve(relative))
                for relative in ([manifest.model.artifact] if manifest.model.artifact else [])
            },
        ),
        base_image=BaseImageInfo(name=context.base_image, id=str(base.id)),
        image=ImageInfo(
            ref=image_ref,
            id=built.image_id,
            tested_id=tested.details.get("image_id") if tested else None,
        ),
        checklist=ChecklistAtRelease(
            readiness=checklist.readiness(summaries),
            steps={
                s.step: StepScore(score=s.score, max=s.max_score, status=s.status.value)
                for s in summaries
            },
        ),
        waivers={
            k: WaiverInfo(reason=w.reason, by=w.by, at=w.at)
            for k, w in checklist.state.waivers.items()
        },
        released_by=People(driver=pair[0], navigator=pair[1])
        if pair
        else People(driver=checklist.driver),
        push=PushInfo(),
    )
    path = save_release(manifest, record)
    to_add = [str(path.relative_to(root))]
    to_add += [name for name in RELEASE_INPUTS if (root / name).exists()]
    git.git(root, "add", "--", *to_add)
    author = pair[0] if pair else checklist.driver
    git.git(
        root,
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
    git.git(root, "tag", "--annotate", tag_name(manifest, version), "-m", message)
    log(
        f"committed {git.prefix(root)}{path.relative_to(root)}, tagged "
        f"{tag_name(manifest, version)}, image {image_ref}"
    )
    return Release(version, path, tag_name(manifest, version), image_ref, built.image_id, record)
