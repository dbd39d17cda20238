"""Hostile project files: examples that are links to devices or out of the project, huge
examples, a manifest that is an alias bomb, a schema whose $ref points nowhere (issue 31,
point 8). Each is refused with the file named, before it can eat memory or time."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.unit.test_confine import BOMB
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.confine import UnsafePath
from workbench.kernel.errors import ManifestError, WorkbenchError
from workbench.project.manifest import load_manifest
from workbench.project.model_env import load_examples
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist


@pytest.fixture
def iris(tmp_path: Path) -> Path:
    return copy_example("iris", tmp_path / "iris")


def test_an_example_linked_to_dev_zero_is_refused_without_reading(iris: Path) -> None:
    (iris / "schema" / "examples" / "zero.json").symlink_to("/dev/zero")
    started = time.perf_counter()
    with pytest.raises(WorkbenchError) as caught:
        load_examples(load_manifest(iris))
    assert time.perf_counter() - started < 5
    said = str(caught.value)
    assert "zero.json" in said and "outside the project" in said


def test_a_device_inside_the_project_is_not_read_either(iris: Path) -> None:
    os.mkfifo(iris / "schema" / "examples" / "pipe.json")
    with pytest.raises(UnsafePath, match=r"pipe\.json is a named pipe, not a regular file"):
        load_examples(load_manifest(iris))


def test_an_example_bigger_than_the_server_takes_is_refused(iris: Path) -> None:
    big = iris / "schema" / "examples" / "big.json"
    with big.open("w") as handle:
        handle.truncate(3 << 20)
    with pytest.raises(UnsafePath) as caught:
        load_examples(load_manifest(iris))
    said = str(caught.value)
    assert "big.json" in said and "limit of 1.0 MB" in said and "serve.max_body_bytes" in said


def test_an_example_that_is_not_utf8_is_named(iris: Path) -> None:
    (iris / "schema" / "examples" / "latin.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(WorkbenchError, match=r"latin\.json: not UTF-8"):
        load_examples(load_manifest(iris))


def test_a_manifest_alias_bomb_is_refused_naming_the_manifest(iris: Path) -> None:
    manifest = iris / "workbench.yaml"
    manifest.write_text(
        manifest.read_text() + "x-bomb:\n" + "".join(f"  {line}\n" for line in BOMB.splitlines())
    )
    started = time.perf_counter()
    with pytest.raises(ManifestError) as caught:
        load_manifest(iris)
    assert time.perf_counter() - started < 5
    assert "workbench.yaml" in str(caught.value) and "aliases" in str(caught.value)


def test_a_schema_alias_bomb_fails_schema_valid(iris: Path) -> None:
    (iris / "schema" / "request.yaml").write_text(
        "type: object\nproperties:\n  x: {type: number}\nx-bomb:\n"
        + "".join(f"  {line}\n" for line in BOMB.splitlines())
    )
    view = _run(iris, "schema.valid")
    assert view.status is Status.FAIL
    assert "request.yaml" in " ".join(view.evidence) and "aliases" in " ".join(view.evidence)


def test_a_dangling_dynamic_ref_fails_schema_valid_naming_it(iris: Path) -> None:
    request = iris / "schema" / "request.yaml"
    request.write_text(
        request.read_text().replace(
            "properties:", "properties:\n  extra:\n    $dynamicRef: '#nowhere'", 1
        )
    )
    view = _run(iris, "schema.valid")
    assert view.status is Status.FAIL
    assert "`$dynamicRef: #nowhere` points nowhere" in " ".join(view.evidence)


def _run(root: Path, item: str):  # type: ignore[no-untyped-def]
    checklist = open_checklist(load_manifest(root), user="Ana")
    events = checklist.run([item], CheckContext(checklist.manifest))
    views = [e.view for e in events if isinstance(e, ItemFinished)]
    assert len(views) == 1
    return views[0]


def test_an_inferred_schema_is_not_written_through_a_link_out_of_the_project(
    iris: Path, tmp_path: Path
) -> None:
    from workbench.steps.schema.infer import write_schema

    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("precious\n")
    (iris / "schema" / "proposed.yaml").symlink_to(outside)
    with pytest.raises(UnsafePath, match=r"proposed\.yaml is a symlink to .*outside the project"):
        write_schema(
            iris / "schema" / "proposed.yaml",
            {"type": "object"},
            force=True,
            comment="x",
            within=iris,
        )
    assert outside.read_text() == "precious\n"


def test_a_sample_bigger_than_inference_reads_is_cut_after_its_last_whole_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV past the byte bound is read to its last whole row (a quoted newline at the cut
    does not make a half row), and a multi-byte character at the cut does not turn the
    file into Latin-1."""
    from workbench.steps.schema import sample

    monkeypatch.setattr(sample, "SAMPLE_BYTES", 64)
    csv_file = tmp_path / "big.csv"
    csv_file.write_text('city,n\nZürich,1\nKöln,2\n"Saint-\nÉtienne",3\nGenève,4\n' * 50)
    rows = sample.read_sample(csv_file)
    assert rows and all(set(r) == {"city", "n"} for r in rows)
    assert rows[0] == {"city": "Zürich", "n": 1}
    assert all(r["n"] is not None for r in rows), rows  # no half row at the cut
    assert sum(len(f"{r['city']},{r['n']}\n".encode()) for r in rows) <= 64


def test_a_sample_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    from workbench.steps.schema.sample import read_sample

    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(UnsafePath, match=r"pipe\.csv: the sample is a named pipe"):
        read_sample(tmp_path / "pipe.csv")


def test_a_held_out_file_linked_out_of_the_project_is_not_read(iris: Path, tmp_path: Path) -> None:
    from workbench.steps.schema.sample import read_sample

    outside = tmp_path / "secret.csv"
    outside.write_text("a,b\n1,2\n")
    (iris / "data" / "linked.csv").symlink_to(outside)
    with pytest.raises(UnsafePath, match=r"linked\.csv is a symlink to .*outside the project"):
        read_sample(iris / "data" / "linked.csv", within=iris)


def test_a_lock_linked_out_of_the_project_or_endless_is_refused(iris: Path, tmp_path: Path) -> None:
    from workbench.project.lockfile import read_lock

    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0\n")
    (iris / "environment.lock").symlink_to(outside)
    with pytest.raises(UnsafePath, match=r"environment\.lock is a symlink to .*outside"):
        read_lock(iris / "environment.lock")
    (iris / "environment.lock").unlink()
    (iris / "environment.lock").symlink_to("/dev/zero")
    with pytest.raises(UnsafePath):
        read_lock(iris / "environment.lock")
    (iris / "environment.lock").unlink()
    with (iris / "environment.lock").open("w") as handle:
        handle.truncate(17 << 20)
    with pytest.raises(UnsafePath, match=r"the lock is 17\.8 MB, over the limit"):
        read_lock(iris / "environment.lock")


def test_a_file_in_a_sample_folder_linked_out_of_the_project_is_not_read(
    iris: Path, tmp_path: Path
) -> None:
    from workbench.steps.schema.sample import read_sample

    outside = tmp_path / "private.json"
    outside.write_text('{"sepal_length": 1.0}')
    folder = iris / "data" / "records"
    folder.mkdir()
    (folder / "a.json").write_text('{"sepal_length": 2.0}')
    (folder / "b.json").symlink_to(outside)
    with pytest.raises(UnsafePath, match=r"b\.json is a symlink to .*outside the project"):
        read_sample(folder, within=iris)
