"""The commands the workbench ran for a person (git, skopeo, the engine's build, run, push,
tag), each with its outcome and time: a bounded journal the TUI's command-log pane shows, as
lazygit shows the git commands it ran. Listeners hear each one as it ends, from whatever
thread ran it. Nothing secret is recorded: credentials never travel in argv here."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from workbench.kernel.clock import now

KEPT = 500  # the newest entries; older ones are dropped


@dataclass(frozen=True)
class Ran:
    """One command: what ran (as a command line a person could type), how it ended."""

    command: str
    ok: bool
    outcome: str  # "ok", "exit 128: not a git repository", "failed: ..."
    seconds: float
    at: str


Listener = Callable[[Ran], None]
_lock = threading.Lock()
_journal: deque[Ran] = deque(maxlen=KEPT)
_listeners: list[Listener] = []


def recent() -> list[Ran]:
    with _lock:
        return list(_journal)


def listen(listener: Listener) -> Callable[[], None]:
    """Hear every command as it ends; returns the way to stop hearing."""
    with _lock:
        _listeners.append(listener)

    def stop() -> None:
        with _lock, contextlib.suppress(ValueError):
            _listeners.remove(listener)

    return stop


def record(command: str, ok: bool, outcome: str, seconds: float) -> Ran:
    entry = Ran(command, ok, outcome.splitlines()[0][:200] if outcome else "", seconds, now())
    with _lock:
        _journal.append(entry)
        listeners = list(_listeners)
    for listener in listeners:
        with contextlib.suppress(Exception):  # a listener's failure never fails the command
            listener(entry)
    return entry


@contextlib.contextmanager
def running(command: str) -> Iterator[None]:
    """Record `command` when the block ends: ok, or failed with the exception's first line."""
    began = time.monotonic()
    try:
        yield
    except BaseException as exc:
        said = str(exc).strip() or type(exc).__name__
        record(command, False, f"failed: {said}", time.monotonic() - began)
        raise
    record(command, True, "ok", time.monotonic() - began)
