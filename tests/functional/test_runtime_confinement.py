"""The image as an operator may run it: read-only with no tmpfs at all, no /dev/shm, a CPU
quota on this host's cgroup version. It serves in each, and says how many workers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.doubler import make_project
from workbench.kernel.docker import docker_client
from workbench.kernel.http import free_port, request
from workbench.project.manifest import load_manifest
from workbench.steps.serve import run, session

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> str:
    project = make_project(tmp_path_factory.mktemp("confined") / "doubler", faulty=False)
    manifest = load_manifest(project)
    _, built = session.build(manifest, lambda _: None, threading.Event())
    return built.image_id


def _serve(image: str, **options: Any) -> Iterator[tuple[Any, str]]:
    port = free_port()
    container = docker_client().containers.run(
        image,
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", port)},
        labels={run.RUN_LABEL: "1", run.PROJECT_LABEL: "confinement-test"},
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        **options,
    )
    try:
        yield container, f"http://127.0.0.1:{port}"
    finally:
        run.remove(container)


def _answers(container: Any, url: str) -> str:
    """The container's log once it answered a prediction (bounded wait)."""
    for _ in range(150):
        container.reload()
        assert container.status not in ("exited", "dead"), container.logs().decode()[-2000:]
        try:
            answer = request(
                "POST",
                f"{url}/predict",
                body=b'{"x": 2}',
                headers={"Content-Type": "application/json"},
                timeout=2,
            )
            if answer.status == 200:
                assert answer.json() == {"y": 4.0}
                return str(container.logs().decode())
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("never answered: " + container.logs().decode()[-2000:])


def _workers(logs: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in logs.splitlines() if '"event":"workers"' in line]
    assert lines, logs[-2000:]
    return dict(lines[0])


def test_two_workers_serve_read_only_with_no_tmpfs_on_tmp(image: str) -> None:
    for container, url in _serve(image, environment={"WORKBENCH_WORKERS": "2"}):
        assert _workers(_answers(container, url))["count"] == 2  # metrics shared in /dev/shm


def test_with_no_writable_folder_at_all_one_worker_serves_and_says_why(image: str) -> None:
    for container, url in _serve(image, environment={"WORKBENCH_WORKERS": "2"}, ipc_mode="none"):
        said = _workers(_answers(container, url))
        assert said["count"] == 1 and said["asked"] == 2
        assert "no writable temp folder" in said["why"]


def test_a_cpu_quota_sets_the_worker_count_on_this_hosts_cgroup_version(image: str) -> None:
    for container, url in _serve(image, nano_cpus=1_000_000_000):
        assert _workers(_answers(container, url))["count"] == 1


HUNGRY = """\
import os


class Model:
    def load(self, artifacts_dir):
        if os.environ.get("WORKBENCH_APP_DIR"):  # in the image: more than its memory limit
            self.ballast = b"x" * 400_000_000

    def predict(self, record):
        return {"y": 2.0 * record["x"]}
"""


def test_running_out_of_memory_while_loading_is_named_with_its_fix(
    tmp_path: Path, base_image: str
) -> None:
    from workbench.kernel.errors import WorkbenchError

    project = make_project(tmp_path / "doubler", faulty=False, predictor=HUNGRY)
    manifest = load_manifest(project)
    _, built = session.build(manifest, lambda _: None, threading.Event())
    with (
        pytest.raises(WorkbenchError) as raised,
        run.running(docker_client(), built.image_id, manifest),
    ):
        pass
    said = str(raised.value)
    assert "ran out of memory before it was ready" in said, said
    assert "(256m)" in said and "raise serve.memory_limit" in said
