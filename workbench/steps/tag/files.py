"""The project files a release is made of, and what git holds of the project.

Every file the image build copies from the project (the model's artifact, its
predictor module and `model.code` files and folders, the lock, the schemas, the source
files of the project's own packages that their locked wheels were built from) and
every file that decides what the serve test measured and what the image learns
of its traffic (the example requests, the held-out data, the expectations) is
hashed in the release manifest, one hash per file, and must be in the tagged
commit: a file the build copies but git does not hold (ignored by a
`.gitignore`, or never added) is in the image and in no commit, so nobody could
rebuild or audit the release from its tag.

Beside them, what the tag items read of the working tree: its uncommitted changes and
its content fingerprint, both leaving out the workbench's own files (its bookkeeping
and the Kubernetes files `workbench deploy` writes).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from pathlib import Path

from workbench.checklist.state import STATE_NAME
from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest, sha256_text
from workbench.project.lockfile import LOCK_NAME, SNAPSHOT_NAME, read_snapshot
from workbench.project.manifest import Manifest
from workbench.project.model_files import NOT_COPIED, model_sources
from workbench.project.releases import BOOKKEEPING, load_deployments
from workbench.steps.snapshot.sources import within

# Written by the workbench and committed with each release.
RELEASE_INPUTS = (STATE_NAME, SNAPSHOT_NAME, LOCK_NAME)
# Everything the workbench writes itself: never "a change" of the project's content.
WORKBENCH_FILES = tuple(dict.fromkeys((*RELEASE_INPUTS, *BOOKKEEPING)))


def _relative(manifest: Manifest, path: Path) -> str:
    return Path(os.path.relpath(path, manifest.root)).as_posix()


def _files_under(folder: Path) -> list[Path]:
    """The files of a folder the build copies (bytecode, .git, .venv ... left out)."""
    out = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(
            fnmatch.fnmatch(part, pattern) for part in parts for pattern in NOT_COPIED
        ):
            out.append(path)
    return out


def package_files(manifest: Manifest) -> list[Path]:
    """The files of the project's own packages (installed editable from a folder in the
    project) that the snapshot found their wheels built from: the image runs them as much
    as the model's files (a git-ignored module of the package shipped in no commit)."""
    try:
        snap = read_snapshot(manifest.root)
    except WorkbenchError:
        return []  # the snapshot's own checks say why
    out: list[Path] = []
    for entry in snap.runtime.values():
        folder = within(manifest.root, entry.local.location) if entry.local else None
        if entry.local is not None and folder is not None:
            out += [p for r in entry.local.files if (p := within(folder, r)) is not None]
    return out


def package_relatives(manifest: Manifest) -> set[str]:
    """`package_files`, relative to the project."""
    return {_relative(manifest, path) for path in package_files(manifest)}


def release_files(manifest: Manifest) -> dict[str, Path]:
    """Every project file a release is made of, by its path relative to the project (a
    folder is listed file by file); files that do not exist are left out (the checks that
    need them say so)."""
    m = manifest
    paths = [m.root / LOCK_NAME, m.resolve(m.schema.request), m.resolve(m.schema.response)]
    paths += [source for source, _ in model_sources(m)]
    paths += package_files(m)
    paths.append(m.resolve(m.schema.examples))
    if m.evaluation is not None:
        paths.append(m.resolve(m.evaluation.data))
        if m.evaluation.expectations:
            paths.append(m.resolve(m.evaluation.expectations))
    found: dict[str, Path] = {}
    for path in paths:
        for file in _files_under(path) if path.is_dir() else [path] if path.is_file() else []:
            found.setdefault(_relative(m, file), file)
    return dict(sorted(found.items()))


def release_hashes(manifest: Manifest) -> dict[str, str]:
    """sha256 of each file of `release_files`, by relative path."""
    return {relative: file_digest(path) for relative, path in release_files(manifest).items()}


def not_in_git(manifest: Manifest, relatives: list[str]) -> dict[str, str]:
    """Which of these project files git does not track, each with why: the ignore rule that
    hides it (`ignored by .gitignore:3 (*.py)`) or `untracked (never added)`."""
    if not relatives:
        return {}
    root = manifest.root
    # Files of a submodule are tracked by its own repository (the project pins its commit).
    listed = git.run(root, "ls-files", "-z", "--recurse-submodules", "--", *relatives, strip=False)
    tracked = set(listed.stdout.split("\0")) if listed.ok else set()
    missing = [r for r in relatives if r not in tracked]
    if not missing:
        return {}
    rules: dict[str, str] = {}
    checked = git.run(root, "check-ignore", "--verbose", "--", *missing)
    for line in checked.stdout.splitlines():  # SOURCE:LINE:PATTERN<TAB>PATH
        rule, _, path = line.partition("\t")
        source, _, rest = rule.partition(":")
        number, _, pattern = rest.partition(":")
        rules[path.strip('"')] = f"ignored by {source}:{number} ({pattern})"
    return {r: rules.get(r, "untracked (never added to git)") for r in missing}


def deploy_outputs(manifest: Manifest) -> set[str]:
    """The files `workbench deploy --target kubernetes` wrote (as recorded in the deployment
    history): the workbench's own output, never a change of what a release is made of."""
    return {path for deployment in load_deployments(manifest) for path in deployment.files}


def _own(manifest: Manifest) -> Callable[[str], bool]:
    """Whether a project path is the workbench's own: its files and its deploy outputs."""
    outputs = deploy_outputs(manifest)
    return lambda relative: (
        relative.startswith(WORKBENCH_FILES) or relative in outputs or stray_temp(relative)
    )


def stray_temp(relative: str) -> bool:
    """A temporary file of an atomic write of the workbench's own (`.checklist.yaml.x1y2.tmp`)
    that a killed command left: never a change of the project, never blocking a release."""
    folder, _, name = relative.rpartition("/")
    if not (name.startswith(".") and name.endswith(".tmp")):
        return False
    target = name[1:].rsplit(".", 2)[0]  # .NAME.RANDOM.tmp -> NAME
    return f"{folder}/{target}".lstrip("/").startswith(WORKBENCH_FILES)


def dirty_files(manifest: Manifest) -> list[str]:
    """Uncommitted changes in the project, apart from the files the workbench writes."""
    if not git.is_repository(manifest.root):
        raise WorkbenchError(
            f"{manifest.root} is not in a git repository, so its changes cannot be listed.",
            fix="`git init` and commit the project.",
        )
    prefix = git.prefix(manifest.root)
    own = _own(manifest)
    # Not stripped: the first column of a porcelain line may be a space.
    status = git.status(manifest.root)
    out = []
    for line in status.splitlines():
        path = line[3:].strip().strip('"')
        relative = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        if not own(relative):
            out.append(relative)
    return out


def files_not_in_git(manifest: Manifest) -> dict[str, str]:
    """The files a release is made of (the image's included) that git does not track, apart
    from the workbench's own (the lock is committed with the release), each with why."""
    own = _own(manifest)
    relatives = [r for r in release_files(manifest) if not own(r)]
    return not_in_git(manifest, relatives)


def commit_problem(manifest: Manifest) -> WorkbenchError | None:
    """Why a release could not point at a commit holding every file of the image (its
    uncommitted changes, or files git ignores or never added), or None: what `tag` refuses
    before it builds anything, and `tag --dry-run` says the same."""
    dirty = dirty_files(manifest)
    if dirty:
        return WorkbenchError(
            "the git tree has uncommitted changes: " + ", ".join(dirty[:10]) + ".",
            fix="commit or stash them; a release points at a commit.",
        )
    outside = files_not_in_git(manifest)
    if outside:
        return WorkbenchError(
            "files the release is made of (what the image is built from, what its tests "
            "read) are in no commit: "
            + "; ".join(f"{r} is {why}" for r, why in list(outside.items())[:10])
            + ".",
            fix="add them to git (`git add -f FILE` for an ignored one) and commit; a release "
            "must be rebuildable from its tag.",
        )
    return None


def content_fingerprint(manifest: Manifest) -> str:
    """What the project holds apart from the workbench's own files: the blobs of HEAD's tree,
    the uncommitted changes, and the files a release is made of that git does not hold (an
    ignored predictor goes into the image too). A release commit, a channel move, a check run
    or written deploy files (which only touch the workbench's files) leave it as it was."""
    root = manifest.root
    if not git.is_repository(root):
        return "no repository"
    own = _own(manifest)
    tree = git.run(root, "ls-tree", "-r", "HEAD", "--", ".")
    lines = []
    for line in tree.stdout.splitlines() if tree.ok else []:
        _, _, path = line.partition("\t")
        if not own(path):
            lines.append(line)
    lines += [f"dirty {path}" for path in dirty_files(manifest)]
    try:
        outside = files_not_in_git(manifest)
    except WorkbenchError as exc:  # e.g. the predictor module is missing: itself a state
        lines.append(f"unlisted {exc.message}")
    else:
        lines += [f"not in git {r} {file_digest(manifest.resolve(r))}" for r in outside]
    return sha256_text("\n".join(lines))
