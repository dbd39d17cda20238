"""The Docker engine lost or hung in the middle of a serve test, through a forwarder of its
socket that the test cuts or pauses: said as such, results kept but shown stale (never as
if just run, never turned into failures), and the run's container removed once the engine
answers again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doubler import make_project
from tests.engine_proxy import EngineProxy
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import UnavailableError
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve import run, session
from workbench.steps.serve.checks import SERVE_ITEMS

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, docker_engine: object
) -> Iterator[EngineProxy]:
    forwarder = EngineProxy(tmp_path)
    monkeypatch.setenv("DOCKER_HOST", forwarder.url)
    yield forwarder
    forwarder.close()


def _containers_of_session_left(project: Path) -> list[str]:
    client = docker_client()  # DOCKER_HOST still names the proxy: restored by now
    sessions = (project / ".workbench" / "serve" / "unremoved-sessions").read_text().split()
    return [
        c.name
        for s in sessions
        for c in client.containers.list(
            ignore_removed=True, all=True, filters={"label": f"{run.SESSION_LABEL}={s}"}
        )
    ]


def test_an_engine_cut_mid_run_keeps_results_shows_them_stale_and_cleans_up_after(
    tmp_path: Path, proxy: EngineProxy, base_image: str
) -> None:
    project = make_project(tmp_path / "doubler", faulty=False)
    checklist = open_checklist(load_manifest(project), user="Ana")
    first = {
        e.item_id: e.view.status
        for e in checklist.run(list(SERVE_ITEMS), CheckContext(checklist.manifest))
        if isinstance(e, ItemFinished)
    }
    assert set(first.values()) == {Status.PASS}, first

    def cut_once_ready(line: str) -> None:
        if line.startswith("ready after"):
            proxy.cut()  # the container runs; the engine is gone

    checklist = open_checklist(load_manifest(project), user="Ana")
    ctx = CheckContext(checklist.manifest, log=cut_once_ready)
    views = {
        e.item_id: e.view
        for e in checklist.run(list(SERVE_ITEMS), ctx)
        if isinstance(e, ItemFinished)
    }
    # Not a single failure: the engine's loss says nothing about the image.
    assert {v.status for v in views.values()} == {Status.STALE}, {
        i: v.remark for i, v in views.items()
    }
    remark = views["serve.non-root"].remark
    assert "connection to the Docker engine was lost in the middle of the work" in remark, remark
    assert "the last result, pass at" in remark
    assert checklist.state.results["serve.non-root"].status == "pass"  # kept as it was
    assert checklist.blockers(("serve",))  # and it blocks a release until checked again

    proxy.restore()
    left = _containers_of_session_left(project)
    assert len(left) == 1  # the container of the cut run still runs: remembered ...
    removed = run.sweep_unremoved(docker_client(), project)
    assert removed == left  # ... and removed once the engine answers again
    assert not (project / ".workbench" / "serve" / "unremoved-sessions").exists()


def test_a_hung_engine_is_said_to_hang_within_its_timeout(
    tmp_path: Path, proxy: EngineProxy, base_image: str
) -> None:
    project = make_project(tmp_path / "doubler", faulty=False)
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace("  workers: 1\n", "  workers: 1\n  engine_timeout: 3\n")
    )

    def pause_once_ready(line: str) -> None:
        if line.startswith("ready after"):
            proxy.pause()

    with pytest.raises(UnavailableError, match="stopped answering in the middle of the work"):
        session.serve_session(load_manifest(project), log=pause_once_ready)
    # A new command on the hung engine: said to hang after the ping's bound, not awaited.
    with pytest.raises(UnavailableError, match="did not answer a ping within"):
        docker_client(timeout=3)
    proxy.restore()
    remembered = (project / ".workbench" / "serve" / "unremoved-sessions").read_text().split()
    assert len(remembered) == 1  # the run could not remove its container: remembered
    run.sweep_unremoved(docker_client(), project)  # (the held removal may land first)
    label = f"{run.SESSION_LABEL}={remembered[0]}"
    for _ in range(50):  # a removal already under way ends within seconds (bounded wait)
        if not docker_client().containers.list(
            ignore_removed=True, all=True, filters={"label": label}
        ):
            break
        time.sleep(0.2)
    assert (
        docker_client().containers.list(ignore_removed=True, all=True, filters={"label": label})
        == []
    )
