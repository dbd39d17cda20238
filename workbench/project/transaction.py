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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.kernel import git
from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import Busy, project_lock
from workbench.project.manifest import Manifest

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


def pending(root: Path) -> Journal | None:
    """The release under way or interrupted, or None."""
    try:
        data = json.loads(journal_path(root).read_text())
        return Journal(**{**data, "files": tuple(data["files"]), "staged": tuple(data["staged"])})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError):
        return None  # a torn journal cannot be written (atomic): not ours, ignored


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


def undo(manifest: Manifest, journal: Journal) -> None:
    """Leave nothing of the release: no tag, no release commit, no release file."""
    root = manifest.root
    if git.run(root, "rev-parse", "-q", "--verify", f"refs/tags/{journal.tag}").ok:
        git.run(root, "tag", "--delete", journal.tag)
    head = git.run(root, "rev-parse", "HEAD").stdout.strip()
    if head and head != journal.start:
        parent = git.run(root, "rev-parse", "HEAD~1").stdout.strip()
        subject = git.run(root, "log", "-1", "--format=%s").stdout.strip()
        if parent == journal.start and subject == f"release {manifest.name} {journal.version}":
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
