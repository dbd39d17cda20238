"""Escape during silent Docker work (issue #16): a build step or a push that prints nothing
for minutes stops at once, on the real engine, and leaves nothing running.

Checking the cancel flag between the engine's messages waited for the next message: a
`RUN` step that prints nothing for 5 minutes kept the TUI "cancelling…" for 5 minutes
while the build went on. The work hangs up on the engine instead.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import remove_image
from workbench.kernel.cancel import Cancelled
from workbench.kernel.docker import cancellable_stream, docker_client
from workbench.steps.serve.build import BuildContext, BuildLog, build_image

# Far longer than the bound below: only a hang-up can end the work within it.
SILENCE_SECONDS = 300
BOUND_SECONDS = 5.0


def _sleepers(marker: str) -> list[str]:
    """Containers (a build's step containers included) whose command holds `marker`: a
    marker unique to this run, so another run's build on the shared engine is never
    counted."""
    return [
        c.id
        for c in docker_client().containers.list(ignore_removed=True, all=True)
        if marker in " ".join(c.attrs["Config"].get("Cmd") or [])
    ]


def test_escape_during_a_silent_build_step_stops_the_build_at_once(
    tmp_path: Path, base_image: str
) -> None:
    marker = f"sleep {SILENCE_SECONDS} && echo run-{uuid.uuid4().hex}"
    (tmp_path / "Dockerfile").write_text(
        f"FROM {base_image}\nRUN echo step-started && {marker} && echo step-done\n"
    )
    context = BuildContext(
        path=tmp_path,
        dockerfile=tmp_path / "Dockerfile",
        files=["Dockerfile"],
        hashes={},
        config={},
        base_image=base_image,
    )
    tag = f"workbench-test/hang-up:never-{uuid.uuid4().hex[:12]}"
    cancel = threading.Event()
    pressed = 0.0
    seen: list[str] = []
    with pytest.raises(Cancelled):
        for event in build_image(context, tag, cancel=cancel, nocache=True):
            assert isinstance(event, BuildLog), event  # it must never finish
            seen.append(event.text)
            if event.text == "step-started":  # the step is running and silent from here
                time.sleep(0.5)
                pressed = time.monotonic()
                cancel.set()  # Escape
    waited = time.monotonic() - pressed
    print(f"build cancelled {waited:.2f} s after Escape")
    assert pressed, seen  # the silent step was reached before the cancel
    assert waited < BOUND_SECONDS, f"cancelled after {waited:.1f} s"
    # The engine saw its client go and stopped the build: the step container is removed
    # and no image got the tag.
    deadline = time.monotonic() + 20
    while _sleepers(marker) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not _sleepers(marker)
    assert not docker_client().images.list(name=tag)


def test_escape_during_a_push_to_a_registry_that_never_answers_ends_at_once(
    base_image: str,
) -> None:
    # A registry that accepts connections and then says nothing (a stalled proxy): the
    # engine's push waits on it, silent.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    port = silent.getsockname()[1]
    client = docker_client()
    image = client.images.get(base_image)
    repository = f"127.0.0.1:{port}/hang-up/silent"
    image.tag(repository, tag="1")
    cancel = threading.Event()
    threading.Timer(2.0, cancel.set).start()
    try:
        started = time.monotonic()
        with pytest.raises(Cancelled):  # the push's own stream, as `workbench push` reads it
            for _ in cancellable_stream(
                client,
                cancel,
                lambda: client.api.push(repository, tag="1", stream=True, decode=True),
            ):
                pass
        waited = time.monotonic() - started - 2.0
        print(f"push ended {waited:.2f} s after Escape")
        assert cancel.is_set()  # it ended because of the cancel, not on its own
        assert waited < BOUND_SECONDS, f"push ended {waited:.1f} s after the cancel"
        assert accepted  # the engine really was waiting on the silent registry
    finally:
        stop.set()
        acceptor.join(timeout=5)
        for connection in accepted:
            connection.close()
        silent.close()
        remove_image(client, f"{repository}:1")
