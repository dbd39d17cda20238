"""Leftovers of issue #29: push progress never beyond 100%, a snapshot's excluded packages,
init's pick of an example payload, the image's metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.steps.push.publish import layer_progress


def test_push_progress_never_runs_past_the_whole_layer() -> None:
    # What the engine said pushing a 4.4 MB layer: 4.6 MB "sent" of it.
    said = {
        "id": "a1b2c3",
        "status": "Pushing",
        "progressDetail": {"current": 4_600_000, "total": 4_400_000},
    }
    progress = layer_progress(said)
    assert (progress.current, progress.total) == (4_400_000, 4_400_000)
    halfway = layer_progress({**said, "progressDetail": {"current": 100, "total": 400}})
    assert (halfway.current, halfway.total) == (100, 400)
    pushed = layer_progress(
        {"id": "a1b2c3", "status": "Pushed", "progressDetail": {"current": 10, "total": 400}}
    )
    assert pushed.current == 400
    unknown = layer_progress({"id": "a1b2c3", "status": "Preparing"})
    assert (unknown.current, unknown.total) == (0, 0)


def _dist(name: str, *requires: str) -> dict[str, object]:
    return {
        "name": name,
        "version": "1.0",
        "source": {"kind": "index"},
        "requires": list(requires),
        "top_level": [name.replace("-", "_")],
    }


ENV = {
    "stdlib": ["os", "json"],
    "dists": [
        _dist("scikit-learn", "numpy"),
        _dist("numpy"),
        _dist("pandas", "numpy"),
        _dist("psutil"),
    ],
}
TARGET = {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64"}


def test_an_excluded_package_is_left_out_and_snapshot_yaml_says_why() -> None:
    from workbench.steps.snapshot.resolve import find_runtime_set

    found = find_runtime_set(
        ENV,
        dynamic_modules=["scikit_learn", "pandas", "psutil"],
        static={},
        local=set(),
        target=TARGET,
        exclude=("Pandas", "psutil"),
    )
    assert set(found.packages) == {"scikit-learn", "numpy"}
    assert found.excluded["pandas"] == [
        "imported by the model at run time (pandas)",
        "left out by snapshot.exclude in workbench.yaml",
    ]
    assert set(found.excluded) == {"pandas", "psutil"}


def test_a_package_the_set_requires_cannot_be_left_out() -> None:
    from workbench.kernel.errors import WorkbenchError
    from workbench.steps.snapshot.resolve import find_runtime_set

    with pytest.raises(WorkbenchError) as caught:
        find_runtime_set(
            ENV,
            dynamic_modules=["scikit_learn"],
            static={},
            local=set(),
            target=TARGET,
            exclude=("numpy",),
        )
    assert "leaves out what the runtime set requires: numpy (required by scikit-learn" in str(
        caught.value
    )


def test_an_excluded_package_the_model_imports_in_the_image_is_named() -> None:
    from workbench.steps.serve.hints import load_hint

    said = "ModuleNotFoundError: No module named 'pandas'"
    excluded = {"pandas": ["imported by the model at run time (pandas)", "left out"]}
    assert "`pandas` is left out of the image by snapshot.exclude" in load_hint(said, excluded)
    assert "snapshot.exclude" not in load_hint(said, {})


def test_init_takes_an_obvious_example_payload_as_the_example_requests(tmp_path: Path) -> None:
    from workbench.project.scaffold import init_project

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sample_payload.json").write_text(
        json.dumps({"instances": [{"age": 41, "plan": "gold"}, {"age": 23, "plan": "free"}]})
    )
    (tmp_path / "docs" / "example_config.json").write_text(json.dumps({"db": {"host": "x"}}))
    (tmp_path / "package.json").write_text(json.dumps({"name": "site"}))
    _, guess = init_project(tmp_path)
    assert guess.payload == "docs/sample_payload.json"
    examples = sorted((tmp_path / "schema" / "examples").iterdir())
    assert [p.name for p in examples] == ["sample_payload-1.json", "sample_payload-2.json"]
    assert json.loads(examples[0].read_text()) == {"age": 41, "plan": "gold"}


def test_a_payload_is_request_records_not_any_json() -> None:
    from workbench.project.scaffold import payload_records

    assert payload_records({"age": 41}) == [{"age": 41}]
    assert payload_records({"type": "object", "properties": {"age": {}}}) == []
    assert payload_records([1, 2]) == []


def test_init_never_replaces_example_requests_there_are(tmp_path: Path) -> None:
    from workbench.project.scaffold import init_project

    (tmp_path / "schema" / "examples").mkdir(parents=True)
    (tmp_path / "sample_request.json").write_text(json.dumps({"age": 1}))
    _, guess = init_project(tmp_path)
    assert guess.payload is None and guess.examples_found
    assert list((tmp_path / "schema" / "examples").iterdir()) == []


def test_the_dockerfile_sets_the_build_time_the_metadata_route_says(tmp_path: Path) -> None:
    from workbench.kernel.paths import asset

    template = asset("templates", "Dockerfile").read_text()
    last = template.strip().splitlines()
    at = next(i for i, line in enumerate(last) if line.startswith("ENV WORKBENCH_IMAGE_CREATED"))
    # After every layer that copies or runs: a new time never rebuilds a layer.
    assert not any(line.startswith(("COPY", "RUN")) for line in last[at:])
    assert "{created}" in last[at]


def test_the_images_revision_is_dirty_only_for_the_projects_own_changes(git_repo: Path) -> None:
    import subprocess

    from workbench.steps.serve.build import git_revision

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=git_repo, check=True, capture_output=True, text=True
        ).stdout.strip()

    (git_repo / "environment.lock").write_text("numpy==1\n")
    (git_repo / "checklist.yaml").write_text("items: {}\n")
    git("add", ".")
    git("commit", "-q", "-m", "model")
    head = git("rev-parse", "HEAD")
    # What the workbench writes before a release commits it: not a change of the image's source.
    (git_repo / "environment.lock").write_text("numpy==2\n")
    (git_repo / "checklist.yaml").write_text("items: {a: 1}\n")
    assert git_revision(git_repo) == head
    (git_repo / "README.md").write_text("# changed by hand\n")
    assert git_revision(git_repo) == f"{head}-dirty"
