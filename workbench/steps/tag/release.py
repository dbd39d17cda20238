"""Step 4, Tag: a semver release with a manifest, an annotated git tag and image tags.

Tag asks the checklist through the gate port (`workbench.checklist.gate`), never its
engine: a `GateReport` before anything is built, the results of the release candidate's
serve test recorded, a second report frozen into the release. What the release says is
built by `record.build_release`, a pure function; this module reads the facts it needs
(git, Docker) and commits the result as one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from workbench.checklist.checks import CheckResult
from workbench.checklist.gate import Gatekeeper, GateReport
from workbench.kernel import git
from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.clock import now
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_text
from workbench.kernel.lock import project_lock
from workbench.kernel.oci import client_for
from workbench.project import transaction
from workbench.project.manifest import Manifest
from workbench.project.records import Hashes, QualityInfo, ReleaseRecord
from workbench.project.releases import (
    frozen_checklist_path,
    release_path,
    save_release,
)
from workbench.project.semver import SemVer
from workbench.steps.serve.session import serve_session
from workbench.steps.tag.advisories import require_no_advisories
from workbench.steps.tag.files import RELEASE_INPUTS, commit_problem
from workbench.steps.tag.provenance import build_provenance, provenance_path
from workbench.steps.tag.record import (
    GATED_STEPS,
    Built,
    Candidate,
    GitFacts,
    build_release,
    hashes_of,
    image_ref,
)
from workbench.steps.tag.recovery import recover_release, tag_image
from workbench.steps.tag.regression import (
    held_to,
    quality_from,
    regression,
    same_data,
    waived_since,
)
from workbench.steps.tag.sbom import build_sbom, image_inventory, sbom_path
from workbench.steps.tag.version import Suggestion, suggest, validate_version

__all__ = [
    "GATED_STEPS",
    "Release",
    "Suggestion",
    "create_release",
    "recover_release",
    "suggest",
    "tag_image",
    "validate_version",
]


@dataclass
class Release:
    version: SemVer
    path: Path
    tag: str
    image_ref: str
    image_id: str
    record: ReleaseRecord


def create_release(
    gate: Gatekeeper,
    version_text: str | None = None,
    *,
    suggestion: Suggestion | None = None,
    log: Callable[[str], None] = lambda _: None,
    cancel: threading.Event | None = None,
    detail: Callable[[str], None] | None = None,
    phase: Callable[[str], None] = lambda _: None,
) -> Release:
    """Release the image that was tested: check the gates, build the release candidate and
    run the whole serve test on it, freeze the checklist, then write releases/<version>.yaml,
    commit, tag git and the image. Either all of it happens or none of it. One release action
    at a time per project: two tags at once would both record the same `previous`.

    `suggestion` is the one the caller already showed (it is worked out once per tag),
    unless a release a killed command left half made is finished or undone first. `phase`
    hears each part as it starts: the serve test's items on the candidate, then "attest"
    and "commit"."""
    recovered = recover_release(gate.manifest)
    if recovered:
        log(recovered)
        suggestion = None  # the last release may have changed: suggested again
    with project_lock(gate.manifest.root, "release", "tagging a release", wait=0):
        return _create_release(
            gate, version_text, suggestion, log=log, cancel=cancel, detail=detail, phase=phase
        )


def _create_release(
    gate: Gatekeeper,
    version_text: str | None,
    suggestion: Suggestion | None,
    *,
    log: Callable[[str], None],
    cancel: threading.Event | None,
    detail: Callable[[str], None] | None,
    phase: Callable[[str], None],
) -> Release:
    manifest = gate.manifest
    if not git.is_repository(manifest.root):
        raise WorkbenchError(
            f"{manifest.root} is not in a git repository.",
            fix="`git init`, commit the project, then tag.",
        )
    waived = gate.gate_report(GATED_STEPS).require("tag a release").waiver("tag.vulnerabilities")
    advisories = require_no_advisories(manifest, waived is not None)
    _require_committed(manifest)
    suggestion = suggestion or suggest(manifest)
    registry_tags = client_for(manifest.registry).manifest_digest if manifest.registry else None
    version = validate_version(
        manifest, version_text or str(suggestion.version), suggestion, registry_tags
    )
    before = hashes_of(manifest)  # what the candidate is built from
    started = now()
    log(f"releasing {version} ({suggestion.reason}); testing the release candidate")
    session = serve_session(
        manifest,
        log=log,
        cancel=cancel or threading.Event(),
        version=str(version),
        tag=f"workbench/{manifest.name}:{version}",
        detail=detail,
        phase=phase,
    )
    gate.record(session.results)
    gate.require(("serve",), f"release {version}: the release candidate image")
    report = gate.require(GATED_STEPS, f"release {version}")
    assert session.image_id is not None  # the serve gates passed, so it was built
    quality = _no_regression(manifest, report, session.results, version, suggestion.previous)
    candidate = _candidate(manifest, version, session.image_id, quality)
    _require_unchanged(manifest, before)
    facts = GitFacts(revision=git.git(manifest.root, "rev-parse", "HEAD"), created=now())
    phase("attest")
    log("reading the tested image for its bill of materials; writing its provenance")
    documents, hashes = _attestations(manifest, str(version), candidate, facts, started)
    built = build_release(
        manifest, version, suggestion, report, candidate, facts, hashes, advisories
    )
    phase("commit")
    path = _commit_transaction(manifest, built, suggestion.reason, documents)
    log(
        f"committed {git.prefix(manifest.root)}{path.relative_to(manifest.root)}, tagged "
        f"{built.record.git.tag}, image {candidate.image_ref} ({candidate.image_id[:19]}, "
        "the tested image)"
    )
    return Release(
        version, path, built.record.git.tag, candidate.image_ref, candidate.image_id, built.record
    )


def _attestations(
    manifest: Manifest, version: str, candidate: Candidate, facts: GitFacts, started: str
) -> tuple[dict[Path, str], Hashes]:
    """The release's SBOM (read from the tested image) and SLSA provenance, and the hashes
    with both added, so `tag.manifest-complete` and `workbench verify` read them back."""
    hashes = hashes_of(manifest)
    sbom = build_sbom(
        manifest,
        version,
        candidate.image_id,
        facts.created,
        image_inventory(manifest, candidate.image_id),
        hashes.files,
    )
    provenance = build_provenance(
        manifest,
        version=version,
        image_ref=candidate.image_ref,
        image_id=candidate.image_id,
        base=(candidate.base_name, candidate.base_id),
        revision=facts.revision,
        lock_sha256=hashes.lock,
        started=started,
        finished=facts.created,
    )
    documents = {
        sbom_path(manifest, version): sbom,
        provenance_path(manifest, version): provenance,
    }
    files = {_relative(manifest, where): sha256_text(text) for where, text in documents.items()}
    return documents, msgspec.structs.replace(hashes, files={**hashes.files, **files})


def _require_unchanged(manifest: Manifest, before: Hashes) -> None:
    """The files did not change while the candidate was built and tested: the release must
    hash, and commit, exactly what the tested image was built from."""
    _require_committed(manifest)
    now_hashes = hashes_of(manifest)
    if now_hashes != before:
        changed = sorted(
            r
            for r in set(before.files) | set(now_hashes.files)
            if before.files.get(r) != now_hashes.files.get(r)
        ) or ["environment.lock or the schemas"]
        raise WorkbenchError(
            "files changed while the release candidate was built and tested: "
            + ", ".join(changed[:10])
            + "; the tested image is not what they say now, so nothing was released.",
            fix="leave the project alone while `tag` runs, commit, then tag again.",
        )


def _require_committed(manifest: Manifest) -> None:
    """A release points at a commit that holds every file of the image."""
    problem = commit_problem(manifest)
    if problem is not None:
        raise problem


def _candidate(
    manifest: Manifest, version: SemVer, image_id: str, quality: QualityInfo | None
) -> Candidate:
    """The tested image and its base, as the engine describes them."""
    client = docker_client()
    image = client.images.get(image_id)
    base = client.images.get(str(image.labels.get("org.opencontainers.image.base.name")))
    return Candidate(
        image_id=image_id,
        image_ref=image_ref(manifest, version),
        base_name=base.tags[0] if base.tags else "",
        base_id=str(base.id),
        quality=quality,
    )


def _relative(manifest: Manifest, path: Path) -> str:
    return str(path.relative_to(manifest.root))


def _commit_transaction(
    manifest: Manifest, built: Built, reason: str, extra: dict[Path, str]
) -> Path:
    """Commit the release and tag the image as one transaction: a kill -9 anywhere from here
    leaves a journal that the next command uses to finish or undo the release
    (workbench.project.transaction)."""
    root, record = manifest.root, built.record
    git.remove_stale_git_locks(root)  # a git killed earlier (a status, a commit) left it
    journal = transaction.Journal(
        version=record.version,
        tag=record.git.tag,
        start=record.git.revision,
        files=tuple(
            str(p.relative_to(root))
            for p in (
                release_path(manifest, record.version),
                frozen_checklist_path(manifest, record.version),
                *extra,
            )
        ),
        staged=tuple(name for name in RELEASE_INPUTS if (root / name).exists()),
        image_id=record.image.id,
        image_ref=record.image.ref,
    )
    transaction.begin(manifest, journal)
    try:
        path = _commit_release(manifest, record, built.frozen_text, reason, built.message, extra)
        try:
            tag_image(record.image.id, record.image.ref)
        except WorkbenchError as exc:  # the engine refused: undo the git side too
            _undo_release(manifest, record, committed=True, tagged=True, extra=list(extra))
            raise WorkbenchError(
                f"{exc.message}; the release was undone.",
                fix="check the Docker engine, then tag again.",
            ) from None
        except BaseException:  # Ctrl-C while the image is tagged: no half release is left
            _undo_release(manifest, record, committed=True, tagged=True, extra=list(extra))
            raise
    finally:
        transaction.end(manifest)  # whole, or undone: no journal (a kill -9 skips this)
    return path


def _no_regression(
    manifest: Manifest,
    report: GateReport,
    results: dict[str, CheckResult],
    version: SemVer,
    previous: SemVer | None,
) -> QualityInfo | None:
    """The candidate's quality; refused when worse than the previous release's beyond the
    tolerance, unless `tag.no-regression` was waived (with a reason) since that release."""
    quality = quality_from(results.get("serve.quality"))
    held = held_to(manifest) if previous is not None else None
    if quality is None or held is None:
        return quality
    baseline, before, latest = held  # the best since the last accepted drop
    why = regression(manifest, before, quality, baseline)
    waiver = report.waiver("tag.no-regression")
    if why and not waived_since(latest, waiver.at if waiver else None):
        comparable = before.metric == quality.metric
        raise WorkbenchError(
            (
                f"release {version} would be worse than the release before it: {why}."
                if str(previous) == baseline
                else f"release {version} would be worse than release {baseline}, the best "
                f"since the last accepted drop: {why}."
            )
            if comparable and same_data(before, quality)
            else f"release {version} cannot be compared with the release before it: {why}.",
            fix="improve the model (or measure it by the metric, on the held-out data, the "
            "last release used); or, if the trade is worth it, waive with a reason: "
            '`workbench waive tag.no-regression --reason "why"` (it goes into the release '
            "manifest), then tag again.",
        )
    return quality


def _commit_release(
    manifest: Manifest,
    record: ReleaseRecord,
    frozen_text: str,
    reason: str,
    message: str,
    extra: dict[Path, str] | None = None,
) -> Path:
    """Write the manifest, the frozen checklist and the release's other files (its SBOM),
    commit, annotated-tag; undo on failure."""
    root = manifest.root
    version = record.version
    extra = extra or {}
    committed = tagged = False
    try:
        frozen = frozen_checklist_path(manifest, version)
        write_text_atomic(frozen, frozen_text, within=root, what="the frozen checklist")
        for where, text in extra.items():
            write_text_atomic(where, text, within=root, what=where.name)
        path = save_release(manifest, record)
        to_add = [str(path.relative_to(root)), str(frozen.relative_to(root))]
        to_add += [str(where.relative_to(root)) for where in extra]
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
        _undo_release(manifest, record, committed=committed, tagged=tagged, extra=list(extra))
        raise
    return path


def _undo_release(
    manifest: Manifest,
    record: ReleaseRecord,
    *,
    committed: bool,
    tagged: bool,
    extra: list[Path] | None = None,
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
        *(extra or []),
    ]
    relative = [str(p.relative_to(root)) for p in paths]
    git.run(root, "reset", "--quiet", "--", *relative, *RELEASE_INPUTS)
    for written in paths:
        written.unlink(missing_ok=True)
