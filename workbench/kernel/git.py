"""Git through GitPython: one place for the repository, its timeouts and its failures.

Every command runs with `GIT_OPTIONAL_LOCKS=0`, so read-only calls (status,
rev-parse, show) never take `.git/index.lock`: a killed `workbench check` cannot
leave a lock behind that makes the next commit fail.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from workbench.kernel import commands
from workbench.kernel.errors import WorkbenchError

# GitPython looks for the git program when imported; without one it must not fail
# at import (the error comes, clearly, when a command runs).
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

TIMEOUT = 60.0
_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}


@dataclass(frozen=True)
class Outcome:
    """What one git command did: its exit code, output and error text."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(root: Path, *args: str, timeout: float = TIMEOUT, strip: bool = True) -> Outcome:
    """`git ARGS` in `root`; never raises for a non-zero exit (git missing: exit 127)."""
    import git as gitpython  # GitPython: ~70 ms to import, only where git is used

    if not Path(root).is_dir():
        return Outcome(128, "", f"{root} is not a folder")
    command = gitpython.Git(str(root))
    began = time.monotonic()
    try:
        status, out, err = command.execute(
            ["git", *args],
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=timeout,
            strip_newline_in_stdout=strip,
            env=_ENV,
        )
    except (gitpython.GitCommandNotFound, OSError) as exc:
        return _recorded(args, began, Outcome(127, "", f"git cannot be run: {exc}"))
    stdout = out if isinstance(out, str) else out.decode(errors="replace")
    done = Outcome(int(status or 0), stdout.strip() if strip else stdout, str(err).strip())
    return _recorded(args, began, done)


def _recorded(args: tuple[str, ...], began: float, done: Outcome) -> Outcome:
    """The command in the command log (workbench.kernel.commands), with how it ended."""
    said = "ok" if done.ok else f"exit {done.returncode}: {done.stderr or done.stdout}"
    commands.record(shlex.join(["git", *args]), done.ok, said, time.monotonic() - began)
    return done


def output(root: Path, *args: str) -> str | None:
    """The stripped output of a git command that succeeded, else None."""
    result = run(root, *args)
    return result.stdout if result.ok else None


def git(root: Path, *args: str, check: bool = True, strip: bool = True) -> str:
    """`git ARGS` in `root`; a failure is a WorkbenchError naming the command, unless not
    `check`."""
    result = run(root, *args, strip=strip)
    if check and not result.ok:
        raise WorkbenchError(
            f"`git {' '.join(args)}` failed in {root}: {result.stderr or 'no reason given'}",
            fix=_fix_for(result.stderr),
        )
    return result.stdout


def _fix_for(stderr: str) -> str:
    if ".lock" in stderr and "exists" in stderr:
        return (
            "another git process is running, or one was killed and left the lock file "
            "named above behind; when no git command is running, delete that file and try again."
        )
    if "Please tell me who you are" in stderr or "user.email" in stderr:
        return (
            "set your name and email: `git config user.name ...` and `git config user.email ...`."
        )
    return "check the repository's state with `git status`."


def is_repository(root: Path) -> bool:
    return output(root, "rev-parse", "--is-inside-work-tree") == "true"


def head(root: Path) -> str | None:
    return output(root, "rev-parse", "HEAD")


def prefix(root: Path) -> str:
    """The project's folder relative to the repository's top (empty at the top)."""
    return output(root, "rev-parse", "--show-prefix") or ""


def tags(root: Path, pattern: str) -> list[str]:
    found = output(root, "tag", "--list", pattern)
    return found.splitlines() if found else []


def object_type(root: Path, name: str) -> str:
    """`tag` for an annotated tag, `commit` for a lightweight one, '' when missing."""
    return output(root, "cat-file", "-t", name) or ""


def is_ancestor(root: Path, older: str, newer: str) -> bool:
    return run(root, "merge-base", "--is-ancestor", older, newer).ok


def show(root: Path, revision: str, relative: str) -> str | None:
    """A project file (path relative to `root`) as it was at `revision`, or None."""
    result = run(root, "show", f"{revision}:{prefix(root)}{relative}", strip=False)
    return result.stdout if result.ok else None


def blob(root: Path, revision: str, relative: str) -> bytes | None:
    """A project file's bytes (path relative to `root`) as a checkout of `revision` writes
    them, or None when it is not in that commit. Through the repository's filters (Git LFS's
    smudge, `eol=crlf`, `core.autocrlf`): the raw blob of an LFS file is its pointer, not the
    file the release hashed. Bytes, not text: artifacts are binary, and a hash of decoded
    text is not the hash of the file."""
    name = f"{revision}:{prefix(root)}{relative}"
    filtered = _cat_file(root, ["--filters", name])
    return filtered if filtered is not None else _cat_file(root, ["blob", name])


def _cat_file(root: Path, args: list[str]) -> bytes | None:
    import git as gitpython

    command = gitpython.Git(str(root))
    try:
        status, out, _ = command.execute(
            ["git", "cat-file", *args],
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=TIMEOUT,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env=_ENV,
        )
    except (gitpython.GitCommandNotFound, OSError):
        return None
    if status != 0:
        return None
    return out if isinstance(out, bytes) else str(out).encode()


def status(root: Path) -> str:
    """Porcelain status of the project folder (untracked files listed one by one)."""
    return git(root, "status", "--porcelain", "--untracked-files=all", ".", strip=False)


def config(root: Path, key: str) -> str | None:
    return output(root, "config", key)


def remove_stale_git_locks(root: Path) -> list[str]:
    """A `git commit` or `git tag` killed with the release leaves its lock files behind
    (`index.lock`, `HEAD.lock`, `refs/heads/BRANCH.lock`, `packed-refs.lock`), and every
    later commit fails. They are removed only when no git process works in this repository
    and no process holds one open (Linux /proc): git leaves a lock unheld between writing
    and renaming it, so a live git's lock is told from a dead one's only by the gits that
    run. A git works here when it runs anywhere in one of the repository's worktrees or its
    git folder (the project can be a subfolder; worktrees share refs), or names a path in
    them (`-C`, `--git-dir`, `GIT_DIR`...), or cannot be read; gits of other repositories
    (another project's, a test's beside it) keep nothing. Returns the locks removed,
    relative to the git folder."""
    found = output(root, "rev-parse", "--absolute-git-dir", "--git-common-dir")
    if not found or not Path("/proc/self/fd").is_dir():
        return []
    git_dir, common = found.splitlines()[0], found.splitlines()[-1]
    folder, shared = Path(git_dir), (root / common).resolve()
    locks = [
        lock
        for lock in {
            folder / "index.lock",
            folder / "HEAD.lock",
            shared / "packed-refs.lock",
            *shared.joinpath("refs").rglob("*.lock"),
            *folder.joinpath("refs").rglob("*.lock"),
        }
        if lock.is_file() and not lock.is_symlink()
    ]
    if not locks or _git_running({folder, shared, *_worktrees(root)}):
        return []
    held = _open_files()
    removed = []
    for lock in sorted(locks):
        if str(lock) not in held:
            lock.unlink(missing_ok=True)
            removed.append(os.path.relpath(lock, folder))
    return removed


def _worktrees(root: Path) -> list[Path]:
    """The top folder of every worktree of the repository at `root`."""
    listed = output(root, "worktree", "list", "--porcelain") or ""
    return [Path(line[9:]) for line in listed.splitlines() if line.startswith("worktree ")]


def _git_running(places: set[Path]) -> bool:
    """Whether a git process (other than ours, which have ended) is alive and works in one
    of `places`: a zombie waiting for its parent is not, nor a credential helper's daemon."""
    inside = {os.path.realpath(place) for place in places}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            name = proc.joinpath("comm").read_bytes()
            if not name.startswith(b"git") or name.startswith(b"git-credential"):
                continue  # not git, or a credential helper's cache daemon (it locks nothing)
        except OSError:
            continue  # a process that ended meanwhile
        if _state(proc) not in (None, b"Z") and _works_in(proc, inside):
            return True
    return False


def _state(proc: Path) -> bytes | None:
    """The process's state letter (`Z` for a zombie), None when it is gone."""
    try:
        return proc.joinpath("stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _works_in(proc: Path, inside: set[str]) -> bool:
    """Whether the git process `proc` runs in, or names a path in, one of the folders
    `inside` (real paths); True when it cannot be read (counted, never guessed away)."""
    try:
        cwd = os.readlink(proc / "cwd")
        args = proc.joinpath("cmdline").read_bytes().split(b"\0")[1:]
        environ = proc.joinpath("environ").read_bytes().split(b"\0")
        env = [v.partition(b"=")[2] for v in environ if v.startswith(b"GIT_")]
    except PermissionError:
        return True  # alive and not ours to read: counted, never guessed away
    except OSError:  # it ended meanwhile (a zombie has no cwd): counted only if still alive
        return _state(proc) not in (None, b"Z")
    named = [
        part
        for raw in (*args, *(v for v in env if v))
        for part in raw.decode(errors="replace").split("=")
        if part
    ]
    for candidate in (cwd, *(os.path.join(cwd, part) for part in named)):
        real = os.path.realpath(candidate)
        if any(real == place or real.startswith(place + os.sep) for place in inside):
            return True
    return False


def _open_files() -> set[str]:
    held: set[str] = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            held.update(os.readlink(fd) for fd in fd_dir.iterdir())
        except OSError:
            continue  # a process that ended meanwhile, or not ours to read
    return held
