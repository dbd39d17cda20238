"""Builds share the engine's layers; a removal of images takes them alone, between builds.

A build finds a layer of another project's image in the engine's cache and builds on it; an
image removed in between takes that layer with it and the build fails ("failed to get
digest"), as CI saw when one test worker removed its images while another built. So every
build holds `engine_layers` shared and a removal holds it alone: across processes (another
workbench, another test worker) and across threads of one process (the TUI)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.kernel.cancel import Cancelled
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import Busy, engine_layers
from workbench.steps.serve import dependencies
from workbench.steps.serve.building import stream_build

BUILDER = """
import sys
from workbench.kernel.lock import engine_layers
with engine_layers("a build in another process", removing=False, wait=5):
    print("building", flush=True)
    sys.stdin.read()  # until the test closes it: the build ends
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))


def _attempt(
    what: str, *, removing: bool, wait: float, cancel: threading.Event | None = None
) -> Exception | None:
    """None when the lock was had (and let go at once), else why not."""
    try:
        with engine_layers(what, removing=removing, wait=wait, cancel=cancel):
            return None
    except (Busy, Cancelled) as exc:
        return exc


def test_builds_share_the_layers_and_a_removal_waits_for_all_of_them() -> None:
    with (
        engine_layers("one build", removing=False, wait=0),
        engine_layers("another build", removing=False, wait=0),
    ):
        refused = _attempt("the removal of images", removing=True, wait=0.2)
        assert isinstance(refused, Busy), "a removal ran while two builds used the layers"
        assert "a build by another workbench" in refused.paragraph
        assert "the removal of images was not started" in refused.paragraph
    with engine_layers("the removal of images", removing=True, wait=0):
        pass  # had at once when no build holds the layers


def test_a_removal_waits_for_a_build_in_another_process_then_goes_on() -> None:
    builder = subprocess.Popen(
        [sys.executable, "-c", BUILDER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert builder.stdout is not None and builder.stdout.readline().strip() == "building"
        refused = _attempt("the removal of images", removing=True, wait=0.3)
        assert isinstance(refused, Busy), "a removal ran while another process built"
        assert builder.stdin is not None
        threading.Timer(0.3, builder.stdin.close).start()  # the build ends in 0.3 s
        started = time.monotonic()
        with engine_layers("the removal of images", removing=True, wait=10):
            assert time.monotonic() - started > 0.2  # it waited for the build
            assert builder.wait(5) == 0
    finally:
        builder.kill()
        builder.wait()


def test_a_build_waits_for_a_removal_and_a_cancel_ends_the_wait() -> None:
    removing = threading.Event()
    release = threading.Event()

    def remover() -> None:
        with engine_layers("the removal of images", removing=True, wait=0):
            removing.set()
            release.wait(5)

    thread = threading.Thread(target=remover)
    thread.start()
    try:
        assert removing.wait(5)
        refused = _attempt("the build of a:1", removing=False, wait=0.2)
        assert isinstance(refused, Busy), "a build started during a removal of images"
        assert "a removal of images by another workbench" in refused.paragraph
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        ended = _attempt("the build of a:1", removing=False, wait=30, cancel=cancel)
        assert isinstance(ended, Cancelled), "a cancelled wait went on to build"
        threading.Timer(0.3, release.set).start()
        with engine_layers("the build of a:1", removing=False, wait=10):
            assert release.is_set()  # it built once the removal had ended
    finally:
        release.set()
        thread.join(5)


class _Engine:
    """The SDK's low-level client, enough for `stream_build` and `_remove_older`; while the
    build streams, it records whether a removal could have had the layers."""

    def __init__(self) -> None:
        self.hooks: dict[str, list[Any]] = {"response": []}
        self.removal_possible_during_build: list[bool] = []
        self.removed: list[str] = []

    def build(self, **_: Any) -> Iterator[dict[str, Any]]:
        for step in ("Step 1/2 : FROM base", "Step 2/2 : COPY model/ /app/model/"):
            self.removal_possible_during_build.append(_removal_possible())
            yield {"stream": step}
        yield {"aux": {"ID": "sha256:built"}}

    def images(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        if any(label.startswith(dependencies.MAKER_LABEL) for label in filters["label"]):
            return []  # no venv image left without children
        return [
            {"Id": "sha256:new", "RepoTags": ["workbench/demo/dependencies:new"]},
            {"Id": "sha256:old", "RepoTags": ["workbench/demo/dependencies:old"]},
        ]

    def remove_image(self, image: str, force: bool, noprune: bool) -> None:
        self.removed.append(image)


def _removal_possible() -> bool:
    return _attempt("a removal of images", removing=True, wait=0) is None


class _Client:
    def __init__(self) -> None:
        self.api = _Engine()


def test_stream_build_holds_the_layers_while_the_engine_builds(tmp_path: Path) -> None:
    client = _Client()
    build = stream_build(client, tmp_path, "workbench/demo:1", cancel=None, nocache=False)
    lines = []
    while True:
        try:
            lines.append(next(build).text)
        except StopIteration as end:
            image_id = end.value
            break
    assert lines == ["Step 1/2 : FROM base", "Step 2/2 : COPY model/ /app/model/"]
    assert image_id == "sha256:built"
    assert client.api.removal_possible_during_build == [False, False]
    assert _removal_possible()  # let go once the build ended


def test_older_dependency_images_are_left_while_another_build_uses_the_layers() -> None:
    wanted = dependencies.Dependencies(
        image="workbench/demo/dependencies:new",
        folder=Path("/nonexistent"),
        wheels=(),
        project_id="demo-id",
    )
    client = _Client()
    with engine_layers("another project's build", removing=False, wait=0):
        dependencies._remove_older(client, wanted)
    assert client.api.removed == []  # the other build could be building on the older one
    dependencies._remove_older(client, wanted)
    assert client.api.removed == ["sha256:old"]


def test_a_thread_holding_the_layers_alone_nests_its_own_build_and_removal() -> None:
    with engine_layers("a removal under test", removing=True, wait=0):
        assert _attempt("its own build", removing=False, wait=0) is None
        assert _attempt("its own removal", removing=True, wait=0) is None
        outcome: list[Exception | None] = []
        other = threading.Thread(
            target=lambda: outcome.append(_attempt("another thread's", removing=False, wait=0))
        )
        other.start()
        other.join(5)
        assert isinstance(outcome[0], Busy)  # only the holding thread nests
    assert _attempt("a build after it", removing=False, wait=0) is None


def test_a_build_stopped_early_or_failing_lets_go_of_the_layers(tmp_path: Path) -> None:
    client = _Client()
    build = stream_build(client, tmp_path, "workbench/demo:1", cancel=None, nocache=False)
    assert next(build).text == "Step 1/2 : FROM base"
    assert not _removal_possible()  # held while the consumer reads the log
    build.close()  # the consumer stops reading (an error of its own, a closed screen)
    assert _removal_possible()

    def failing(**_: Any) -> Iterator[dict[str, Any]]:
        yield {"stream": "Step 1/2 : FROM base"}
        yield {"error": "no space left on device"}

    client.api.build = failing  # type: ignore[method-assign]
    with pytest.raises(WorkbenchError, match="no space left on device"):
        list(stream_build(client, tmp_path, "workbench/demo:1", cancel=None, nocache=False))
    assert _removal_possible()
    with engine_layers("a removal under test", removing=True, wait=0):
        with pytest.raises(RuntimeError):
            _failing_nested_build()
        assert _attempt("its own next build", removing=False, wait=0) is None  # still alone
    assert _attempt("another build", removing=False, wait=0) is None


def _failing_nested_build() -> None:
    with engine_layers("its own build", removing=False, wait=0):
        raise RuntimeError("a nested build failed")
