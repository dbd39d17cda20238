"""A package installed from a folder (editable) runs the folder's code; the image installs
the wheel the snapshot built. `snapshot.fresh` compares the two member by member (a new
user's trial: the code changed, its version did not, and every gate stayed green until the
next snapshot, while the image would have run the old code)."""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile
from pathlib import Path

from workbench.steps.snapshot import sources


def wheel_of(folder: Path, base: str, out: Path, extra: dict[str, bytes] | None = None) -> Path:
    """A wheel of the .py files under `folder/base` as a build backend writes it: members
    and a RECORD with each one's sha256 (plus `extra` members the build makes)."""
    members = {
        path.relative_to(folder / base).as_posix(): path.read_bytes()
        for path in sorted((folder / base).rglob("*.py"))
    }
    members.update(extra or {})
    record = []
    wheel = out / "mypkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
            record.append(f"{name},sha256={digest},{len(data)}")
        archive.writestr("mypkg-0.1.dist-info/METADATA", "Name: mypkg\nVersion: 0.1\n")
        record.append("mypkg-0.1.dist-info/RECORD,,")
        archive.writestr("mypkg-0.1.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def src_layout(root: Path) -> Path:
    folder = root / "mypkg-project"
    (folder / "src" / "mypkg").mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[project]\nname = "mypkg"\nversion = "0.1"\n')
    (folder / "src" / "mypkg" / "__init__.py").write_text("")
    (folder / "src" / "mypkg" / "core.py").write_text("def score(x):\n    return 2 * x\n")
    return folder


def age(path: Path, seconds: int) -> None:
    """`path` as if written `seconds` ago (before the wheel was built)."""
    when = path.stat().st_mtime_ns - seconds * 10**9
    os.utime(path, ns=(when, when))


def test_an_unchanged_folder_compares_equal_and_a_change_is_named(tmp_path: Path) -> None:
    folder = src_layout(tmp_path)
    # The build's own member (no file in the folder) is not recorded, never blamed.
    wheel = wheel_of(folder, "src", tmp_path, {"mypkg/_version.py": b"v = '0.1'\n"})
    kept = sources.record(wheel, folder, "mypkg-project")
    assert sorted(kept.files) == ["src/mypkg/__init__.py", "src/mypkg/core.py"]
    same = sources.compare(kept, folder)
    assert (same.compared, same.changed, same.removed, same.added) == (2, [], [], [])
    before = sources.stamp(kept, folder)

    (folder / "src" / "mypkg" / "core.py").write_text("def score(x):\n    return 3 * x\n")
    assert sources.compare(kept, folder).changed == ["src/mypkg/core.py"]
    assert sources.stamp(kept, folder) != before  # the check's verdict goes stale
    (folder / "src" / "mypkg" / "core.py").unlink()
    assert sources.compare(kept, folder).removed == ["src/mypkg/core.py"]


def test_a_module_added_since_is_named_and_one_the_build_left_out_is_not(
    tmp_path: Path,
) -> None:
    folder = src_layout(tmp_path)
    wheel = wheel_of(folder, "src", tmp_path)
    # There at the snapshot and left out by the build (its configuration excludes it).
    (folder / "src" / "mypkg" / "conftest.py").write_text("")
    kept = sources.record(wheel, folder, "mypkg-project")
    assert kept.left_out == ["src/mypkg/conftest.py"]
    assert sources.compare(kept, folder).added == []
    # Written after it, a module and a whole subpackage: code the image would not have.
    (folder / "src" / "mypkg" / "extra.py").write_text("X = 1\n")
    (folder / "src" / "mypkg" / "sub").mkdir()
    (folder / "src" / "mypkg" / "sub" / "__init__.py").write_text("")
    assert sources.compare(kept, folder).added == [
        "src/mypkg/extra.py",
        "src/mypkg/sub/__init__.py",
    ]


def test_the_package_is_found_in_a_folder_of_any_name_or_at_the_top(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    (folder / "code" / "mypkg").mkdir(parents=True)
    (folder / "code" / "mypkg" / "__init__.py").write_text("A = 1\n")
    kept = sources.record(wheel_of(folder, "code", tmp_path), folder, ".")
    assert kept.files and sources.compare(kept, folder).compared == 1
    (folder / "code" / "mypkg" / "__init__.py").write_text("A = 2\n")
    assert sources.compare(kept, folder).changed == ["code/mypkg/__init__.py"]


def test_nothing_to_compare_is_said_and_a_broken_wheel_is_no_crash(tmp_path: Path) -> None:
    folder = src_layout(tmp_path)
    wheel = wheel_of(folder, "src", tmp_path)
    (folder / "src" / "mypkg").rename(folder / "src" / "elsewhere")
    assert sources.record(wheel, folder, ".").files == {}  # the check warns: not compared
    broken = tmp_path / "broken-0.1-py3-none-any.whl"
    broken.write_bytes(b"not a zip")
    assert sources.record(broken, folder, ".").files == {}


def test_a_recorded_path_leaving_the_folder_is_read_nowhere(tmp_path: Path) -> None:
    from workbench.project.records import LocalSource

    folder = src_layout(tmp_path)
    (tmp_path / "secret.txt").write_text("outside")
    kept = LocalSource(location=".", files={"../secret.txt": "0" * 64})
    assert sources.within(folder, "../secret.txt") is None
    assert sources.compare(kept, folder).removed == ["../secret.txt"]  # never read
    assert sources.within(folder, ".") == folder


def test_the_source_key_ignores_caches_environments_and_state_not_code(tmp_path: Path) -> None:
    folder = src_layout(tmp_path)
    key = sources.key(folder)
    for noise in (
        "src/mypkg/__pycache__/core.cpython-311.pyc",
        ".workbench/state.yaml",
        "build/lib/mypkg/core.py",
        "src/mypkg.egg-info/PKG-INFO",
        "env/pyvenv.cfg",  # a virtual environment under any name
        "env/lib/site.py",
    ):
        (folder / noise).parent.mkdir(parents=True, exist_ok=True)
        (folder / noise).write_text("noise")
    assert sources.key(folder) == key
    # A linked module is code (the build's copy follows the link): its edit is a new key.
    (tmp_path / "shared.py").write_text("A = 1\n")
    (folder / "src" / "mypkg" / "shared.py").symlink_to(tmp_path / "shared.py")
    linked = sources.key(folder)
    (tmp_path / "shared.py").write_text("A = 2\n")
    assert linked != key and sources.key(folder) != linked
    key = sources.key(folder)
    # `build` is skipped at the top only: a subpackage of that name is code.
    (folder / "src" / "mypkg" / "build").mkdir()
    (folder / "src" / "mypkg" / "build" / "steps.py").write_text("STEP = 1\n")
    assert sources.key(folder) != key
    assert "build" not in sources.skipped(str(folder / "src" / "mypkg"), ["build"], str(folder))


def test_a_file_url_with_escapes_is_the_folder_it_names(tmp_path: Path) -> None:
    folder = tmp_path / "my project"
    folder.mkdir()
    assert sources.path_of(folder.as_uri()) == str(folder)
    assert (
        sources.path_of("git+https://example.invalid/x.git") == "git+https://example.invalid/x.git"
    )


def test_a_git_ignored_module_of_the_projects_own_package_is_in_no_commit(
    tmp_path: Path,
) -> None:
    """The package's wheel (and so the image) held a module git ignores, and tag.git-clean
    passed: the release could not be rebuilt from its tag (a new user's trial). The files
    its locked wheel was built from are release files now, hashed and required in git."""
    from tests.helpers import write_runtime_set
    from workbench.kernel import git
    from workbench.project.manifest import load_manifest
    from workbench.project.records import RuntimeEntry
    from workbench.project.scaffold import copy_example
    from workbench.steps.tag.files import files_not_in_git, release_files

    project = copy_example("iris", tmp_path / "iris")
    package = src_layout(project)
    (package / "src" / "mypkg" / "sauce.py").write_text("RECIPE = 'secret'\n")
    (project / ".gitignore").write_text("sauce.py\n")
    wheel = wheel_of(package, "src", tmp_path)
    local = sources.record(wheel, package, "mypkg-project")
    write_runtime_set(
        project,
        {"mypkg": RuntimeEntry(version="0.1", source="editable", wheel=wheel.name, local=local)},
    )
    for args in (("init", "-q"), ("add", "."), ("commit", "-qm", "the project")):
        assert git.run(project, *args).ok
    manifest = load_manifest(project)
    files = release_files(manifest)
    assert "mypkg-project/src/mypkg/core.py" in files  # hashed in the release manifest
    outside = files_not_in_git(manifest)
    assert list(outside) == ["mypkg-project/src/mypkg/sauce.py"], outside
    assert "ignored by .gitignore:1" in outside["mypkg-project/src/mypkg/sauce.py"]


def test_a_linked_folder_is_the_packages_and_a_link_loop_is_read_once(tmp_path: Path) -> None:
    """The build's copy follows a link into another folder (`src/mypkg/rules ->
    ../../shared`): a change there is a change of the package, a new key (a new wheel,
    never the cached one of the old code). A loop back up is read once, not for ever."""
    root = tmp_path / "proj"
    (root / "src" / "mypkg").mkdir(parents=True)
    (root / "src" / "mypkg" / "__init__.py").write_text("")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "rules.py").write_text("LIMIT = 1\n")
    os.symlink(shared, root / "src" / "mypkg" / "rules")
    os.symlink(root / "src", shared / "back")  # a loop
    listed = [p.relative_to(root).as_posix() for p in sources.files(root)]
    assert "src/mypkg/rules/rules.py" in listed
    assert len(listed) == len(set(p.resolve() for p in sources.files(root)))  # each once
    before = sources.key(root)
    (shared / "rules.py").write_text("LIMIT = 999\n")
    assert sources.key(root) != before


def test_a_file_name_that_is_not_utf8_is_no_crash(tmp_path: Path) -> None:
    root = src_layout(tmp_path / "proj")
    wheel = wheel_of(root, "src", tmp_path)
    odd = os.fsdecode(b"caf\xe9.py")  # latin-1 bytes: a surrogate-escaped str
    (root / "src" / "mypkg" / odd).write_text("x = 1\n")
    assert len(sources.key(root)) == 64
    kept = sources.record(wheel, root, "proj")
    assert kept.left_out == []  # no module can have that name: never written to YAML
    assert len(sources.stamp(kept, root)) == 64


def test_an_editable_package_of_an_older_snapshot_is_not_passed_as_compared(
    tmp_path: Path,
) -> None:
    """A snapshot.yaml written before the sources were recorded: nothing to compare the
    folder with, so the code may have changed under an unchanged version; snapshot.fresh
    passed it as "the same" (a reviewer's read). It says so and asks for a new snapshot."""
    from tests.helpers import write_runtime_set
    from workbench.checklist.checks import CheckContext, Status
    from workbench.project.manifest import load_manifest
    from workbench.project.records import RuntimeEntry
    from workbench.project.scaffold import copy_example
    from workbench.steps.snapshot.checks import fresh

    project = copy_example("iris", tmp_path / "iris")
    (project / "mypkg").mkdir()
    (project / "mypkg" / "__init__.py").write_text("RATE = 2  # edited since the snapshot\n")
    old = RuntimeEntry(version="0.1", source="editable", why=["imported"])
    write_runtime_set(project, {"mypkg": old})
    ctx = CheckContext(load_manifest(project))
    running = {"kind": "editable", "url": (project / "mypkg").as_uri()}
    ctx.cache["env"] = {"dists": [{"name": "mypkg", "version": "0.1", "source": running}]}
    result = fresh(ctx)
    assert result.status is Status.FAIL
    assert any("its source files were not recorded" in line for line in result.evidence)


def test_a_package_in_a_git_submodule_is_committed_there(tmp_path: Path) -> None:
    """The project's own package kept in a git submodule: its files are tracked by the
    submodule's repository, whose commit the project pins. Every one was called
    "untracked (never added to git)" and `tag` refused a committed release (a reviewer's
    read); a file never added to the submodule is still named."""
    from tests.helpers import write_runtime_set
    from workbench.kernel import git
    from workbench.project.manifest import load_manifest
    from workbench.project.records import RuntimeEntry
    from workbench.project.scaffold import copy_example
    from workbench.steps.tag.files import files_not_in_git

    library = src_layout(tmp_path / "library")
    for args in (("init", "-q"), ("add", "."), ("commit", "-qm", "the package")):
        assert git.run(library, *args).ok
    project = copy_example("iris", tmp_path / "iris")
    assert git.run(project, "init", "-q").ok
    added = git.run(
        project, "-c", "protocol.file.allow=always", "submodule", "add", "-q",
        str(library), "libs/mypkg-project",
    )  # fmt: skip
    assert added.ok, added.stderr
    package = project / "libs" / "mypkg-project"
    wheel = wheel_of(package, "src", tmp_path)
    local = sources.record(wheel, package, "libs/mypkg-project")
    assert "src/mypkg/core.py" in local.files
    write_runtime_set(
        project,
        {"mypkg": RuntimeEntry(version="0.1", source="editable", wheel=wheel.name, local=local)},
    )
    for args in (("add", "."), ("commit", "-qm", "the project")):
        assert git.run(project, *args).ok
    assert files_not_in_git(load_manifest(project)) == {}

    (package / "src" / "mypkg" / "extra.py").write_text("X = 1\n")  # never added there
    local = sources.record(wheel_of(package, "src", tmp_path), package, "libs/mypkg-project")
    write_runtime_set(
        project,
        {"mypkg": RuntimeEntry(version="0.1", source="editable", wheel=wheel.name, local=local)},
    )
    outside = files_not_in_git(load_manifest(project))
    assert list(outside) == ["libs/mypkg-project/src/mypkg/extra.py"], outside
