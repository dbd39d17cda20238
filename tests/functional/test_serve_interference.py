"""The serve test when something else gets in its way: another command building the same
project, a container removed from outside mid-test, a base image that is no reference at
all. Each is said as what it is; none turns into a failure of the image, none a traceback."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.doubler import make_project
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import UnavailableError
from workbench.kernel.lock import project_lock
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve import run, session
from workbench.steps.serve.checks import SERVE_ITEMS

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_check_while_another_command_builds_fails_nothing(tmp_path: Path, base_image: str) -> None:
    project = make_project(tmp_path / "doubler", faulty=False)
    holding, release = threading.Event(), threading.Event()

    def another_command_builds() -> None:
        with project_lock(project, "build", "building the image"):
            holding.set()
            release.wait(timeout=60)

    builder = threading.Thread(target=another_command_builds, daemon=True)
    builder.start()
    assert holding.wait(timeout=10)
    try:
        checklist = open_checklist(load_manifest(project), user="Ana")
        views = {
            e.item_id: e.view
            for e in checklist.run(list(SERVE_ITEMS), CheckContext(checklist.manifest))
            if isinstance(e, ItemFinished)
        }
    finally:
        release.set()
        builder.join(timeout=10)
    assert {v.status for v in views.values()} == {Status.PENDING}  # nothing recorded as failed
    assert "another command holds the project" in views["serve.image-built"].remark
    assert "building the image" in views["serve.image-built"].remark
    assert checklist.state.results == {} or all(
        i not in checklist.state.results for i in SERVE_ITEMS
    )


def test_a_container_removed_from_outside_mid_test_is_said_so(
    tmp_path: Path, base_image: str
) -> None:
    project = make_project(tmp_path / "doubler", faulty=False)
    manifest = load_manifest(project)

    def remove_once_ready(line: str) -> None:
        if line.startswith("ready after"):
            for container in docker_client().containers.list(
                ignore_removed=True,
                all=True,
                filters={"label": f"{run.PROJECT_ID_LABEL}={manifest.project_id}"},
            ):  # this test's own project only, never another run's doubler
                if container.labels.get(run.SESSION_LABEL) not in (None, "none"):
                    container.remove(force=True)  # `docker rm -f` by someone else

    with pytest.raises(UnavailableError, match="removed from outside") as raised:
        session.serve_session(manifest, log=remove_once_ready)
    assert "Traceback" not in str(raised.value)


def test_a_base_image_that_is_no_reference_fails_its_item_naming_the_field(
    tmp_path: Path, base_image: str
) -> None:
    project = make_project(tmp_path / "doubler", faulty=False)
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace(
            "  workers: 1\n", "  workers: 1\n  base_image: 'Not A::Ref'\n"
        )
    )
    checklist = open_checklist(load_manifest(project), user="Ana")
    ids = ["serve.base-image", "serve.image-built"]
    views = {
        e.item_id: e.view
        for e in checklist.run(ids, CheckContext(checklist.manifest))
        if isinstance(e, ItemFinished)
    }
    for item_id in ids:
        said = " ".join(views[item_id].evidence)
        assert views[item_id].status is Status.FAIL, said
        assert "serve.base_image `Not A::Ref` is not an image reference" in said, said
