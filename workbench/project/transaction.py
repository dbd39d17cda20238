"""A release as one transaction that survives kill -9.

Before the first file of a release is written, a journal (`.workbench/release-in-progress.json`:
the version, its tag, the commit it starts from, the image to tag) says a release is under
way; it is removed only once the manifest is committed, the annotated tag made and the image
tagged. While the journal names a version, readers do not count it as released (no phantom
`previous`, no "not higher than the last release"). A command that finds a journal nobody
holds (the `release` lock is released by the kernel when its holder dies) finishes the
release when git holds all of it, or undoes what was done, and says which.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.kernel import git
from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import Busy, project_lock
from workbench.project.manifest import Manifest
from workbench.project.semver import SemVer

JOURNAL = "release-in-progress.json"


@dataclass(frozen=True)
class Journal:
    version: str
    tag: str
    start: str  # the commit HEAD was at before the release
    files: tuple[str, ...]  # the release's files, relative to the project
    staged: tuple[str, ...]  # what the release commit adds besides them (the checklist ...)
    image_id: str
    image_ref: str


def journal_path(root: Path) -> Path:
    return root / ".workbench" / JOURNAL


def begin(manifest: Manifest, journal: Journal) -> None:
    write_text_atomic(
        journal_path(manifest.root),
        json.dumps(asdict(journal), indent=1),
        within=manifest.root,
        what="the release journal",
    )


def end(manifest: Manifest) -> None:
    journal_path(manifest.root).unlink(missing_ok=True)


# Every file a release writes (held in step with release.py by test_transaction_journal.py).
RELEASE_FILE = re.compile(
    r"^releases/(?P<version>[^/]+)\.(?:yaml|checklist\.json|sbom\.cdx\.json|provenance\.json)$"
)
STAGED_FILES = ("checklist.yaml", "snapshot.yaml", "environment.lock")


def pending(root: Path) -> Journal | None:
    """The release under way or interrupted, or None. A journal is acted on only when it is
    one the workbench could have written: a regular file in its own scratch (no symlink),
    naming a version and nothing but that version's release files and the files a release
    commit stages. A repository that commits a hand-made journal (`"files":
    ["../victim"]`) gets it ignored, never obeyed."""
    path = journal_path(root)
    if path.is_symlink() or path.parent.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        journal = Journal(
            **{**data, "files": tuple(data["files"]), "staged": tuple(data["staged"])}
        )
        SemVer.parse(journal.version)
    except (OSError, ValueError, TypeError, KeyError, WorkbenchError):
        return None  # a torn journal cannot be written (atomic): not ours, ignored
    for relative in journal.files:
        match = RELEASE_FILE.match(relative)
        if match is None or match.group("version") != journal.version:
            return None
    if not set(journal.staged) <= set(STAGED_FILES):
        return None
    return journal


def in_progress_version(root: Path) -> str | None:
    journal = pending(root)
    return journal.version if journal else None


def _complete_in_git(root: Path, journal: Journal) -> bool:
    """Git holds the whole release: its annotated tag, on a commit holding every file, which
    HEAD descends from."""
    if git.run(root, "cat-file", "-t", journal.tag).stdout.strip() != "tag":
        return False
    prefix = git.prefix(root)
    for relative in journal.files:
        if not git.run(root, "cat-file", "-e", f"{journal.tag}:{prefix}{relative}").ok:
            return False
    return git.run(root, "merge-base", "--is-ancestor", journal.tag, "HEAD").ok


def _is_release_commit(manifest: Manifest, revision: str, version: str) -> bool:
    subject = git.run(manifest.root, "log", "-1", "--format=%s", revision).stdout.strip()
    return subject == f"release {manifest.name} {version}"


def undo(manifest: Manifest, journal: Journal) -> None:
    """Leave nothing of the release: no tag, no release commit, no release file. Only what
    this release made is touched: a tag is deleted only when it is the version's own and
    points at this release's commit."""
    root = manifest.root
    if journal.tag != f"{manifest.release.tag_prefix}{journal.version}":
        return
    git.remove_stale_git_locks(root)
    if git.run(root, "rev-parse", "-q", "--verify", f"refs/tags/{journal.tag}").ok and (
        _is_release_commit(manifest, f"{journal.tag}^{{commit}}", journal.version)
    ):
        git.run(root, "tag", "--delete", journal.tag)
    head = git.run(root, "rev-parse", "HEAD").stdout.strip()
    if head and head != journal.start:
        parent = git.run(root, "rev-parse", "HEAD~1").stdout.strip()
        if parent == journal.start and _is_release_commit(manifest, "HEAD", journal.version):
            git.run(root, "reset", "--quiet", "--soft", journal.start)
    git.run(root, "reset", "--quiet", "--", *journal.files, *journal.staged)
    for relative in journal.files:
        (root / relative).unlink(missing_ok=True)


def recover(manifest: Manifest, tag_image: Callable[[str, str], None] | None = None) -> str | None:
    """Finish or undo a release a killed command left behind; what was done, or None.

    `tag_image(image_id, ref)` tags the image when git holds the whole release; when it
    cannot (no engine), the journal stays and the release stays invisible until a later
    command can."""
    journal = pending(manifest.root)
    if journal is None:
        return None
    try:
        with project_lock(manifest.root, "release", "finishing an interrupted release", wait=0):
            journal = pending(manifest.root)  # re-read under the lock
            if journal is None:
                return None
            if _complete_in_git(manifest.root, journal):
                if tag_image is not None:
                    try:
                        tag_image(journal.image_id, journal.image_ref)
                    except WorkbenchError as exc:
                        return (
                            f"release {journal.version} was interrupted after its commit and "
                            f"tag; its image could not be tagged yet ({exc.message}): run the "
                            "command again once the engine answers."
                        )
                end(manifest)
                return (
                    f"release {journal.version} was interrupted after its commit and tag: "
                    f"it is whole, and finished now ({journal.tag}, image {journal.image_ref})."
                )
            undo(manifest, journal)
            end(manifest)
            return (
                f"release {journal.version} was interrupted before it was whole: undone (no "
                f"tag, no commit, no release file of it is left); tag again."
            )
    except Busy:
        return None  # a release is being made right now: it is not interrupted
