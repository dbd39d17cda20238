"""The dependency image: the lock's wheels installed once into an image of the project's own,
so that a build sends the engine the model, the runtime and the settings, not the wheels."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import pytest
from docker.errors import NotFound

from tests.helpers import image_from_files
from workbench.kernel.docker import docker_client
from workbench.kernel.lock import engine_layers
from workbench.project.manifest import load_manifest
from workbench.steps.serve.dependencies import ROLE, ROLE_LABEL
from workbench.steps.serve.image_labels import LABEL_PREFIX
from workbench.steps.serve.session import build
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _decoy(client: object, base_image: str, tag: str, project_id: str) -> str:
    """A tiny image labelled as the dependency image of the project `project_id`."""
    dockerfile = (
        f"FROM {base_image}\nLABEL {LABEL_PREFIX}.project-id={project_id} {ROLE_LABEL}={ROLE}\n"
    )
    return str(image_from_files(client, {"Dockerfile": dockerfile.encode()}, tag=tag).id)


def test_a_build_reuses_the_dependency_image_and_a_new_one_replaces_only_the_projects_own(
    example_project: Path, base_image: str
) -> None:
    manifest = load_manifest(example_project)
    run_snapshot(manifest, lambda event: None)
    client = docker_client()

    def built() -> tuple[str, str]:
        said: list[str] = []
        context, _ = build(manifest, said.append, threading.Event())
        assert not (context.path / "wheels").exists()  # the image's own context has none
        assert context.dependencies is not None
        return context.dependencies.image, "\n".join(said)

    first, said = built()
    assert f"dependencies: building {first}" in said, said
    deps = client.images.get(first)
    # The venv is copied from the layer before the labels: the same image for every project
    # with this lock (the engine reuses its checksum instead of reading the venv again).
    parent = deps.attrs["Parent"]
    dockerfile = (example_project / ".workbench/build/Dockerfile").read_text()
    assert parent.startswith("sha256:") and f"COPY --from={parent} /opt/venv" in dockerfile
    assert client.images.get(parent).labels.get(f"{LABEL_PREFIX}.project-id") is None
    assert deps.labels[f"{LABEL_PREFIX}.project-id"] == manifest.project_id
    assert first.startswith(f"workbench/{manifest.name}/dependencies:")
    assert (
        "--require-hashes" in (example_project / ".workbench/dependencies/Dockerfile").read_text()
    )
    assert not (example_project / ".workbench/dependencies/wheels").exists()  # in the image now

    older = f"workbench/{manifest.name}/dependencies:older"
    other = f"workbench-test/someone-else/dependencies:{manifest.project_id}"
    _decoy(client, base_image, older, manifest.project_id)
    other_id = _decoy(client, base_image, other, "0123456789abcdef")
    try:
        again, said = built()
        assert again == first and f"dependencies: {first}, already on the engine" in said, said
        assert client.images.get(older)  # only a new dependency image replaces the older ones

        # Gone from the engine (its layers kept): built again, and then the older one goes.
        client.api.remove_image(first, noprune=True)
        # The older ones are left while another build uses the engine's layers (another
        # test worker's): this test holds them alone meanwhile, its own build nested.
        with engine_layers("the older images' removal under test", removing=True, wait=600):
            third, said = built()
        assert third == first and f"dependencies: building {first}" in said, said
        ours = [f"{LABEL_PREFIX}.project-id={manifest.project_id}", f"{ROLE_LABEL}={ROLE}"]
        # (other tests' copies of the example have the same name: by the project's id)
        tags = {t for i in client.images.list(filters={"label": ours}) for t in i.tags}
        assert tags == {first}, tags  # the project's older dependency image removed
        assert client.images.get(other).id == other_id  # another project's left alone
    finally:
        with contextlib.suppress(NotFound):  # removed by mistake: the assert above says so
            client.api.remove_image(other_id, force=True)
