"""Issue #28 on the real engine: the image-size report read from the built iris image, said
by `workbench serve --test` and naming the fix when the image is over its budget; and a
GPU-declared image on this machine without a GPU: built and sized, never run, every item
of the serve test skipped with the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.test_serve import run_items
from tests.helpers import containers_of
from workbench.checklist.checks import Status
from workbench.checklist.state import load_state
from workbench.kernel.docker import docker_client
from workbench.project.manifest import load_manifest
from workbench.steps.serve import probes
from workbench.steps.serve.report import built_image
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]
WORKBENCH = str(Path(sys.executable).parent / "workbench")


def _serve_settings(project: Path, lines: str) -> None:
    manifest = project / "workbench.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("serve:\n", "serve:\n" + lines, 1))


def test_the_size_report_names_the_biggest_packages_when_the_image_is_over_budget(
    example_project: Path, base_image: str
) -> None:
    _serve_settings(example_project, "  budget:\n    image_mb: 100\n")
    run_snapshot(load_manifest(example_project), lambda event: None)
    done = subprocess.run(
        [WORKBENCH, "serve", "--test", "-p", str(example_project)],
        capture_output=True,
        text=True,
        timeout=1200,
        stdin=subprocess.DEVNULL,
    )
    print(done.stdout)  # the figures, for the notes
    assert done.returncode == 1, done.stdout + done.stderr  # the performance gate failed
    assert "serve.performance" in done.stderr or "serve.performance" in done.stdout
    state = load_state(example_project).results
    image = built_image(state["serve.image-built"])
    assert image is not None and image.size_bytes is not None
    names = [p.name.lower() for p in image.packages]
    assert {"scipy", "numpy", "scikit-learn"} <= set(names[:4]), names
    sizes = [p.size_bytes for p in image.packages]
    assert sizes == sorted(sizes, reverse=True) and 0 < sum(sizes) < image.size_bytes
    engine = docker_client().images.get(image.image_id)
    layer_sizes = sorted((int(h["Size"]) for h in engine.history()), reverse=True)
    assert [layer.size_bytes for layer in image.layers] == layer_sizes[: len(image.layers)]
    # Said by the command, under the build's line
    biggest = image.packages[0]
    assert f"largest packages: {biggest.name} {biggest.version}" in done.stdout
    assert "largest layers: " in done.stdout
    performance = state["serve.performance"]
    assert performance.status == "fail"
    said = " ".join(performance.evidence)
    assert "is over its budget of 100 MB (serve.budget.image_mb)" in said
    assert f"fix the size: the biggest packages are {biggest.describe()}" in said
    assert not containers_of(example_project)  # the reading container too


def test_a_gpu_image_is_built_and_sized_but_not_run_without_a_gpu(
    example_project: Path, base_image: str
) -> None:
    _serve_settings(example_project, f"  gpu: 1\n  base_image: {base_image}\n")
    run_snapshot(load_manifest(example_project), lambda event: None)
    ids = ["serve.base-image", "serve.gpu-image", "serve.image-built"]
    checklist, statuses = run_items(example_project, [*ids, *(p.item_id for p in probes.PROBES)])
    assert statuses["serve.image-built"] is Status.PASS
    assert built_image(checklist.state.results["serve.image-built"]) is not None
    gpu_image = checklist.view("serve.gpu-image")
    assert gpu_image.status is Status.FAIL  # python:3.11-slim names no CUDA version
    assert f"the base image {base_image} names no CUDA version" in gpu_image.evidence[0]
    for probe in probes.PROBES:
        view = checklist.view(probe.item_id)
        assert view.status is Status.SKIPPED, (probe.item_id, view.evidence)
        assert (
            "asks for 1 GPU(s) and there is no GPU on this machine (nvidia runtime absent"
            in (view.evidence[0])
        )
        assert view.evidence[0].endswith("the image was built, not run")
        # never passed: a gate skipped so blocks the release until someone waives it
        assert view.unverified and view.blocks == view.item.gate
    # `workbench serve` builds, then refuses to run it, in one paragraph with the fix
    done = subprocess.run(
        [WORKBENCH, "serve", "-p", str(example_project)],
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    said = " ".join(done.stderr.split())
    assert "serve.gpu asks for 1 GPU(s) and there is no GPU on this machine (nvidia runtime" in said
    assert "Fix: run it on a machine with an NVIDIA GPU" in said and "Traceback" not in said
    assert not containers_of(example_project)
