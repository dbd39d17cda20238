"""Shared helpers of the functional and TUI tests."""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import Checklist, ItemFinished
from workbench.kernel.hashing import sha256_text
from workbench.kernel.lock import cache_lock, engine_layers
from workbench.kernel.paths import cache_dir
from workbench.project.lockfile import write_snapshot
from workbench.project.manifest import Manifest, load_manifest, project_id
from workbench.project.records import (
    BaseImageInfo,
    BumpInfo,
    ChecklistAtRelease,
    GitInfo,
    Hashes,
    ImageInfo,
    People,
    PlatformInfo,
    PythonInfo,
    ReleaseRecord,
    RuntimeEntry,
    SnapshotRecord,
    TargetInfo,
)
from workbench.project.releases import frozen_checklist_path, save_release
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.snapshot.take import run_snapshot

GATED = ("snapshot", "schema", "serve")
# This process's xdist worker ("gw0", ...), "main" outside a parallel run: part of the
# repository a once-per-worker fixture pushes to in the run's one registry (tests/conftest).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def release_ready(root: Path, python: Path, registry: str) -> Checklist:
    """The example in a fresh git repository, with every gate of steps 1-3 passing."""
    project = copy_example("iris", root)
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace("python: .venv/bin/python", f"python: {python}", 1)
        + f"registry: {registry}\n"
    )
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Ana Tester")
    git(project, "config", "user.email", "ana@example.com")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "the iris model")
    run_snapshot(load_manifest(project), lambda _: None)
    return pass_gates(project)


def pass_gates(project: Path) -> Checklist:
    checklist = open_checklist(load_manifest(project), user="Ana")
    ids = [i.id for i in checklist.items if i.is_auto and i.step in GATED and i.gate]
    ctx = CheckContext(checklist.manifest)
    results = {e.item_id: e.view for e in checklist.run(ids, ctx) if isinstance(e, ItemFinished)}
    failing = {i: v.evidence for i, v in results.items() if v.status is not Status.PASS}
    assert failing == {}, failing
    checklist.tick("snapshot.packages-expected", "yes", note="sklearn stack and the runtime")
    return checklist


def frozen_item(item_id: str, status: str = "pass", blocks: bool = False) -> dict[str, Any]:
    """An item of a frozen checklist, every field its declaration asks for
    (`workbench.checklist.frozen.ItemRecord`)."""
    return {
        "id": item_id,
        "step": item_id.split(".")[0],
        "kind": "auto",
        "gate": True,
        "summary": item_id,
        "question": f"{item_id}?",
        "status": status,
        "score": 1.0 if status == "pass" else 0.0,
        "counted": True,
        "evidence": [],
        "remark": "",
        "blocks": blocks,
    }


def hand_made_release(manifest: Manifest, version: str, items: list[dict[str, Any]]) -> str:
    """Release files written by hand (no image, no tag): for tests of what reads them."""
    release = {"version": version, "created": "2026-11-24T10:00:00Z", "by": "Ana"}
    text = json.dumps(
        {
            "project": manifest.name,
            "release": {**release, "revision": f"rev-{version}", "image": "sha256:i"},
            "generated_at": release["created"],
            "workbench": "0",
            "scope": list(GATED),
            "readiness": {"percent": 75, "fraction": 0.75, "limited_by": None, "text": "75%"},
            "steps": [],
            "items": items,
            "waivers": {},
        }
    )
    frozen_checklist_path(manifest, version).parent.mkdir(exist_ok=True)
    frozen_checklist_path(manifest, version).write_text(text)
    save_release(
        manifest,
        ReleaseRecord(
            version=version,
            created="2026-11-24T10:00:00Z",
            git=GitInfo(revision=f"rev-{version}", tag=f"v{version}"),
            previous=None,
            bump=BumpInfo(level="major", suggested=version, reason="first"),
            hashes=Hashes(lock="l", request_schema="q", response_schema="r"),
            base_image=BaseImageInfo(name="python:3.11-slim", id="sha256:b"),
            image=ImageInfo(ref=f"x:{version}", id="sha256:i", tested_id="sha256:i"),
            checklist=ChecklistAtRelease(readiness=0.75, frozen_sha256=sha256_text(text)),
            released_by=People(driver="Ana"),
        ),
    )
    return sha256_text(text)


def containers_of(project: Path) -> list[Any]:
    """The containers the workbench started for this test's own project (by its id label),
    never another test's or another project's on the shared engine."""
    from workbench.kernel.docker import docker_client
    from workbench.steps.serve import run

    return run.containers_of(docker_client(), project_id(project))


def cached_env(name: str, make: Callable[[Path], None]) -> Path:
    """A model environment made once (by `make(root)`) in the user's cache and kept: the
    folder `test-envs/<name>`. Parallel workers (and two runs) wait for the one making it
    (the cache's own lock), then find it complete; a half-made one is made again."""
    root = cache_dir() / "test-envs" / name
    with cache_lock(f"test-env-{name}", f"making the test environment {name}"):
        if not (root / ".complete").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            make(root)
            (root / ".complete").touch()
    return root


def swarm_turn() -> Any:
    """This test's turn at the engine's swarm (init, leave, services named by project and
    channel, their networks): one test at a time on the machine, whichever worker runs it
    (pytest-xdist's groups are not honoured by pytest 9). A flock: a killed test lets go."""
    return cache_lock("test-swarm", "using the engine's swarm in a test", wait=3600)


def write_runtime_set(project: Path, runtime: dict[str, RuntimeEntry]) -> None:
    """A snapshot.yaml of CPython 3.11 on x86_64 with this runtime set (nothing fetched)."""
    write_snapshot(
        project,
        SnapshotRecord(
            taken_at="2026-12-05T07:00:00Z",
            python=PythonInfo(version="3.11.7"),
            platform=PlatformInfo(system="Linux", machine="x86_64"),
            target=TargetInfo(python="3.11", abi="cp311", machine="x86_64"),
            runtime=runtime,
        ),
    )


@contextlib.contextmanager
def loopback_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on a free loopback port while inside: its base URL
    (`http://127.0.0.1:PORT`); shut down and closed after."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def image_from_files(client: Any, files: dict[str, bytes], **build: Any) -> Any:
    """The image built (docker-py's `images.build`, given `build`) from a context of `files`
    made in memory, a Dockerfile among them. Its intermediate containers are removed (docker-py
    keeps them by default: each LABEL or RUN step's container was left on the engine)."""
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    # Shared with the workbench's own builds, never beside a removal of images (which could
    # take a layer this build found in the cache): `workbench.kernel.lock.engine_layers`.
    with engine_layers("a test's image build", removing=False, wait=600):
        image, _ = client.images.build(
            fileobj=context, custom_context=True, **{"rm": True, "forcerm": True, **build}
        )
    return image


def remove_image(client: Any, ref: str, *, force: bool = False) -> None:
    """Remove an image (docker-py's `images.remove`) holding the engine's layers alone: with
    its untagged parents go layers another worker's build may have just found in the build
    cache (`workbench.kernel.lock.engine_layers`)."""
    with engine_layers(f"removing {ref}", removing=True, wait=600):
        client.images.remove(ref, force=force)


def shared_answers(monkeypatch: Any, factory: Any) -> None:
    """The model's answers kept in one folder for the whole run (`WORKBENCH_ANSWERS_DIR`,
    which the commands the test runs inherit), not in each project's `.workbench/answers/`:
    dozens of tests copy the iris example and ask its model the same questions in the same
    environment (its examples, its held-out parity sample, the scoring), each a start of an
    interpreter importing scikit-learn. The key holds everything an answer came from; the
    unit tests, which count the interpreter's starts, keep each project's own folder. The
    run's temp folder: every worker's is inside it, and a new run starts empty."""
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    monkeypatch.setenv("WORKBENCH_ANSWERS_DIR", str(root / "shared-answers"))
