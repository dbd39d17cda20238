"""One writer at a time: a project lock per resource, across processes and threads.

`workbench tick A & workbench tick B` used to lose one answer: each read the
state, changed it and wrote it back. Every write of a resource now happens under
its lock, re-reading what it changes inside the lock. Locks are `flock`s on
files in `.workbench/` (released by the kernel if the process dies, so a killed
command never leaves one behind), re-entrant within a process, and say who
holds them when they cannot be had.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workbench.kernel.cancel import Cancelled
from workbench.kernel.clock import now
from workbench.kernel.confine import open_no_follow, scratch_path
from workbench.kernel.errors import WorkbenchError


class Busy(WorkbenchError):
    """Another workbench command holds the lock and did not let go in time."""


@dataclass
class _Held:
    thread_lock: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: int | None = None
    what: str = "unknown"  # what the holder said it was doing


_HELD: dict[Path, _Held] = {}
_GUARD = threading.Lock()


def _entry(path: Path) -> _Held:
    with _GUARD:
        return _HELD.setdefault(path, _Held())


@contextlib.contextmanager
def project_lock(root: Path, resource: str, what: str, *, wait: float = 30) -> Iterator[None]:
    """Hold `resource` of the project at `root` (e.g. "state", "build", "release") while
    doing `what`; wait up to `wait` seconds for another holder, then a clear error."""
    path = scratch_path(Path(root).resolve(), f"{resource}.lock", what=f"the {resource} lock")
    with _hold(path, what, wait, busy=f"another task of this workbench is {what} in {root}"):
        yield


@dataclass
class Waiting:
    """How a wait for a cache lock shows itself and ends early: `said` hears once who holds
    it (after a second), `cancel` set stops the wait (Cancelled)."""

    said: Callable[[str], None] = lambda _: None
    cancel: threading.Event | None = None


@contextlib.contextmanager
def _hold(
    path: Path,
    what: str,
    wait: float,
    *,
    busy: str,
    cache: bool = False,
    waiting: Waiting | None = None,
) -> Iterator[None]:
    """The flock on `path`, re-entrant within this process (a thread lock in front)."""
    held = _entry(path)
    deadline = time.monotonic() + wait
    if not _take_thread_lock(held, deadline, waiting):
        raise Busy(
            f"{busy}; it did not finish within {wait:.0f} s.",
            fix="wait for it to finish (Escape cancels it in the TUI), then try again.",
        )
    try:
        if held.depth == 0:
            held.handle = _acquire(path, what, deadline, cache=cache, waiting=waiting)
            held.what = what
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0 and held.handle is not None:
                fcntl.flock(held.handle, fcntl.LOCK_UN)
                os.close(held.handle)
                held.handle = None
    finally:
        held.thread_lock.release()


def _take_thread_lock(held: _Held, deadline: float, waiting: Waiting | None) -> bool:
    """The thread lock in front of the flock; a wait for another thread of this process
    says who holds it after a second and ends when cancelled, as a wait for another
    process does."""
    if waiting is None:
        return held.thread_lock.acquire(timeout=max(deadline - time.monotonic(), 0.001))
    said_at = time.monotonic() + 1.0
    while not held.thread_lock.acquire(timeout=0.05):
        if waiting.cancel is not None and waiting.cancel.is_set():
            raise Cancelled()
        if said_at and time.monotonic() >= said_at:
            waiting.said(f"waiting for another task of this workbench ({held.what})")
            said_at = 0.0
        if time.monotonic() >= deadline:
            return False
    return True


def _acquire(
    path: Path, what: str, deadline: float, *, cache: bool = False, waiting: Waiting | None = None
) -> int:
    handle = open_no_follow(path, os.O_RDWR | os.O_CREAT, what=f"the {path.stem} lock")
    try:
        had = _flock_by(handle, fcntl.LOCK_EX, deadline, waiting)
    except Cancelled:
        os.close(handle)
        raise
    if not had:
        holder = _holder(handle)
        os.close(handle)
        raise Busy(
            f"another workbench command ({holder}) is "
            + (f"filling the cache ({path})" if cache else f"changing this project ({path.stem})")
            + f"; {what} was not started.",
            fix="wait for it to finish, then run the command again.",
        )
    os.ftruncate(handle, 0)
    os.write(handle, f"pid {os.getpid()}, {what}, since {now()}".encode())
    return handle


def _flock_by(handle: int, mode: int, deadline: float, waiting: Waiting | None) -> bool:
    """The flock `mode` on `handle`, tried until `deadline`: whether it was had. A wait of
    more than a second says who holds it (`waiting.said`, once); `waiting.cancel` set ends
    the wait (Cancelled)."""
    said_at = time.monotonic() + 1.0
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if waiting is not None and waiting.cancel is not None and waiting.cancel.is_set():
                raise Cancelled() from None
            if waiting is not None and said_at and time.monotonic() >= said_at:
                waiting.said(f"waiting for another workbench command ({_holder(handle)})")
                said_at = 0.0
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def _holder(handle: int) -> str:
    try:
        os.lseek(handle, 0, os.SEEK_SET)
        return os.read(handle, 200).decode(errors="replace").strip() or "unknown"
    except OSError:
        return "unknown"


@contextlib.contextmanager
def cache_lock(
    name: str, what: str, *, wait: float = 1800, waiting: Waiting | None = None
) -> Iterator[None]:
    """Hold the user's cache entry `name` (the wheel cache of one target, the .deb cache,
    the stand-in base image) while filling it: two commands building at once (two
    projects, two terminals, parallel tests) would otherwise download the same wheel into
    the same file or build the base image twice. Waits (a fetch can be long)."""
    with _hold(
        _cache_lock_path(name),
        what,
        wait,
        busy=f"another workbench is {what}",
        cache=True,
        waiting=waiting,
    ):
        yield


def _cache_lock_path(name: str) -> Path:
    """The lock file `name` in the user's cache (`locks/`, made when missing)."""
    from workbench.kernel.paths import cache_dir

    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.lock"


ENGINE_LAYERS = "engine-layers"
_ALONE = threading.local()  # depth: how deep this thread is inside its own removal's hold


@contextlib.contextmanager
def engine_layers(
    what: str, *, removing: bool, wait: float, cancel: threading.Event | None = None
) -> Iterator[None]:
    """The engine's image layers, shared by every build and taken whole by a removal.

    A build reuses any image on the engine whose steps match (the build cache): another
    project's layers with the same lock, base and runtime. An image removed between the
    engine finding such a layer and building on it fails that build ("failed to get
    digest", "No such image"). So a build holds this lock shared (any number build at once)
    and a removal of images holds it alone, between builds. It is the workbench's own lock,
    in the user's cache folder: the workbench commands, TUIs and tests sharing that folder
    take turns; another user's, or a plain `docker rmi`, do not. One flock per holder (each
    its own open file), so threads of one process share or wait as processes do; a thread
    holding it alone has it for anything it nests (its own builds included). Raises Busy
    when not had within `wait` seconds (0: at once), Cancelled when `cancel` is set while
    waiting. A flock is not fair: a removal waits while builds follow one another."""
    if getattr(_ALONE, "depth", 0) > 0:
        _ALONE.depth += 1
        try:
            yield
        finally:
            _ALONE.depth = max(getattr(_ALONE, "depth", 1) - 1, 0)
        return

    path = _cache_lock_path(ENGINE_LAYERS)
    handle = open_no_follow(path, os.O_RDWR | os.O_CREAT, what="the engine's layers lock")
    try:
        mode = fcntl.LOCK_EX if removing else fcntl.LOCK_SH
        if not _flock_by(handle, mode, time.monotonic() + wait, Waiting(cancel=cancel)):
            raise Busy(
                f"{'a build' if removing else 'a removal of images'} by another workbench "
                f"is using the Docker engine's layers ({path}); {what} was not started.",
                fix="wait for it to finish, then run the command again.",
            )
        if not removing:
            yield
            return
        _ALONE.depth = 1
        try:
            yield
        finally:
            _ALONE.depth = 0
    finally:
        os.close(handle)  # the flock goes with it
