"""The venv image another project made is found by its label, and only it: the images of a
build on top of it inherit its labels until their own LABEL step (the step that sets the
image's user included), and a build FROM one of those ran as that user (seen: the image's
bytecode step failed with "Permission denied")."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

from workbench.steps.serve.dependencies import (
    MAKER_LABEL,
    Dependencies,
    _install,
    _remove_listed,
    shared_venv,
)
from workbench.steps.serve.run import PROJECT_ID_LABEL

BASE = ["sha256:base-layer"]
VENV = [*BASE, "sha256:venv-layer"]


class _Api:
    def __init__(self, images: dict[str, dict[str, Any]]) -> None:
        self.listed = images

    def images(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        assert all  # untagged parents are listed only with all=True
        return [
            {"Id": image_id, "ParentId": i["parent"], "Created": i["created"]}
            for image_id, i in self.listed.items()
        ]

    def inspect_image(self, image_id: str) -> dict[str, Any]:
        if image_id == "base-id":
            return {"RootFS": {"Layers": BASE}, "Config": {}}
        i = self.listed[image_id]
        return {"RootFS": {"Layers": i["layers"]}, "Config": i["config"]}


class _Client:
    def __init__(self, images: dict[str, dict[str, Any]]) -> None:
        self.api = _Api(images)


def _image(parent: str, layers: list[str], created: int, **config: Any) -> dict[str, Any]:
    return {"parent": parent, "layers": layers, "created": created, "config": config}


DEPS = Dependencies(
    image="workbench/p/dependencies:x",
    folder=Path("."),
    wheels=(),
    project_id="p",
    base_id="base-id",
    venv="digest",
)


def test_the_venv_image_is_the_root_of_its_labelled_children() -> None:
    images = {
        "venv": _image("base-id", VENV, 1),
        "env-step": _image("venv", VENV, 2),  # an image's ENV step: same layers, inherited
        "user-step": _image("env-step", [*VENV, "sha256:app"], 3, User="10001:10001"),
        "deps": _image("venv", VENV, 4, Labels={PROJECT_ID_LABEL: "p"}),
    }
    assert shared_venv(_Client(images), DEPS) == "venv"


def test_an_unparented_child_step_or_another_project_is_never_taken_for_it() -> None:
    """Where the engine records no parents every listed image is a root: only one with the
    venv's layers, no user and no project is taken, the newest first."""
    images = {
        "user-step": _image("", VENV, 9, User="10001:10001"),
        "deps": _image("", VENV, 8, Labels={PROJECT_ID_LABEL: "p"}),
        "app-step": _image("", [*VENV, "sha256:app"], 7),
        "older-venv": _image("", VENV, 1),
        "newer-venv": _image("", VENV, 5),
    }
    assert shared_venv(_Client(images), DEPS) == "newer-venv"
    del images["older-venv"], images["newer-venv"]
    assert shared_venv(_Client(images), DEPS) is None  # installed again instead


class _Removals:
    """Lists by label filters as the engine does at the top level; records removals."""

    def __init__(self, images: list[dict[str, Any]]) -> None:
        self.listed = images
        self.removed: list[str] = []

    def images(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        wanted = dict(label.split("=", 1) for label in filters["label"])
        everything = all
        return [
            i
            for i in self.listed
            if (everything or i["top"])
            and not [k for k, v in wanted.items() if i["Labels"].get(k) != v]
        ]

    def remove_image(self, image_id: str, force: bool = False, noprune: bool = False) -> None:
        assert not force
        self.removed.append(image_id)


def test_a_venv_image_the_project_made_and_nothing_is_built_on_goes_with_its_older_images() -> None:
    ours, role = {PROJECT_ID_LABEL: "p", "io.workbench.role": "dependencies"}, "io.workbench.role"
    api = _Removals(
        [
            {"Id": "current", "top": True, "RepoTags": [DEPS.image], "Labels": ours},
            {
                "Id": "older",
                "top": True,
                "RepoTags": ["workbench/p/dependencies:o"],
                "Labels": ours,
            },
            # made by this project's build, nothing built on it: listed at the top level
            {"Id": "left-venv", "top": True, "Labels": {role: "venv", MAKER_LABEL: "p"}},
            # another project's: never
            {"Id": "theirs", "top": True, "Labels": {role: "venv", MAKER_LABEL: "q"}},
        ]
    )
    client = type("Client", (), {"api": api})()
    _remove_listed(client, DEPS)
    assert api.removed == ["older", "left-venv"]


class _InstallApi:
    """Just enough of the engine for one install: records how the container was made and
    what the commit was told."""

    def __init__(self, entrypoint: list[str] | None) -> None:
        self.entrypoint = entrypoint
        self.created: dict[str, Any] = {}
        self.changes: list[str] = []
        self.removed: list[str] = []

    def containers(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        return []

    def inspect_image(self, image: str) -> dict[str, Any]:
        return {"Config": {"Entrypoint": self.entrypoint, "Cmd": ["python3"]}}

    def create_host_config(self, **settings: Any) -> dict[str, Any]:
        return settings

    def create_container(self, image: str, **settings: Any) -> dict[str, str]:
        self.created = settings
        return {"Id": "install"}

    def put_archive(self, container: str, path: str, data: Any) -> None:
        data.read()

    def start(self, container: str) -> None:
        pass

    def logs(self, container: str, stream: bool, follow: bool) -> Any:
        return iter([b"Successfully installed numpy-2.0\n"])

    def wait(self, container: str) -> dict[str, int]:
        return {"StatusCode": 0}

    def commit(self, container: str, changes: list[str]) -> dict[str, str]:
        self.changes = changes
        return {"Id": "sha256:venv"}

    def remove_container(self, container: str, force: bool = False) -> None:
        self.removed.append(container)


def _installed(tmp_path: Path, entrypoint: list[str] | None) -> _InstallApi:
    (tmp_path / "environment.lock").write_text("numpy==2.0\n")
    wheel = tmp_path / "numpy-2.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    api = _InstallApi(entrypoint)
    client = type("Client", (), {"api": api})()
    planned = dataclasses.replace(
        DEPS, folder=tmp_path, wheels=(wheel,), script="python3 -m venv /opt/venv\n"
    )
    install = _install(client, planned, None)
    lines = []
    with contextlib.suppress(StopIteration):
        while True:
            lines.append(next(install).text)
    assert lines == ["Successfully installed numpy-2.0"]
    assert api.removed == ["install"] and not (tmp_path / "build.tar").exists()
    assert api.created["host_config"] == {"network_mode": "none"}
    return api


def test_the_install_runs_by_the_shell_as_a_run_step_whatever_the_base_entrypoint(
    tmp_path: Path,
) -> None:
    """A base image's ENTRYPOINT (["python3"] here) would be handed the install's commands
    as its arguments: the container runs /bin/sh -c instead, and the venv image gets the
    base's entrypoint back; a base without one keeps none."""
    api = _installed(tmp_path, ["python3"])
    assert api.created["entrypoint"] == ["/bin/sh", "-c"]
    assert api.created["command"] == ["python3 -m venv /opt/venv"]
    assert 'ENTRYPOINT ["python3"]' in api.changes and 'CMD ["python3"]' in api.changes
    plain = _installed(tmp_path, None)
    assert "entrypoint" not in plain.created
    assert plain.created["command"] == ["/bin/sh", "-c", "python3 -m venv /opt/venv"]
    assert not [change for change in plain.changes if change.startswith("ENTRYPOINT")]
