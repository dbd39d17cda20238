"""The venv image another project made is found by its label, and only it: the images of a
build on top of it inherit its labels until their own LABEL step (the step that sets the
image's user included), and a build FROM one of those ran as that user (seen: the image's
bytecode step failed with "Permission denied")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.steps.serve.dependencies import (
    MAKER_LABEL,
    PROJECT_ID_LABEL,
    Dependencies,
    _remove_listed,
    shared_venv,
)

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
