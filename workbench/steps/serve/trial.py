"""Trying the tested image by hand: run it, send a request a person wrote or picked, and
keep the exchange as the note of `serve.tried-by-hand`.

The image tried is the one the serve test built and tested (its id is in
`serve.image-built`), so what a person reads is what the release ships; when there is
none yet, the person is told to run the serve test first, never given another image.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from workbench.checklist.scoring import ItemView
from workbench.kernel.cancel import Cancelled
from workbench.kernel.docker import docker_client, short_error
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import request
from workbench.project.manifest import Manifest
from workbench.steps.serve import run
from workbench.steps.serve.report import built_image

NOTE_LIMIT = 400  # characters of the exchange kept in the checklist note


def image_to_try(view: ItemView | None) -> tuple[str, str]:
    """The image the serve test built (read from `serve.image-built` as it stands), and a
    word on how current it is; a `WorkbenchError` saying what to do when no test built one."""
    image = built_image(view.result if view is not None else None)
    if image is None or view is None or view.status.value not in ("pass", "stale"):
        raise WorkbenchError(
            "no tested image to try yet: the serve test has not built one.",
            fix="run the serve test first (Space or `a` in this step, or `workbench serve "
            "--test`); then try the image it built.",
        )
    if view.status.value == "stale":
        return image.image_id, "tested before your last change (run the serve test again)"
    return image.image_id, "the image the serve test built and tested"


def route_for(body: str) -> str:
    """An array of records goes to the batch route, anything else to /predict."""
    return "/predict/batch" if body.lstrip().startswith("[") else "/predict"


SHOWN_LIMIT = 100_000  # characters of an answer drawn on screen (a big batch stays readable)


def pretty(body: str) -> str:
    """Indented JSON for reading (the server's bytes when they are not JSON); an answer
    longer than SHOWN_LIMIT is cut, saying how much was left out."""
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        text = body
    if len(text) <= SHOWN_LIMIT:
        return text
    return text[:SHOWN_LIMIT] + f"\n… ({len(text) - SHOWN_LIMIT:,} more characters not shown)"


@dataclass(frozen=True)
class Exchange:
    """One request a person sent and what came back."""

    route: str
    sent: str
    status: int
    milliseconds: float
    answer: str
    request_id: str | None

    def note(self) -> str:
        """The exchange in one line, for the checklist note (bounded: a large batch is cut)."""
        sent = " ".join(self.sent.split())
        answer = " ".join(self.answer.split())
        line = f"POST {self.route} {sent} -> {self.status} in {self.milliseconds:.1f} ms: {answer}"
        return line if len(line) <= NOTE_LIMIT else line[: NOTE_LIMIT - 1] + "…"


def send(url: str, body: str, timeout: float = 30) -> Exchange:
    """POST `body` as typed (malformed JSON too: seeing the 400 is part of trying it)."""
    route = route_for(body)
    started = time.perf_counter()
    try:
        answer = request(
            "POST",
            url + route,
            body=body.encode("utf-8"),
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        )
    except OSError as exc:
        raise WorkbenchError(
            f"the running image did not answer POST {route}: {short_error(exc)}.",
            fix="look at the container's log (`workbench serve` shows it), or start it again.",
        ) from None
    return Exchange(
        route,
        body,
        answer.status,
        (time.perf_counter() - started) * 1000,
        answer.body.decode("utf-8", errors="replace"),
        answer.header("x-request-id"),
    )


class Trial:
    """The tested image, running until `stop()`; `run` blocks (call it in a worker thread)
    and always removes the container on its way out."""

    def __init__(self, manifest: Manifest, image_id: str) -> None:
        self.manifest = manifest
        self.image_id = image_id
        self.stopping = threading.Event()

    def run(self, ready: Callable[[str, float], None]) -> None:
        """Start the image, call `ready(url, seconds)` once it answers, then hold it until
        `stop()`. A stop while it starts ends the start at once; the container is removed
        either way."""
        from docker.errors import ImageNotFound  # the SDK only when used

        client = docker_client()
        try:
            client.images.get(self.image_id)
        except ImageNotFound:
            raise WorkbenchError(
                f"the tested image {self.image_id[:19]} is no longer on this Docker engine "
                "(removed since the serve test).",
                fix="run the serve test again; it builds and tests the image anew.",
            ) from None
        try:
            with run.running(client, self.image_id, self.manifest, cancel=self.stopping) as live:
                ready(live.url, live.ready_seconds)
                self.stopping.wait()
        except Cancelled:
            return

    def stop(self) -> None:
        self.stopping.set()
