"""Cancellation of long work: a `threading.Event` set by the interface, checked by the work."""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """The user cancelled the running work (Escape in the TUI, Ctrl-C in the CLI)."""


def raise_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()
