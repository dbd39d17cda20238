"""Running git in a project: one place for the subprocess, its timeout and its failures."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run(root: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`git ARGS` in `root`; never raises for a non-zero exit (git missing: exit 127)."""
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(["git", *args], 127, "", str(exc))


def output(root: Path, *args: str) -> str | None:
    """The stripped output of a git command that succeeded, else None."""
    result = run(root, *args)
    return result.stdout.strip() if result.returncode == 0 else None
