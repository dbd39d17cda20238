"""The fault catalogue's GPU case: `serve.gpu-image` is checked offline (names and versions),
so its failure is shown here without a GPU or an engine: a CUDA 11 base image under a lock
of CUDA 12 wheels, run through the checklist engine as `workbench check` runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_manifest import GOOD, project
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.errors import UnavailableError
from workbench.project.lockfile import LOCK_NAME
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve import checks as serve_checks

LOCK = """\
nvidia-cublas-cu12==12.4.5.8 \\
    --hash=sha256:{a}
torch==2.5.1+cu121 \\
    --hash=sha256:{b}
""".format(a="a" * 64, b="b" * 64)
GPU = GOOD + "serve:\n  gpu: 1\n"
# item id -> (the project's serve settings, the phrase the evidence must carry)
CATALOGUE = {
    "serve.gpu-image": (
        "  cuda_image: nvidia/cuda:11.8.0-runtime-ubuntu22.04\n",
        "nvidia/cuda:11.8.0-runtime-ubuntu22.04 is CUDA 11 but the lock's CUDA wheels are "
        "for CUDA 12: CUDA 12: nvidia-cublas-cu12 12.4.5.8, torch 2.5.1+cu121",
    ),
}


def _no_engine(timeout: int = 0) -> None:
    raise UnavailableError("no Docker engine answers (a unit test asks none).")


def _run(root: Path, item_id: str) -> tuple[Status, list[str]]:
    checklist = open_checklist(load_manifest(root), user="Ana")
    events = checklist.run([item_id], CheckContext(checklist.manifest))
    view = next(e.view for e in events if isinstance(e, ItemFinished))
    return view.status, list(view.evidence)


@pytest.mark.parametrize("item_id", CATALOGUE, ids=str)
def test_fault(item_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serve_checks, "docker_client", _no_engine)
    broken_settings, cause = CATALOGUE[item_id]
    (tmp_path / "good").mkdir()
    (tmp_path / "broken").mkdir()
    good = project(tmp_path / "good", GPU)
    (good / LOCK_NAME).write_text(LOCK)
    status, evidence = _run(good, item_id)  # the default CUDA 12 image: matched, no GPU here
    assert status is Status.SKIPPED, evidence
    assert "not run on a GPU here: no GPU on this machine" in evidence[0]
    broken = project(tmp_path / "broken", GPU + broken_settings)
    (broken / LOCK_NAME).write_text(LOCK)
    status, evidence = _run(broken, item_id)
    assert status is Status.FAIL
    assert cause in " ".join(evidence)
