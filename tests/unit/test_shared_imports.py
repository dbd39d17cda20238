"""The serving runtime's parent imports the fork-safe libraries once before forking its
workers; each worker must still draw its own random numbers (NumPy's global generator is
seeded again after the fork) and be able to compute (OpenBLAS's pool starts again)."""

from __future__ import annotations

import os

from workbench.runtime import __main__ as entry


def _child_answer(read: int, write: int) -> None:
    import numpy as np

    os.close(read)
    value = float(np.random.rand()) + float((np.ones((64, 64)) @ np.ones((64, 64)))[0, 0])
    os.write(write, repr(value).encode())
    os._exit(0)


def test_forked_workers_after_the_shared_imports_draw_their_own_random_numbers() -> None:
    # NumPy's generator made in the parent, as scikit-learn's import makes it there.
    assert entry.import_shared(("numpy", "numpy.random")) == ["numpy", "numpy.random"]
    drawn = []
    for _ in range(2):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            _child_answer(read, write)
        os.close(write)
        drawn.append(float(os.read(read, 64)))
        os.close(read)
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert all(value > 64 for value in drawn)  # the matrix product ran in each worker
    assert drawn[0] != drawn[1], drawn  # not the parent's one stream copied twice


def test_a_library_that_is_not_installed_is_left_out() -> None:
    assert entry.import_shared(("no_such_library_here", "json")) == ["json"]
