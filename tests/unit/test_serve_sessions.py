"""A serve session is written down before its container exists, with its process: a
process killed outright leaves the file, and the next run reads it as orphaned; a live
process's session is never taken for one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workbench.steps.serve import sessions


def test_a_killed_processs_session_is_orphaned_a_live_one_is_not(tmp_path: Path) -> None:
    sessions.begin(tmp_path, "mine")  # this process: alive
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = tmp_path / ".workbench" / "serve" / "sessions"
    (folder / "killed").write_text(f"{gone.pid}\n")
    (folder / "garbled").write_text("not a pid")
    assert sessions.orphaned(tmp_path) == ["garbled", "killed"]
    sessions.end(tmp_path, "killed")
    sessions.end(tmp_path, "never-begun")  # no error
    assert sessions.orphaned(tmp_path) == ["garbled"]
    assert (folder / "mine").read_text().strip().isdigit()
