"""A serve session is written down before its container exists, with its process as this
machine knows it: a process killed outright leaves the file, and the next run reads it as
orphaned; a live process's session, one of another host or PID namespace (a dev container
sharing the engine), or one still being written is never taken for one (a reviewer's
read: a pid alone made another namespace's live run look dead)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from workbench.steps.serve import sessions


def test_only_sessions_this_machine_shows_dead_are_orphaned(tmp_path: Path) -> None:
    sessions.begin(tmp_path, "mine")  # this process: alive
    folder = tmp_path / ".workbench" / "serve" / "sessions"
    mine = json.loads((folder / "mine").read_text())
    assert mine["pid"] == os.getpid() and mine["start"]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (folder / "killed").write_text(json.dumps({**mine, "pid": gone.pid}))
    (folder / "reused").write_text(json.dumps({**mine, "start": "1"}))  # another process now
    (folder / "elsewhere").write_text(json.dumps({**mine, "pid": gone.pid, "pidns": "pid:[1]"}))
    (folder / "writing").write_text("")  # a file being written: live for now
    (folder / "killed-writing").write_text("{")
    old = time.time() - 2 * sessions.UNREADABLE_GRACE
    os.utime(folder / "killed-writing", (old, old))
    assert sessions.orphaned(tmp_path) == ["killed", "killed-writing", "reused"]
    sessions.end(tmp_path, "killed")
    sessions.end(tmp_path, "never-begun")  # no error
    assert "killed" not in sessions.orphaned(tmp_path)
