"""Cancellation of long work: a `threading.Event` set by the interface, checked by the work."""

from __future__ import annotations

import sys
import threading

# A Ctrl-C or SIGTERM that landed where Python cannot deliver it (see `keep_interrupts`).
SWALLOWED = threading.Event()


class Cancelled(Exception):
    """The user cancelled the running work (Escape in the TUI, Ctrl-C in the CLI)."""


def raise_if_cancelled(cancel: threading.Event | None) -> None:
    if SWALLOWED.is_set() or (cancel is not None and cancel.is_set()):
        raise Cancelled()


def keep_interrupts() -> None:
    """An exception raised inside a finalizer or a garbage-collector callback is printed
    ("Exception ignored in: <finalize object ...>" and a traceback) and dropped: a Ctrl-C or
    SIGTERM that landed there (urllib3 closes each connection pool from a finalizer) was
    lost, and the work went on to the end. Installed by the CLI: such an interrupt is kept
    (`SWALLOWED`, which every cancellable wait checks) and never printed."""
    default = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            SWALLOWED.set()
            return
        default(unraisable)

    sys.unraisablehook = hook
