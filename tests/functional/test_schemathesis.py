"""Hostile traffic against the running image: Schemathesis with every check over its own
/openapi.json, then the attacks the hardening issue found, on the real container."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from workbench.kernel.docker import docker_client
from workbench.project.manifest import load_manifest
from workbench.steps.serve import run
from workbench.steps.serve.session import build
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ST = Path(sys.executable).parent / "st"


def hostile_traffic(url: str, port: int) -> dict[str, object]:
    """Two thousand distinct unknown paths (their labels used to grow /metrics until the
    container was OOM-killed), an array nested 1,000 deep (a RecursionError, a plain-text
    500), and a body that trickles in (held a worker for as long as the client liked)."""
    seen: dict[str, object] = {}
    with requests.Session() as session:
        statuses = {session.get(f"{url}/probe/{index}").status_code for index in range(2000)}
        seen["unknown paths"] = statuses.pop() if len(statuses) == 1 else statuses
        routes = set(re.findall(r'route="([^"]*)"', session.get(f"{url}/metrics").text))
        seen["route labels"] = "(unmatched)" in routes and not any("/probe/" in r for r in routes)
        nested = "[" * 1000 + "]" * 1000
        deep = session.post(
            f"{url}/predict",
            data='{"sepal_length": ' + nested + "}",
            headers={"Content-Type": "application/json"},
        )
        seen["deep nesting"] = deep.status_code if deep.json().get("error") else deep.text
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 40\r\n\r\n{"sepal_length": '
        )
        answer = raw.recv(200).decode(errors="replace")  # the server gives up after 10 s
    seen["trickled body"] = int(answer.split()[1]) if answer.startswith("HTTP/1.1") else answer
    return seen


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
        hostile = hostile_traffic(live.url, live.host_port)
        stats = live.container.stats(stream=False)
    output = done.stdout + done.stderr
    assert hostile == {
        "unknown paths": 404,
        "route labels": True,
        "deep nesting": 422,
        "trickled body": 408,
    }
    assert stats["memory_stats"].get("usage", 0) < 512e6
    cases = re.search(r"(\d+) generated", output)
    print(f"schemathesis: {cases.group(0) if cases else 'no count'} against {live.url}")
    assert cases and int(cases.group(1)) >= 50, output[-3000:]
    assert done.returncode == 0, output[-6000:]
    assert "Server error" not in output and "failures" not in output.split("SUMMARY")[-1]
