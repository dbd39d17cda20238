"""Every benchmark script runs in CI, in its tiny smoke mode, so none can rot unnoticed
(issue #23: `bench_snapshot.py` looked for the probe where it no longer was, and
`bench_tui_startup.py` waited for a home screen text that had changed). The figures of a
smoke run mean nothing; that the script ran to its figures line does. Time is never
asserted: benchmarks print figures, tests do not time things."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
NUMBER = r"[\d,]+\.?\d*"


def smoke(script: str, *extra: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--smoke", *extra],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{script} --smoke exited {done.returncode}:\n" + (
        done.stdout[-3000:] + done.stderr[-3000:]
    )
    return done.stdout


def test_bench_cli_startup_smoke() -> None:
    out = smoke("bench_cli_startup.py")
    assert re.search(rf"^workbench --help +{NUMBER} +{NUMBER} +{NUMBER}$", out, re.M), out


def test_bench_tui_startup_smoke() -> None:
    out = smoke("bench_tui_startup.py")
    assert re.search(rf"^workbench home, statuses loaded +{NUMBER} +{NUMBER}$", out, re.M), out
    assert re.search(rf"^ratio first paint workbench / minimal: {NUMBER}x", out, re.M), out


def test_bench_before_after_smoke() -> None:
    out = smoke("bench_before_after.py")
    for name in ("workbench --help", "TUI home, first paint", "workbench tag --dry-run"):
        row = rf"^{re.escape(name)} +({NUMBER}|-) +{NUMBER} +({NUMBER}x|-)$"
        assert re.search(row, out, re.M), out


@pytest.mark.slow
def test_bench_snapshot_smoke(example_python: Path) -> None:
    out = smoke("bench_snapshot.py", "--python", str(example_python))
    assert re.search(rf"^environment inspection \(probe\) +{NUMBER} +{NUMBER}$", out, re.M), out
    assert re.search(rf"^inspection / pip freeze: {NUMBER}x", out, re.M), out
    assert re.search(r"^no-network run: ", out, re.M), out


@pytest.mark.slow
@pytest.mark.docker
def test_bench_serve_smoke(example_python: Path, base_image: str) -> None:
    out = smoke("bench_serve.py", "--python", str(example_python))
    for server in ("our runtime, local process", "our runtime, in the container (1 worker)"):
        figures = rf"^\| {re.escape(server)} \| {NUMBER} \| {NUMBER} \|"
        assert re.search(figures, out, re.M), out


@pytest.mark.slow
@pytest.mark.docker
def test_bench_pipeline_smoke(base_image: str) -> None:
    out = smoke("bench_pipeline.py")
    assert re.search(r"^\| our image, batching auto \| ", out, re.M), out
    assert "failed:" not in out, out
