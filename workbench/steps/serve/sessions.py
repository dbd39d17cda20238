"""A container session written down before its container is created: a process killed
outright (SIGKILL, a closed terminal) never runs its clean-up, and its container was left
behind for good. Each session's file names its process as this machine knows it (host,
boot, PID namespace, pid and the process's start time); the next run of the project
removes the containers of sessions whose process this machine can show is gone, and never
judges a session of another host or PID namespace (a dev container sharing the engine, a
project on a shared disk), nor one whose file is still being written."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.kernel.confine import open_no_follow, scratch_path

SESSION_LABEL = "io.workbench.session"
UNREADABLE_GRACE = 3600  # a session file unreadable for an hour is a kill mid-write


def remove(container: Any) -> bool:
    """Remove a container; False when the engine could not be asked (it is gone or hung)."""
    from docker.errors import NotFound

    try:
        container.remove(force=True)
    except NotFound:
        return True  # already gone (removed from outside): nothing is left
    except Exception:
        return False
    return True


def remove_session(client: Any, session: str) -> bool:
    """Remove every container of one session (by label), whatever state it is in; False
    when the engine could not be asked."""
    try:
        leftovers = client.containers.list(
            ignore_removed=True, all=True, filters={"label": f"{SESSION_LABEL}={session}"}
        )
    except Exception:
        return False
    return all([remove(leftover) for leftover in leftovers])


def _folder(root: Path) -> Path:
    return scratch_path(root, "serve", "sessions", what="the serve sessions", folder=True)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None when it is gone): a pid
    reused by another process has another."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _machine() -> dict[str, str]:
    """This process's host, boot and PID namespace: where a pid means this process."""

    def read(path: str) -> str:
        try:
            return Path(path).read_text().strip() if "boot_id" in path else os.readlink(path)
        except OSError:
            return "unknown"

    return {
        "host": socket.gethostname(),
        "boot": read("/proc/sys/kernel/random/boot_id"),
        "pidns": read("/proc/self/ns/pid"),
    }


def begin(root: Path, session: str) -> None:
    pid = os.getpid()
    said = {**_machine(), "pid": pid, "start": _start_time(pid)}
    target = _folder(root) / session
    part = _folder(root) / f".{session}.{pid}.part"  # whole or absent: renamed into place
    descriptor = open_no_follow(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, what="a session")
    with open(descriptor, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(said) + "\n")
    os.replace(part, target)


def end(root: Path, session: str) -> None:
    with contextlib.suppress(OSError):
        (_folder(root) / session).unlink()


def orphaned(root: Path) -> list[str]:
    """Sessions whose process this machine shows is gone (its containers are nobody's)."""
    here, found = _machine(), []
    for path in sorted(_folder(root).iterdir()):
        if path.name.startswith(".") or path.is_symlink() or not path.is_file():
            continue
        try:
            said = json.loads(path.read_text())
            pid, start = int(said["pid"]), said.get("start")
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):  # never readable for an hour: a killed write
                if time.time() - path.stat().st_mtime > UNREADABLE_GRACE:
                    found.append(path.name)
            continue
        if any(said.get(key) != value for key, value in here.items()):
            continue  # another host, boot or PID namespace: its pid means nothing here
        now = _start_time(pid)  # None: no such process; another time: a reused pid
        if now is None or now != start:
            found.append(path.name)
    return found


def sweep_orphans(client: Any, root: Path) -> None:
    """Remove the containers of sessions whose process is gone, and their files."""
    for gone in orphaned(root):
        if remove_session(client, gone):
            end(root, gone)


@contextlib.contextmanager
def throwaway(client: Any, root: Path) -> Iterator[str]:
    """A session for a short-lived container (sizes, the SBOM's inventory): written down
    before the container exists and its containers removed by label on the way out, so a
    process killed outright leaves nothing the next run does not sweep."""
    sweep_orphans(client, root)  # what killed runs left (a tag may run no serve test)
    session = f"short-{uuid.uuid4().hex}"
    begin(root, session)
    try:
        yield session
    finally:
        if remove_session(client, session):
            end(root, session)
