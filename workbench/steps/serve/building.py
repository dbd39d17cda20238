"""One `docker build` of a folder through the Docker SDK, its log streamed, cancellable."""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel.docker import cancellable_stream
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import engine_layers

BUILD_WAIT = 600  # seconds a build waits for a removal of images to end


@dataclass(frozen=True)
class BuildLog:
    text: str


@dataclass(frozen=True)
class Built:
    image_id: str
    tag: str
    seconds: float


def stream_build(
    client: Any,
    path: Path,
    tag: str,
    *,
    cancel: threading.Event | None,
    nocache: bool,
) -> Generator[BuildLog, None, str | None]:
    """One `docker build` of the folder `path`: its log lines; returns the image's id."""
    # Shared with every other build; never while images are being removed (a layer this
    # build finds in the cache could go from under it): waits for a removal to finish.
    with engine_layers(f"the build of {tag}", removing=False, wait=BUILD_WAIT, cancel=cancel):
        return (yield from _build(client, path, tag, cancel=cancel, nocache=nocache))


def _build(
    client: Any, path: Path, tag: str, *, cancel: threading.Event | None, nocache: bool
) -> Generator[BuildLog, None, str | None]:
    from docker.errors import APIError  # the SDK only when used (import cost)

    image_id = None
    try:
        # Escape ends even a silent RUN step at once, and a cancelled build never ends here
        # quietly (which would take an older image of this tag for the build's).
        chunks = cancellable_stream(
            client,
            cancel,
            lambda: client.api.build(
                path=str(path),
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                nocache=nocache,
                # No `labels=` here: the engine would add one build step (a container and
                # a commit) per label; they are all in the Dockerfile's one LABEL.
                decode=True,
            ),
        )
        for chunk in chunks:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise WorkbenchError(
                    f"the image build failed: {detail.strip()}",
                    fix=f"read {path / 'Dockerfile'} and the build log above.",
                )
            text = chunk.get("stream", "").rstrip()
            if text:
                yield BuildLog(text)
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
    except APIError as exc:
        raise WorkbenchError(f"the Docker engine refused the build: {exc.explanation}") from None
    return image_id
