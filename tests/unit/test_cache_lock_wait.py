"""Waiting for another command filling the shared cache shows who it waits for and can be
cancelled (it was a silent wait of up to 30 minutes that Ctrl-C and Escape did not end)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from workbench.kernel.cancel import Cancelled
from workbench.kernel.lock import Waiting, cache_lock

HOLDER = """
import fcntl, os, sys, time
handle = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(handle, fcntl.LOCK_EX)
os.write(handle, b"pid 4242, filling the wheel cache, since now")
print("held", flush=True)
time.sleep(30)
"""


def test_a_wait_for_the_cache_is_said_and_ends_when_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path))
    (tmp_path / "locks").mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "locks" / "wheels-x.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        said: list[str] = []
        cancel = threading.Event()
        threading.Timer(4.0, cancel.set).start()  # well after the first second: said first
        started = time.monotonic()
        waiting = Waiting(said.append, cancel)
        with pytest.raises(Cancelled), cache_lock("wheels-x", "filling", waiting=waiting):
            pytest.fail("the lock was had while another process held it")
        assert time.monotonic() - started < 10  # not the 30 minutes a wait may last
        assert said == ["waiting for another workbench command (pid 4242, filling the wheel "
                        "cache, since now)"]  # fmt: skip
    finally:
        holder.kill()
        holder.wait()


def test_a_wait_for_another_thread_of_this_process_is_said_and_cancellable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two waits in one process (the TUI's workers): the second blocked on the in-process
    lock, saying nothing and deaf to cancel, for up to the whole wait (a reviewer's read)."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path))
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with cache_lock("wheels-y", "filling the wheel cache for cp311"):
            held.set()
            release.wait(20)

    thread = threading.Thread(target=holder, daemon=True)
    thread.start()
    assert held.wait(5)
    said: list[str] = []
    cancel = threading.Event()
    threading.Timer(4.0, cancel.set).start()  # well after the first second: said first
    started = time.monotonic()
    try:
        waiting = Waiting(said.append, cancel)
        with pytest.raises(Cancelled), cache_lock("wheels-y", "fetching", wait=15, waiting=waiting):
            pass
    finally:
        release.set()
        thread.join(5)
    assert time.monotonic() - started < 10  # not the whole wait
    assert said == [
        "waiting for another task of this workbench (filling the wheel cache for cp311)"
    ]
