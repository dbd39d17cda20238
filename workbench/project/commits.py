"""Committing the project's changes (the TUI's commit, `C`): what changed in the project
folder, which of those files are the workbench's own (written by it: the lock, the
snapshot record, the checklist, the release history), so a person sees them apart from
their own, and one commit of the project folder with a message."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest

OWN = ("environment.lock", "snapshot.yaml", "checklist.yaml", "releases/")
STATES = {"M": "modified", "A": "added", "D": "deleted", "R": "renamed", "?": "new"}


@dataclass(frozen=True)
class Change:
    path: str  # relative to the project folder
    state: str  # modified | added | deleted | renamed | new
    own: bool  # a file the workbench writes


def changes(manifest: Manifest) -> list[Change]:
    """Every changed, added, deleted or new file of the project folder (git's view)."""
    root = manifest.root
    if not git.is_repository(root):
        raise WorkbenchError(
            f"{root} is not in a git repository: there is nothing to commit to.",
            fix="make it one: `git init && git add . && git commit -m 'the model'`.",
        )
    inside = git.prefix(root)
    found = []
    for line in git.status(root).splitlines():
        if len(line) < 4:
            continue
        code, path = line[:2].strip() or "M", line[3:]
        path = path.split(" -> ")[-1].strip('"').removeprefix(inside)
        state = STATES.get(code[0], "modified")
        found.append(Change(path, state, path.startswith(OWN)))
    return found


def suggested_message(found: list[Change]) -> str:
    """A message for the workbench's own files alone (a person writes theirs)."""
    if not found or not all(change.own for change in found):
        return ""
    names = sorted({change.path.split("/")[0].removesuffix(".yaml") for change in found})
    return f"workbench: {', '.join(names)}"


def commit(manifest: Manifest, message: str) -> str:
    """Commit every change of the project folder with `message`; the new commit's short id."""
    message = message.strip()
    if not message:
        raise WorkbenchError(
            "a commit needs a message.", fix="say what changed, e.g. 'a clearer description'."
        )
    if not changes(manifest):
        raise WorkbenchError(
            f"nothing to commit in {manifest.root}: every file is as committed.",
            fix="change something first, or go on: the working state is the committed one.",
        )
    git.git(manifest.root, "add", "--all", "--", ".")
    git.git(manifest.root, "commit", "-q", "-m", message, "--", ".")
    return git.git(manifest.root, "rev-parse", "--short", "HEAD")
