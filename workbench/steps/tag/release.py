"""Step 4, Tag: a semver release with a manifest, an annotated git tag and image tags."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from workbench.checklist import report
from workbench.checklist.checks import CheckResult
from workbench.checklist.engine import Checklist
from workbench.kernel import git
from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.clock import now
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest, sha256_text
from workbench.kernel.lock import project_lock
from workbench.kernel.oci import client_for
from workbench.project import transaction
from workbench.project.lockfile import LOCK_NAME
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
    QualityInfo,
    ReleaseRecord,
    StepScore,
    WaiverInfo,
)
from workbench.project.releases import (
    frozen_checklist_path,
    load_release,
    release_path,
    releases,
    save_release,
    tag_name,
)
from workbench.project.semver import LEVELS, SemVer
from workbench.steps.schema.diff import Change, required_bump, schema_changes
from workbench.steps.serve.session import serve_session
from workbench.steps.tag.files import RELEASE_INPUTS, dirty_files, files_not_in_git, release_hashes
from workbench.steps.tag.regression import quality_from, regression, waived_since

GATED_STEPS = ("snapshot", "schema", "serve")


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
    detail: Callable[[str], None] | None = None,
) -> Release:
    """Release the image that was tested: check the gates, build the release candidate and
    run the whole serve test on it, freeze the checklist, then write releases/<version>.yaml,
    commit, tag git and the image. Either all of it happens or none of it. One release action
    at a time per project: two tags at once would both record the same `previous`."""
    recovered = recover_release(checklist.manifest)
    if recovered:
        log(recovered)
        checklist.refresh()
    with project_lock(checklist.manifest.root, "release", "tagging a release", wait=0):
        return _create_release(checklist, version_text, log=log, cancel=cancel, detail=detail)


def _create_release(
    checklist: Checklist,
    version_text: str | None,
    *,
    log: Callable[[str], None],
    cancel: threading.Event | None,
    detail: Callable[[str], None] | None,
) -> Release:
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
    outside = files_not_in_git(manifest)
    if outside:
        raise WorkbenchError(
            "files that go into the image are in no commit: "
            + "; ".join(f"{r} is {why}" for r, why in list(outside.items())[:10])
            + ".",
            fix="add them to git (`git add -f FILE` for an ignored one) and commit; a release "
            "must be rebuildable from its tag.",
        )
    suggestion = suggest(manifest)
    registry_tags = None
    if manifest.registry:
        registry_tags = client_for(manifest.registry).manifest_digest
    version = validate_version(
        manifest, version_text or str(suggestion.version), suggestion, registry_tags
    )
    log(f"releasing {version} ({suggestion.reason}); testing the release candidate")
    session = serve_session(
        manifest,
        log=log,
        cancel=cancel or threading.Event(),
        version=str(version),
        tag=f"workbench/{manifest.name}:{version}",
        detail=detail,
    )
    checklist.record(session.results)
    checklist.require_gates(("serve",), f"release {version}: the release candidate image")
    assert session.image_id is not None  # the serve gates passed, so it was built
    quality = _no_regression(checklist, session.results, str(version), suggestion.previous)
    image_id = session.image_id
    client = docker_client()
    image = client.images.get(image_id)
    base = client.images.get(str(image.labels.get("org.opencontainers.image.base.name")))
    image_ref = (
        f"{manifest.registry}:{version}"
        if manifest.registry
        else f"workbench/{manifest.name}:{version}"
    )
    summaries = [s for s in checklist.summaries() if s.step in GATED_STEPS]
    readiness = checklist.readiness(summaries)
    revision = git.git(root, "rev-parse", "HEAD")
    pair = checklist.pair
    people = People(driver=pair[0], navigator=pair[1]) if pair else People(driver=checklist.driver)
    created = now()
    frozen = report.freeze(
        checklist,
        GATED_STEPS,
        {
            "version": str(version),
            "created": created,
            "by": people.driver + (f" with {people.navigator}" if people.navigator else ""),
            "revision": revision,
            "image": image_id,
        },
    )
    frozen_text = json.dumps(frozen, indent=1, ensure_ascii=False) + "\n"
    record = ReleaseRecord(
        version=str(version),
        created=created,
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
            files=release_hashes(manifest),
        ),
        base_image=BaseImageInfo(name=base.tags[0] if base.tags else "", id=str(base.id)),
        image=ImageInfo(ref=image_ref, id=image_id, tested_id=image_id),
        checklist=ChecklistAtRelease(
            readiness=round(readiness.fraction, 4),
            limited_by=readiness.limited_by,
            steps={
                s.step: StepScore(
                    score=s.score,
                    max=s.max_score,
                    fraction=round(s.fraction, 4),
                    status=s.status.value,
                )
                for s in summaries
            },
            frozen=frozen_checklist_path(manifest, version).name,
            frozen_sha256=sha256_text(frozen_text),
        ),
        waivers={
            k: WaiverInfo(reason=w.reason, by=w.by, at=w.at)
            for k, w in checklist.state.waivers.items()
        },
        quality=quality,
        released_by=people,
        push=PushInfo(),
    )
    message = (
        f"{manifest.name} {version}\n\n{suggestion.reason}\nimage {image_ref} "
        f"({image_id})\nreadiness of the gated steps {readiness}"
    )
    # One transaction: a kill -9 anywhere from here leaves a journal that the next command
    # uses to finish or undo the release (workbench.project.transaction).
    journal = transaction.Journal(
        version=str(version),
        tag=record.git.tag,
        start=revision,
        files=tuple(
            str(p.relative_to(root))
            for p in (release_path(manifest, version), frozen_checklist_path(manifest, version))
        ),
        staged=tuple(name for name in RELEASE_INPUTS if (root / name).exists()),
        image_id=image_id,
        image_ref=image_ref,
    )
    transaction.begin(manifest, journal)
    try:
        path = _commit_release(manifest, record, frozen_text, suggestion.reason, message)
        try:
            tag_image(image_id, image_ref)
        except WorkbenchError as exc:  # the engine refused: undo the git side too
            _undo_release(manifest, record, committed=True, tagged=True)
            raise WorkbenchError(
                f"{exc.message}; the release was undone.",
                fix="check the Docker engine, then tag again.",
            ) from None
    finally:
        transaction.end(manifest)  # whole, or undone: no journal (a kill -9 skips this)
    log(
        f"committed {git.prefix(root)}{path.relative_to(root)}, tagged "
        f"{tag_name(manifest, version)}, image {image_ref} ({image_id[:19]}, the tested image)"
    )
    return Release(version, path, tag_name(manifest, version), image_ref, image_id, record)


def tag_image(image_id: str, image_ref: str) -> None:
    """Give the tested image its release tag."""
    from docker.errors import DockerException

    repository, _, tag = image_ref.rpartition(":")
    try:
        docker_client().images.get(image_id).tag(repository, tag=tag)
    except DockerException as exc:
        raise WorkbenchError(f"tagging the image {image_ref} failed ({exc})") from None


def recover_release(manifest: Manifest) -> str | None:
    """Finish or undo a release that a killed command left half made; what was done."""
    if transaction.pending(manifest.root) is None:
        return None  # the common case: one stat, no engine asked
    return transaction.recover(manifest, tag_image)


def _no_regression(
    checklist: Checklist,
    results: dict[str, CheckResult],
    version: str,
    previous: SemVer | None,
) -> QualityInfo | None:
    """The candidate's quality; refused when worse than the previous release's beyond the
    tolerance, unless `tag.no-regression` was waived (with a reason) since that release."""
    quality = quality_from(results.get("serve.quality"))
    if quality is None or previous is None:
        return quality
    manifest = checklist.manifest
    before = load_release(manifest, str(previous))
    if before.quality is None:
        return quality
    why = regression(manifest, before.quality, quality, str(previous))
    waiver = checklist.state.waivers.get("tag.no-regression")
    if why and not waived_since(before, waiver.at if waiver else None):
        raise WorkbenchError(
            f"release {version} would be worse than the release before it: {why}.",
            fix="improve the model; or, if the trade is worth it, waive with a reason: "
            '`workbench waive tag.no-regression --reason "why"` (it goes into the release '
            "manifest), then tag again.",
        )
    return quality


def _commit_release(
    manifest: Manifest, record: ReleaseRecord, frozen_text: str, reason: str, message: str
) -> Path:
    """Write the manifest and the frozen checklist, commit, annotated-tag; undo on failure."""
    root = manifest.root
    version = record.version
    committed = tagged = False
    try:
        frozen = frozen_checklist_path(manifest, version)
        write_text_atomic(frozen, frozen_text)
        path = save_release(manifest, record)
        to_add = [str(path.relative_to(root)), str(frozen.relative_to(root))]
        to_add += [name for name in RELEASE_INPUTS if (root / name).exists()]
        git.git(root, "add", "--", *to_add)
        git.git(
            root,
            "commit",
            "--quiet",
            "-m",
            f"release {manifest.name} {version}",
            "-m",
            f"{reason}\n\nReleased by {record.released_by.driver} with workbench.",
        )
        committed = True
        git.git(root, "tag", "--annotate", record.git.tag, "-m", message)
        tagged = True
    except BaseException:
        _undo_release(manifest, record, committed=committed, tagged=tagged)
        raise
    return path


def _undo_release(
    manifest: Manifest, record: ReleaseRecord, *, committed: bool, tagged: bool
) -> None:
    """Leave nothing of a release that did not complete: no tag, no commit, no manifest."""
    root = manifest.root
    if tagged:
        git.run(root, "tag", "--delete", record.git.tag)
    if committed:
        git.run(root, "reset", "--quiet", "--soft", "HEAD~1")
    paths = [
        release_path(manifest, record.version),
        frozen_checklist_path(manifest, record.version),
    ]
    relative = [str(p.relative_to(root)) for p in paths]
    git.run(root, "reset", "--quiet", "--", *relative, *RELEASE_INPUTS)
    for written in paths:
        written.unlink(missing_ok=True)
