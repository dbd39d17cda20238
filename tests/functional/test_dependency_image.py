"""The dependency image: the lock's wheels installed once into an image of the project's own,
so that a build sends the engine the model, the runtime and the settings, not the wheels."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest
from docker.errors import NotFound

from tests.helpers import image_from_files
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import engine_layers
from workbench.project.manifest import load_manifest
from workbench.steps.serve import build as serve_build
from workbench.steps.serve.dependencies import ROLE, ROLE_LABEL, VENV_LABEL, Dependencies, plan
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

    images: list[str] = []

    def built() -> tuple[str, str]:
        said: list[str] = []
        context, done = build(manifest, said.append, threading.Event())
        assert not (context.path / "wheels").exists()  # the image's own context has none
        assert context.dependencies is not None
        images.append(done.image_id)
        return context.dependencies.image, "\n".join(said)

    first, said = built()
    assert f"dependencies: building {first}" in said, said
    deps = client.images.get(first)
    # The image starts FROM the venv image, the deps image before the labels: the same
    # image for every project with this lock, its venv one layer on the base image's.
    parent = deps.attrs["Parent"]
    dockerfile = (example_project / ".workbench/build/Dockerfile").read_text()
    assert parent.startswith("sha256:") and f"\nFROM {parent}\n" in dockerfile
    assert "COPY --from" not in dockerfile  # the venv is not copied again into a new layer
    venv = client.images.get(parent)
    assert not venv.labels.get(f"{LABEL_PREFIX}.project-id")  # no project's: shared
    base_layers = client.images.get(base_image).attrs["RootFS"]["Layers"]
    venv_layers = venv.attrs["RootFS"]["Layers"]
    assert venv_layers[:-1] == base_layers and len(venv_layers) == len(base_layers) + 1
    image_layers = client.images.get(images[-1]).attrs["RootFS"]["Layers"]
    assert image_layers[: len(venv_layers)] == venv_layers  # shared, not copied
    history = " ".join(step["CreatedBy"] for step in venv.history())
    assert "--require-hashes --no-index --find-links /build/wheels" in history
    base_config = client.images.get(base_image).attrs["Config"]
    assert venv.attrs["Config"]["Cmd"] == base_config["Cmd"]  # not install.sh's
    assert (venv.attrs["Config"]["Entrypoint"] or []) == (base_config["Entrypoint"] or [])
    assert not venv.attrs["Config"].get("NetworkDisabled")  # the install's own, not kept
    assert venv.labels[ROLE_LABEL] == "venv"
    # The project whose build made it (what removes it once nothing is built on it): this
    # one, unless another test's project with the same lock made it first.
    maker = venv.labels[f"{LABEL_PREFIX}.venv-of"]
    made_here = f"dependencies: building {first}: installing" in said
    assert maker == manifest.project_id if made_here else len(maker) == 16, (maker, said)
    # The image's own steps set the venv image's labels empty: a lookup for a venv image
    # to share never takes one of them for it.
    image_labels = client.images.get(images[-1]).labels
    assert image_labels[ROLE_LABEL] == "image" and image_labels[VENV_LABEL] == ""
    # Nothing of /build (the wheels) in the committed layer: the command fails otherwise.
    client.containers.run(parent, ["sh", "-c", "test ! -e /build"], remove=True)
    assert deps.labels[f"{LABEL_PREFIX}.project-id"] == manifest.project_id
    assert first.startswith(f"workbench/{manifest.name}/dependencies:")
    assert (
        "--require-hashes" in (example_project / ".workbench/dependencies/install.sh").read_text()
    )
    assert not (example_project / ".workbench/dependencies/wheels").exists()

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
        assert third == first and f"dependencies: building {first} on the venv" in said, said
        ours = [f"{LABEL_PREFIX}.project-id={manifest.project_id}", f"{ROLE_LABEL}={ROLE}"]
        # (other tests' copies of the example have the same name: by the project's id)
        tags = {t for i in client.images.list(filters={"label": ours}) for t in i.tags}
        assert tags == {first}, tags  # the project's older dependency image removed
        assert client.images.get(other).id == other_id  # another project's left alone
    finally:
        with contextlib.suppress(NotFound):  # removed by mistake: the assert above says so
            client.api.remove_image(other_id, force=True)


def test_an_install_that_fails_says_why_and_leaves_no_container_and_no_image(
    example_project: Path, base_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock's wheels are installed in a container of the base image: with one of them
    missing pip refuses; the error says so and where the commands are, and neither the
    container nor an unlabelled venv image is left on the engine."""
    manifest = load_manifest(example_project)
    run_snapshot(manifest, lambda event: None)
    client = docker_client()
    venv = "test-a-wheel-missing-" + manifest.project_id  # never another test's venv image

    def one_wheel_short(*args: Any) -> Dependencies:
        planned = plan(*args)
        return dataclasses.replace(planned, wheels=planned.wheels[1:], venv=venv)

    monkeypatch.setattr(serve_build, "plan_dependencies", one_wheel_short)
    ours = [f"{LABEL_PREFIX}.project-id={manifest.project_id}", f"{ROLE_LABEL}={ROLE}-install"]
    # What a command killed during its install left (it never reached its clean-up): the
    # next install of the project removes it.
    left = client.api.create_container(
        base_image, ["true"], labels=dict(label.split("=", 1) for label in ours)
    )["Id"]
    with pytest.raises(WorkbenchError) as failed:
        build(manifest, lambda line: None, threading.Event())
    said = str(failed.value) + (failed.value.fix or "")
    assert "the install of the lock's wheels failed" in said and "exit code 1" in said, said
    assert "install.sh" in said, said
    assert left not in {c.id for c in client.containers.list(all=True, ignore_removed=True)}
    assert client.containers.list(all=True, filters={"label": ours}, ignore_removed=True) == []
    assert client.api.images(all=True, filters={"label": f"{VENV_LABEL}={venv}"}) == []
