"""Schemathesis, with every check, against the running image's own /openapi.json."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from workbench.kernel.docker import docker_client
from workbench.project.manifest import load_manifest
from workbench.steps.serve import run
from workbench.steps.serve.session import build
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ST = Path(sys.executable).parent / "st"


def test_schemathesis_finds_no_server_error_and_no_contract_violation(
    tmp_path: Path, example_project: Path, base_image: str
) -> None:
    manifest = load_manifest(example_project)
    run_snapshot(manifest, lambda event: None)
    _, built = build(manifest, lambda line: None, threading.Event())
    with run.running(docker_client(), built.image_id, manifest) as live:
        done = subprocess.run(
            [
                str(ST),
                "run",
                f"{live.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "60",
                "--seed",
                "7",
                "--request-timeout",
                "10",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,  # its cache stays out of the repository
        )
    output = done.stdout + done.stderr
    cases = re.search(r"(\d+) generated", output)
    print(f"schemathesis: {cases.group(0) if cases else 'no count'} against {live.url}")
    assert cases and int(cases.group(1)) >= 50, output[-3000:]
    assert done.returncode == 0, output[-6000:]
    assert "Server error" not in output and "failures" not in output.split("SUMMARY")[-1]
