"""The user's cache is filled by one command at a time (two builds at once, parallel tests):
the second waits for the first, then finds what it made."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.kernel.lock import Busy, cache_lock

HOLDER = """
import sys, time
from workbench.kernel.lock import Busy, cache_lock
with cache_lock("wheels-test", "filling the wheel cache"):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
    open(sys.argv[2], "w").write("wheel")
"""


def test_a_second_filler_waits_for_the_first_then_finds_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    made = tmp_path / "made.whl"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "1.5", str(made)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with cache_lock("wheels-test", "filling the wheel cache"):
            waited = time.monotonic() - started
            assert made.read_text() == "wheel"  # the first filler's work is whole
        assert waited > 0.5, f"the second filler did not wait ({waited:.2f} s)"
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0


def test_another_cache_entry_is_not_held_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "30", str(tmp_path / "x")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with cache_lock("debs-bookworm-amd64", "fetching .deb files", wait=2):
            pass  # another entry: taken at once (a wait would raise after 2 s)
        said = r"is filling the cache \(.*wheels-test\.lock\); filling the wheel cache was not"
        with (
            pytest.raises(Busy, match=said),
            cache_lock("wheels-test", "filling the wheel cache", wait=0.3),
        ):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
