"""The release record: what `releases/<version>.yaml` and its frozen checklist say.

A pure function of what was found out before it: the gate report (after the release
candidate's serve test was recorded), the candidate image, the git facts and the hashes of
the files that went into the image. Reading those facts (Docker, git, files) and committing
the record (`release.py`) happen elsewhere, so what a release says can be tested apart
from how it is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.checklist.frozen import FrozenChecklist, ReleaseFacts
from workbench.checklist.gate import GateReport
from workbench.kernel.hashing import file_digest, sha256_text
from workbench.project.lockfile import LOCK_NAME
from workbench.project.manifest import Manifest
from workbench.project.records import (
    AdvisoriesAtRelease,
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
from workbench.project.releases import frozen_checklist_path, tag_name
from workbench.project.semver import SemVer
from workbench.steps.tag.files import release_hashes
from workbench.steps.tag.version import Suggestion

# The steps whose gate items a release needs passing (or waived); frozen with it.
GATED_STEPS = ("snapshot", "schema", "serve")


@dataclass(frozen=True)
class Candidate:
    """The release candidate image the serve test ran, and the image it was built on."""

    image_id: str
    image_ref: str  # the tag it gets: the registry's, or a local one
    base_name: str
    base_id: str
    quality: QualityInfo | None = None  # what serve.quality measured, when it measured


@dataclass(frozen=True)
class GitFacts:
    revision: str  # the commit the release is made from
    created: str  # when the release was made


@dataclass(frozen=True)
class Built:
    """A release as it will be committed: its record and its frozen checklist's bytes."""

    record: ReleaseRecord
    frozen: FrozenChecklist
    frozen_text: str
    message: str  # the annotated tag's message


def image_ref(manifest: Manifest, version: SemVer) -> str:
    if manifest.registry:
        return f"{manifest.registry}:{version}"
    return f"workbench/{manifest.name}:{version}"


def hashes_of(manifest: Manifest) -> Hashes:
    """The sha256 of every file the image holds, as they are now (committed: not dirty)."""
    return Hashes(
        lock=file_digest(manifest.root / LOCK_NAME),
        request_schema=file_digest(manifest.resolve(manifest.schema.request)),
        response_schema=file_digest(manifest.resolve(manifest.schema.response)),
        artifacts={
            relative: file_digest(manifest.resolve(relative))
            for relative in ([manifest.model.artifact] if manifest.model.artifact else [])
        },
        files=release_hashes(manifest),
    )


def build_release(
    manifest: Manifest,
    version: SemVer,
    suggestion: Suggestion,
    report: GateReport,
    candidate: Candidate,
    facts: GitFacts,
    hashes: Hashes,
    advisories: AdvisoriesAtRelease | None = None,
) -> Built:
    """The release record and its frozen checklist; nothing is read or written here."""
    people = People(driver=report.driver, navigator=report.navigator)
    frozen = report.freeze(
        ReleaseFacts(
            version=str(version),
            created=facts.created,
            by=report.by,
            revision=facts.revision,
            image=candidate.image_id,
        )
    )
    frozen_text = frozen.text()
    previous = suggestion.previous
    record = ReleaseRecord(
        version=str(version),
        created=facts.created,
        git=GitInfo(revision=facts.revision, tag=tag_name(manifest, version)),
        previous=str(previous) if previous else None,
        bump=BumpInfo(
            level=version.level_from(previous) if previous else "major",
            suggested=str(suggestion.version),
            reason=suggestion.reason,
            changes=[f"{c.kind}: {c.where} {c.path}: {c.what}" for c in suggestion.changes],
        ),
        hashes=hashes,
        base_image=BaseImageInfo(name=candidate.base_name, id=candidate.base_id),
        image=ImageInfo(
            ref=candidate.image_ref, id=candidate.image_id, tested_id=candidate.image_id
        ),
        checklist=_checklist_at_release(manifest, version, report, frozen_text),
        waivers={
            k: WaiverInfo(reason=w.reason, by=w.by, at=w.at) for k, w in report.waivers.items()
        },
        quality=candidate.quality,
        released_by=people,
        push=PushInfo(),
        advisories=advisories,
    )
    message = (
        f"{manifest.name} {version}\n\n{suggestion.reason}\nimage {candidate.image_ref} "
        f"({candidate.image_id})\nreadiness of the gated steps {report.readiness}"
    )
    return Built(record, frozen, frozen_text, message)


def _checklist_at_release(
    manifest: Manifest, version: SemVer, report: GateReport, frozen_text: str
) -> ChecklistAtRelease:
    return ChecklistAtRelease(
        readiness=round(report.readiness.fraction, 4),
        limited_by=report.readiness.limited_by,
        steps={
            s.step: StepScore(
                score=s.score,
                max=s.max_score,
                fraction=round(s.fraction, 4),
                status=s.status.value,
            )
            for s in report.summaries
        },
        frozen=frozen_checklist_path(manifest, version).name,
        frozen_sha256=sha256_text(frozen_text),
    )
