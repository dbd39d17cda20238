"""A container session written down before its container is created: a process killed
outright (SIGKILL, a closed terminal) never runs its clean-up, and its container was left
behind for good. Each session's file names the process; the next run of the project
removes the containers of sessions whose process is gone."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.kernel.confine import open_no_follow, scratch_path


def _folder(root: Path) -> Path:
    return scratch_path(root, "serve", "sessions", what="the serve sessions", folder=True)


def begin(root: Path, session: str) -> None:
    descriptor = open_no_follow(
        _folder(root) / session, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, what="a serve session"
    )
    with open(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")


def end(root: Path, session: str) -> None:
    with contextlib.suppress(OSError):
        (_folder(root) / session).unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process of that number: not ours to judge
    return True


def orphaned(root: Path) -> list[str]:
    """Sessions whose process is gone (their containers are nobody's now)."""
    found = []
    for path in sorted(_folder(root).iterdir()):
        try:
            pid = int(path.read_text().strip() or "0")
        except (OSError, ValueError):
            pid = 0
        if path.is_file() and not path.is_symlink() and (pid <= 0 or not _alive(pid)):
            found.append(path.name)
    return found


@contextlib.contextmanager
def throwaway(client: Any, root: Path) -> Iterator[str]:
    """A session for a short-lived container (sizes, the SBOM's inventory): written down
    before the container exists and its containers removed by label on the way out, so a
    process killed outright leaves nothing the next run does not sweep."""
    from workbench.steps.serve.run import remove_session  # (run imports this module)

    sweep_orphans(client, root)  # what killed runs left (a tag may run no serve test)
    session = f"short-{uuid.uuid4().hex}"
    begin(root, session)
    try:
        yield session
    finally:
        if remove_session(client, session):
            end(root, session)


def sweep_orphans(client: Any, root: Path) -> None:
    """Remove the containers of sessions whose process is gone, and their files."""
    from workbench.steps.serve.run import remove_session  # (run imports this module)

    for gone in orphaned(root):
        if remove_session(client, gone):
            end(root, gone)
