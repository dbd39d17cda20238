"""What every probe of the serve test gets and uses: the running container, a way to ask
it over HTTP, and a way to run a command in it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.checklist.checks import CheckResult
from workbench.kernel.http import Response, request
from workbench.project.manifest import Manifest
from workbench.steps.serve import run
from workbench.steps.serve.build import BuildContext
from workbench.steps.serve.report import ImageFacts

Log = Callable[[str], None]


@dataclass
class Probing:
    """What a probe gets: the project, the running container, the build, and a log."""

    manifest: Manifest
    live: run.Running
    context: BuildContext
    log: Log
    image: ImageFacts | None = None  # what the build measured of the image (its size report)
    inside: dict[str, Any] | None = None  # what confinement.INSIDE_PROBE read, once a session


@dataclass(frozen=True)
class Probe:
    """One probe and the checklist item whose result it is."""

    item_id: str
    run: Callable[[Probing], CheckResult]


def post(url: str, body: Any, *, raw: bytes | None = None) -> Response:
    data = raw if raw is not None else json.dumps(body).encode()
    return request("POST", url, body=data, headers={"Content-Type": "application/json"}, timeout=30)


EXEC_TRIES = 3


def exec_in(live: run.Running, command: list[str]) -> tuple[int, str]:
    """Run a probe that always prints something inside the container: its exit code and
    output. An empty answer is asked again (at most EXEC_TRIES times): on a busy engine an
    exec's output can be lost before it is attached (CI saw a write probe answer nothing, and
    `serve.hardened` call a read-only root missing); an answer still empty is returned so."""
    code, out = 0, ""
    for attempt in range(EXEC_TRIES):
        result = live.container.exec_run(command, demux=False)
        code, out = int(result.exit_code), result.output.decode(errors="replace").strip()
        if out:
            break
        time.sleep(0.2 * (attempt + 1))
    return code, out
