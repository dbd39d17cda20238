"""A Ctrl-C or SIGTERM that lands inside a finalizer (urllib3 closes each connection pool
from one) was printed as "Exception ignored" with a traceback and lost: the serve test went
on to its end. The CLI keeps it: nothing printed, and the next cancellable wait stops."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc, weakref, sys
from workbench.kernel import cancel
if sys.argv[1] == "kept":
    cancel.keep_interrupts()

class Pool:
    pass

def closing():
    raise KeyboardInterrupt  # as the signal handler does when the signal lands here

pool = Pool()
weakref.finalize(pool, closing)
del pool
gc.collect()
print("went on")
try:
    cancel.raise_if_cancelled(None)
except cancel.Cancelled:
    print("cancelled at the next wait")
weakref.finalize(Pool(), lambda: 1 / 0)  # any other error in a finalizer: still said
gc.collect()
"""


def run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60
    )


def test_an_interrupt_inside_a_finalizer_is_kept_and_never_printed() -> None:
    kept = run("kept")
    assert kept.stdout.splitlines() == ["went on", "cancelled at the next wait"]
    assert "KeyboardInterrupt" not in kept.stderr
    assert "ZeroDivisionError" in kept.stderr  # only interrupts are kept quiet


def test_without_it_python_prints_the_interrupt_and_drops_it() -> None:
    """What the CLI did before (so the test above is seen failing without the hook)."""
    lost = run("default")
    assert lost.stdout.splitlines() == ["went on"]
    assert "Exception ignored" in lost.stderr and "KeyboardInterrupt" in lost.stderr
