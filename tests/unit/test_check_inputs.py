"""An automated item's inputs name everything its check reads: a result stays fresh only
while what it read is as it was (the audit found checks that read more than they said)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from workbench.checklist.checks import CheckContext
from workbench.project.manifest import load_manifest
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.snapshot import checks as snapshot_checks


def test_snapshot_hashed_goes_stale_when_its_wheel_cache_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It hashes the lock's cached wheels; its inputs were the snapshot and lock alone, so a
    cleared cache left it green ("each with a sha256 and its wheel cached")."""
    project = copy_example("iris", tmp_path / "iris")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "numpy-2.0-py3-none-any.whl").write_bytes(b"wheel")
    target = SimpleNamespace(python="3.11", machine="x86_64")
    locked = {"numpy": SimpleNamespace(wheel="numpy-2.0-py3-none-any.whl")}
    monkeypatch.setattr(
        snapshot_checks,
        "read_snapshot",
        lambda root: SimpleNamespace(target=target, runtime=locked, serving={}),
    )
    monkeypatch.setattr(snapshot_checks, "wheel_dir", lambda target: wheels)
    ctx = CheckContext(load_manifest(project))
    before = snapshot_checks._hashed_inputs(ctx)
    assert snapshot_checks._hashed_inputs(ctx) == before
    (wheels / "numpy-2.0-py3-none-any.whl").unlink()
    assert snapshot_checks._hashed_inputs(ctx) != before


def test_the_model_checks_go_stale_when_the_predictor_module_changes(tmp_path: Path) -> None:
    """A python-flavor predictor's module (no `code:`) was not among the model checks'
    inputs: snapshot.model-loads and schema.responses-valid stayed green after it broke."""
    from workbench.steps.shared import model_inputs

    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace(
            "  flavor: sklearn\n", "  flavor: python\n  predictor: predict:Model\n", 1
        )
    )
    (project / "predict.py").write_text("class Model:\n    pass\n")
    ctx = CheckContext(load_manifest(project))
    before = model_inputs(ctx)
    assert before["predictor"].startswith("sha256:")
    (project / "predict.py").write_text("class Model:\n    broken = 1 / 0\n")
    assert model_inputs(ctx) != before


def test_responses_valid_fails_on_no_examples_never_valid_answers_to_zero(
    tmp_path: Path,
) -> None:
    from workbench.steps.schema.checks import responses_valid

    project = copy_example("iris", tmp_path / "iris")
    for example in (project / "schema" / "examples").iterdir():
        example.unlink()
    result = responses_valid(CheckContext(load_manifest(project)))
    assert result.status == "fail"
    assert result.evidence == [
        "no example requests in schema/examples, so no answer could be checked"
    ]


def test_drift_against_a_release_whose_lock_cannot_be_read_is_not_a_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It passed with "release 1.0.0 (no lock at its tag), so no drift to show": nothing was
    compared. Now a warning that says the drift is not known (the first release: a pass)."""
    project = copy_example("iris", tmp_path / "iris")
    (project / "environment.lock").write_text(
        "numpy==2.1.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    )
    ctx = CheckContext(load_manifest(project))
    monkeypatch.setattr(
        snapshot_checks, "baseline_lock", lambda m: ("release 1.0.0 (no lock at its tag)", None)
    )
    result = snapshot_checks.drift(ctx)
    assert result.status == "warn"
    assert "the drift since it is not known" in result.evidence[0]
    monkeypatch.setattr(
        snapshot_checks,
        "baseline_lock",
        lambda m: ("no release before 1.0.0, which was made from this lock", None),
    )
    assert snapshot_checks.drift(ctx).status == "pass"


def test_a_web_page_answering_200_at_v2_is_not_a_registry(tmp_path: Path) -> None:
    """Any 200 at /v2/ passed as "answers the distribution API": a registry says so in its
    Docker-Distribution-API-Version header, which is now read."""
    import http.server

    from tests.helpers import loopback_server
    from workbench.steps.push.checks import registry_reachable

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args: object) -> None:
            pass

    with loopback_server(Page) as url:
        project = copy_example("iris", tmp_path / "iris")
        manifest_file = project / "workbench.yaml"
        host = url.removeprefix("http://")
        manifest_file.write_text(manifest_file.read_text() + f"registry: {host}/m\n")
        result = registry_reachable(CheckContext(load_manifest(project)))
    assert result.status == "fail"
    assert "without the header Docker-Distribution-API-Version" in result.evidence[0]


def test_what_the_registry_or_a_service_said_is_read_again_after_an_hour() -> None:
    """Their inputs are the project's records; what the registry says changes outside it (a
    tag overwritten, a signature deleted, a replica gone). A result older than its max_age
    is stale, said with its age, so it is read again instead of kept green."""
    from datetime import UTC, datetime

    from workbench.checklist.checks import too_old
    from workbench.steps import all_checks

    remote = ["push.registry-reachable", "push.tag-free", "push.digest-verified"]
    remote += ["push.signed", "push.previous-resolvable", "push.deployed-healthy"]
    remote += ["push.rollback-rehearsed"]
    checks = all_checks()
    assert {item: checks[item].max_age for item in remote} == dict.fromkeys(remote, 3600.0)
    assert checks["tag.vulnerabilities"].max_age == 86400.0  # the advisories' age in days
    assert checks["snapshot.pinned"].max_age is None  # the project's own files only
    at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert too_old("2026-12-05T08:30:00Z", 3600.0, at) is None
    why = too_old("2026-12-05T07:30:00Z", 3600.0, at)
    assert why is not None and why.startswith("read 90 minutes ago (2026-12-05T07:30:00Z)")
    assert "read again after an hour" in why
    assert too_old("2026-12-01T07:30:00Z", None, at) is None


def test_the_environment_stamp_sees_egg_info_dist_packages_and_the_interpreter(
    tmp_path: Path,
) -> None:
    """snapshot.fresh's inputs: only `lib/python*/site-packages/*.dist-info` names were
    read, so an egg-info install, Debian's dist-packages, or a venv made again on another
    Python left the result fresh."""
    from workbench.project.env_stamp import env_stamp

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "numpy-2.1.0.dist-info").mkdir()
    python311, python312 = tmp_path / "python3.11", tmp_path / "python3.12"
    python311.write_bytes(b"3.11")
    python312.write_bytes(b"3.12 interpreter")
    (venv / "bin" / "python").symlink_to(python311)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    stamps = [env_stamp(venv / "bin" / "python")]
    (site / "legacy-1.0-py3.11.egg-info").mkdir()
    stamps.append(env_stamp(venv / "bin" / "python"))
    debian = venv / "lib" / "python3" / "dist-packages"
    debian.mkdir(parents=True)
    (debian / "requests-2.31.0.dist-info").mkdir()
    stamps.append(env_stamp(venv / "bin" / "python"))
    (venv / "bin" / "python").unlink()
    (venv / "bin" / "python").symlink_to(python312)
    stamps.append(env_stamp(venv / "bin" / "python"))
    # `pip install -e ../clone-b`: the same name and version, the code from another folder.
    editable = site / "scoring-0.1.dist-info"
    editable.mkdir()
    (editable / "direct_url.json").write_text('{"url": "file:///work/clone-a"}')
    (site / "__editable__.scoring-0.1.pth").write_text("/work/clone-a/src\n")
    stamps.append(env_stamp(venv / "bin" / "python"))
    (editable / "direct_url.json").write_text('{"url": "file:///work/clone-b"}')
    stamps.append(env_stamp(venv / "bin" / "python"))
    (site / "__editable__.scoring-0.1.pth").write_text("/work/clone-b/src\n")
    stamps.append(env_stamp(venv / "bin" / "python"))
    assert len(set(stamps)) == 7
    assert env_stamp(venv / "bin" / "python") == stamps[-1]  # nothing changed: the same


def test_a_predictor_from_the_projects_own_src_package_is_not_refused_at_build(
    tmp_path: Path,
) -> None:
    """`predictor: mypkg.predict:Model` with src/mypkg installed editable: the snapshot
    locks a wheel of it, so it goes into the image with the lock; the build refused it
    ("put the module at the project's root"), a false failure."""
    from tests.helpers import write_runtime_set
    from workbench.kernel.errors import WorkbenchError
    from workbench.project.model_files import model_sources
    from workbench.project.records import RuntimeEntry

    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace(
            "  flavor: sklearn\n", "  flavor: python\n  predictor: mypkg.predict:Model\n", 1
        )
    )
    (project / "src" / "mypkg").mkdir(parents=True)
    (project / "src" / "mypkg" / "predict.py").write_text("class Model: ...\n")
    manifest = load_manifest(project)
    with pytest.raises(WorkbenchError, match="is not in"):
        model_sources(manifest)  # no snapshot says where it comes from: refused

    def snapshot(source: str) -> None:
        why = ["imported by the model (mypkg)"]
        write_runtime_set(project, {"mypkg": RuntimeEntry(version="0.1.0", why=why, source=source)})

    snapshot("editable")
    assert [relative for _, relative in model_sources(manifest)] == ["model/model.joblib"]
    snapshot("index")  # a package from the index is not ours
    with pytest.raises(WorkbenchError, match="is not in"):
        model_sources(manifest)


@pytest.mark.parametrize("line", ["numpy==1.*", "numpy==1.2.* \\", "numpy>=1.2", "numpy"])
def test_a_wildcard_or_a_range_is_not_a_pin(tmp_path: Path, line: str) -> None:
    """snapshot.pinned reads the lock with `read_lock`: `==1.*` passed as pinned, and pip
    installs it as a range."""
    from workbench.kernel.errors import WorkbenchError
    from workbench.project.lockfile import read_lock

    lock = tmp_path / "environment.lock"
    lock.write_text(f"{line}\n    --hash=sha256:{'a' * 64}\n")
    with pytest.raises(WorkbenchError, match="is not an exact `name==version` pin"):
        read_lock(lock)
    lock.write_text(f"numpy==1.2.3 \\\n    --hash=sha256:{'a' * 64}\n")
    assert read_lock(lock)["numpy"].version == "1.2.3"


def test_an_import_added_to_the_code_since_the_snapshot_fails_naming_it(tmp_path: Path) -> None:
    """A new user's trial: `import requests` added to a helper of the predictor, committed,
    no new snapshot: every Snapshot gate stayed green and only the image failed to start
    (`ModuleNotFoundError`). The code is the check's input, read again by its scan."""
    from tests.helpers import write_runtime_set
    from workbench.project.lockfile import read_snapshot, write_snapshot
    from workbench.project.records import RuntimeEntry

    project = copy_example("iris", tmp_path / "iris")
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text().replace(
            "  flavor: sklearn\n",
            "  flavor: python\n  predictor: predict:Model\n  code: [helpers]\n",
            1,
        )
    )
    (project / "predict.py").write_text(
        "import json\nimport numpy\nfrom helpers import r\n\n\nclass Model:\n    pass\n"
    )
    (project / "helpers").mkdir()
    (project / "helpers" / "__init__.py").write_text("def r(x):\n    return round(x)\n")
    write_runtime_set(project, {"numpy": RuntimeEntry(version="2.1.0", why=["imported"])})
    snap = read_snapshot(project)
    snap.imports = ["helpers", "json", "numpy"]
    write_snapshot(project, snap)
    checklist = open_checklist(load_manifest(project))

    def run() -> tuple[str, list[str]]:
        ctx = CheckContext(load_manifest(project))
        list(checklist.run(["snapshot.imports-resolved"], ctx))
        view = checklist.view("snapshot.imports-resolved")
        return view.status.value, view.evidence

    status, evidence = run()
    assert status == "pass" and "the code's 3 imported modules read again" in evidence[0]
    # A module the snapshot accounts for (numpy: in the runtime set) is no new import, and a
    # file declaring its encoding is read as it says.
    (project / "helpers" / "__init__.py").write_bytes(
        b"# coding: latin-1\nimport numpy.linalg\n\ndef r(x):  # \xe9t\xe9\n    return x\n"
    )
    assert run()[0] == "pass"
    (project / "helpers" / "__init__.py").write_text(
        "import os\nimport requests\n\ndef r(x):\n    return round(x)\n"
    )
    status, evidence = run()  # the code is an input: re-run, not kept green
    assert status == "fail" and "requests: imported by helpers/__init__.py" in evidence, evidence
    assert not any(line.startswith("os:") for line in evidence)  # the standard library's
    snap.imports = None  # a snapshot from before imports were recorded: not compared, said
    write_snapshot(project, snap)
    status, evidence = run()
    assert status == "warn" and "not compared" in evidence[0], evidence


def test_the_snapshot_accounts_for_what_the_runtime_set_provides() -> None:
    """A new `from sklearn.base import ...` or `import scipy.special` in a helper is not an
    unresolved import when the runtime set already has scikit-learn and scipy (a reviewer's
    case: the check failed a correct project): the snapshot records, beside the code's own
    imports, the modules the runtime set's packages provide and those imported at run time."""
    from workbench.project.model_env import InProcessAnswers
    from workbench.steps.snapshot.resolve import RuntimePackage, RuntimeSet
    from workbench.steps.snapshot.take import _known_modules

    env = {
        "dists": [
            {"name": "scikit-learn", "top_level": ["sklearn"]},
            {"name": "scipy", "top_level": ["scipy"]},
            {"name": "requests", "top_level": ["requests"]},
        ]
    }
    runtime = RuntimeSet(
        packages={n: RuntimePackage(n, "1") for n in ("scikit-learn", "scipy")},
        unresolved={},
        inconsistent=[],
    )
    answers = InProcessAnswers(answers=[], modules=["joblib.numpy_pickle"], warnings=[])
    known = _known_modules(env, runtime, answers, {"helpers": ["predict.py"]})
    assert known == ["helpers", "joblib", "scipy", "sklearn"]  # not requests: not in the set


def test_a_rewritten_description_leaves_the_models_inputs_as_they_were(tmp_path: Path) -> None:
    """Editing only descriptions made `snapshot.model-loads` (a gate) stale and `tag`
    refuse (a new user's trial): the model's answers depend on the request's structure,
    not on the words around it. A type changed is still a change."""
    from workbench.checklist.checks import CheckContext
    from workbench.steps.shared import model_inputs

    project = copy_example("iris", tmp_path / "iris")
    request = project / "schema" / "request.yaml"

    def measured() -> str:
        return model_inputs(CheckContext(load_manifest(project)))["request"]

    before = measured()
    request.write_text(request.read_text().replace("description:", "description: (cm)", 1))
    assert measured() == before
    request.write_text(request.read_text().replace("type: number", "type: integer", 1))
    assert measured() != before
    # Values are values, whatever words they hold (a reviewer's read), and year columns
    # (integer keys) are no crash.
    request.write_text(
        "type: object\nproperties:\n  plan: {enum: [{title: A}], default: {description: fast}}\n"
        "  2021: {type: number}\n"
    )
    first = measured()
    request.write_text(request.read_text().replace("title: A", "title: C"))
    second = measured()
    request.write_text(request.read_text().replace("fast", "slow"))
    assert len({first, second, measured()}) == 3
