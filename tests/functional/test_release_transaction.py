"""A release is one transaction: `tag` killed with SIGKILL at random moments leaves either no
release or a whole one, and the next command finishes or undoes a half-made one, saying
which; a push killed before its record was committed is committed by the next push; stray
temporary files of atomic writes never block a release."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.doubler import ready_to_release
from tests.helpers import git
from workbench.project.manifest import load_manifest
from workbench.project.releases import releases
from workbench.project.transaction import journal_path

pytestmark = [pytest.mark.docker, pytest.mark.slow]
BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
KILLS = 20  # half anywhere in a release, half inside its transaction


def _ready(tmp_path: Path) -> tuple[Path, Path]:
    """Ready to release, with a slow pre-commit hook."""
    project, recorded = ready_to_release(tmp_path)
    # A slow pre-commit hook: the window between the release files and their commit.
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nsleep 0.2\n")
    hook.chmod(0o755)
    return project, recorded


def _consistent(project: Path, names: list[str]) -> list[str]:
    """What is wrong with the project's releases: every visible release is whole (manifest
    committed at its annotated tag, HEAD after it) and nothing of an unfinished one is left."""
    problems = []
    manifest = load_manifest(project)
    visible = [str(v) for v in releases(manifest)]
    if journal_path(project).exists():
        problems.append("a release journal is left")
    for version in visible:
        if git(project, "cat-file", "-t", f"v{version}") != "tag":
            problems.append(f"{version}: no annotated tag")
        elif subprocess.run(
            ["git", "cat-file", "-e", f"v{version}:releases/{version}.yaml"], cwd=project
        ).returncode:
            problems.append(f"{version}: its manifest is not in the tagged commit")
    for name in names:
        if name not in visible and (project / "releases" / f"{name}.yaml").exists():
            problems.append(f"{name}: a phantom release file")
        if name not in visible and git(project, "tag", "--list", f"v{name}"):
            problems.append(f"{name}: a tag without its release")
    for index, version in enumerate(visible):
        previous = yaml.safe_load((project / "releases" / f"{version}.yaml").read_text())[
            "previous"
        ]
        if previous != (visible[index - 1] if index else None):
            problems.append(f"{version}: records previous {previous}")
    staged = git(project, "diff", "--cached", "--name-only")
    if staged:
        problems.append(f"staged leftovers: {staged}")
    return problems


def test_tag_killed_at_random_moments_leaves_no_release_or_a_whole_one(
    tmp_path: Path, base_image: str
) -> None:
    project, recorded = _ready(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    driver = [sys.executable, "-m", "tests.release_driver", str(project)]
    # How long a whole release takes: the kills land anywhere inside it.
    started = time.monotonic()
    first = subprocess.run(
        [*driver, "1.0.0", str(recorded)], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr[-3000:]
    whole = time.monotonic() - started
    attempted, said = ["1.0.0"], []
    rng = random.Random(23)
    patch = 1
    for attempt in range(KILLS):
        version = f"1.0.{patch}"
        attempted.append(version)
        process = subprocess.Popen(
            [*driver, version, str(recorded)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # killed with its git children, as a stopped terminal would
        )
        if attempt % 2:  # anywhere in the release ...
            time.sleep(rng.uniform(0.0, whole * 1.1))
        else:  # ... or inside its transaction: once the journal says one is under way
            for _ in range(300):  # bounded: 30 s
                if journal_path(project).exists() or process.poll() is not None:
                    break
                time.sleep(0.1)
            time.sleep(rng.uniform(0.0, 0.5))  # the pre-commit hook alone holds 0.2 s
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        # The next command finishes or undoes what the kill left, and says which.
        check = subprocess.run(
            [str(BIN / "workbench"), "check", "--no-run", "-p", str(project)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in check.stderr, check.stderr
        for _ in range(3):  # an engine too busy to tag the image: run again, as it says
            if "could not be tagged yet" not in check.stdout:
                break
            time.sleep(2)
            check = subprocess.run(
                [str(BIN / "workbench"), "check", "--no-run", "-p", str(project)],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        said += [line for line in check.stdout.splitlines() if line.startswith("release 1.0.")]
        assert _consistent(project, attempted) == [], (version, check.stdout)
        if version in [str(v) for v in releases(load_manifest(project))]:
            patch += 1
    # Some kills landed inside the transaction and were recovered both ways, and the
    # history goes on: the next release records the last whole one as its previous.
    assert any("undone" in line for line in said), said
    final = f"1.0.{patch}"
    last = subprocess.run([*driver, final, str(recorded)], env=env, capture_output=True, text=True)
    assert last.returncode == 0, last.stderr[-3000:]
    assert _consistent(project, [*attempted, final]) == []
    # A kill between the engine creating a serve-test container and the process removing
    # it left that container for good (seen after a CI run): the next serve test of the
    # project removes what sessions of killed processes left.
    from workbench.kernel.docker import docker_client
    from workbench.steps.serve.run import containers_of

    left = containers_of(docker_client(), load_manifest(project).project_id)
    assert [c.name for c in left] == []


def test_stray_temporary_files_never_block_a_release(tmp_path: Path, base_image: str) -> None:
    project, recorded = _ready(tmp_path)
    (project / ".checklist.yaml.k1ll3d.tmp").write_text("half a checklist")
    (project / "releases").mkdir(exist_ok=True)
    (project / "releases" / ".1.0.0.yaml.x9.tmp").write_text("half a manifest")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.release_driver", str(project), "1.0.0", str(recorded)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert _consistent(project, ["1.0.0"]) == []


def test_a_push_killed_before_its_record_was_committed_is_committed_by_the_next_push(
    tmp_path: Path, base_image: str, registry: object
) -> None:
    project, recorded = _ready(tmp_path)
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text() + f"registry: {registry.host}/team/doubler\n"  # type: ignore[attr-defined]
    )
    git(project, "commit", "-qam", "push to the test registry")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    released = subprocess.run(
        [sys.executable, "-m", "tests.release_driver", str(project), "1.0.0", str(recorded)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert released.returncode == 0, released.stderr[-3000:]
    # The push is killed (SIGKILL) at the moment it commits its record: its git commit's own
    # hook kills the workbench that runs it, and the commit stops there (no lock left).
    hook = project / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        "#!/bin/sh\n"
        'if [ -n "$KILL_THE_PUSH" ]; then kill -9 "$(ps -o ppid= -p "$PPID" | tr -d " ")"; '
        "exit 1; fi\nexit 0\n"
    )
    killed = subprocess.run(
        [str(BIN / "workbench"), "push", "-p", str(project)],
        env={**env, "KILL_THE_PUSH": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    record = project / "releases" / "1.0.0.yaml"
    assert "pushed: true" in record.read_text()  # the record was written ...
    for _ in range(100):  # the orphaned git commit ends a moment later (bounded: 10 s)
        if not (project / ".git" / "index.lock").exists():
            break
        time.sleep(0.1)
    assert git(project, "status", "--porcelain", "--", "releases/1.0.0.yaml")  # ... uncommitted
    again = subprocess.run(
        [str(BIN / "workbench"), "push", "-p", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert git(project, "status", "--porcelain", "--", "releases/1.0.0.yaml") == ""
    assert "record of an interrupted push" in git(project, "log", "-1", "--format=%B")


def test_a_file_saved_while_the_candidate_is_tested_stops_the_release(
    tmp_path: Path, base_image: str
) -> None:
    project, recorded = _ready(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RELEASE_DRIVER_TOUCH": str(project / "predictor.py"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.release_driver", str(project), "1.0.0", str(recorded)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    # Checked again after the candidate's test (it was only checked before): refused, named.
    assert "uncommitted changes: predictor.py" in done.stderr, done.stderr[-2000:]
    assert _consistent(project, ["1.0.0"]) == [] and not releases(load_manifest(project))


PUSH_KILLS = 12  # with the 20 of `tag` above: 32 random moments


def _push_consistent(project: Path, version: str) -> list[str]:
    """What is wrong right after a push was killed: a record that says pushed must name the
    digest the registry really holds for the version, pointing at the tested image."""
    from workbench.project.releases import load_release
    from workbench.steps.push.publish import _registry, config_digest

    manifest = load_manifest(project)
    record = load_release(manifest, version)
    if not record.push.pushed:
        return []
    registry = _registry(manifest)
    held = registry.manifest_digest(version)
    if held != record.push.digest:
        return [f"{version}: recorded pushed as {record.push.digest}, the registry holds {held}"]
    if held and config_digest(registry, held) != record.image.id:
        return [f"{version}: the registry's {held} is not the tested image"]
    return []


def _push_state(project: Path, version: str) -> str:
    """Where a kill stopped a push, read back from the record, git and the registry."""
    from workbench.project.releases import load_release
    from workbench.steps.push.publish import _registry

    manifest = load_manifest(project)
    if load_release(manifest, version).push.pushed:
        dirty = git(project, "status", "--porcelain", "--", "releases")
        return "recorded, not committed" if dirty else "whole"
    held = _registry(manifest).manifest_digest(version)
    return "in the registry, not recorded" if held else "not in the registry"


def test_push_killed_at_random_moments_is_never_recorded_wrong_and_the_next_push_completes_it(
    tmp_path: Path, base_image: str, registry: object
) -> None:
    """Twelve releases, each pushed by a `workbench push` killed (SIGKILL, with its git and
    its children) at a random moment of it: what it left never records a digest the registry
    does not hold, and the next push completes the release: pushed, verified, committed."""
    project, recorded = _ready(tmp_path)
    (project / ".git" / "hooks" / "pre-commit").unlink()
    manifest_file = project / "workbench.yaml"
    manifest_file.write_text(
        manifest_file.read_text()
        + f"registry: {registry.host}/team/doubler-kills\n"  # its own repository  # type: ignore[attr-defined]
    )
    git(project, "commit", "-qam", "push to the test registry")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    versions = [f"1.0.{n}" for n in range(PUSH_KILLS + 2)]
    for version in versions:  # the same tested image each time: tags are cheap
        tagged = subprocess.run(
            [sys.executable, "-m", "tests.release_driver", str(project), version, str(recorded)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert tagged.returncode == 0, (version, tagged.stderr[-3000:])
    push = [str(BIN / "workbench"), "push", "-p", str(project)]
    first = subprocess.run([*push, versions[0]], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr  # the layers are uploaded once
    started = time.monotonic()  # how long a later push takes: the kills land inside one
    second = subprocess.run([*push, versions[1]], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    whole = time.monotonic() - started
    rng = random.Random(40)
    landed, states = 0, dict[str, int]()
    for version in versions[2:]:
        process = subprocess.Popen(
            [*push, version],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started = time.monotonic()
        moment = started + rng.uniform(0.3, 1.0) * whole  # the first third is Python starting
        while process.poll() is None and time.monotonic() < moment:  # bounded by `moment`
            time.sleep(0.02)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            landed += 1
        else:  # a push takes this long now (the machine's load changes): aim inside that
            whole = time.monotonic() - started
        process.wait(timeout=30)
        assert _push_consistent(project, version) == [], version
        left = _push_state(project, version)
        states[left] = states.get(left, 0) + 1
        again = subprocess.run(
            [*push, version], env=env, capture_output=True, text=True, timeout=300
        )
        assert again.returncode == 0, (version, again.stdout + again.stderr)
        assert _push_consistent(project, version) == []
        assert "pushed: true" in git(project, "show", f"HEAD:releases/{version}.yaml")
        assert git(project, "status", "--porcelain", "--", "releases") == "", version
    print(f"what {PUSH_KILLS} kills left: {states}")  # seen in the log of the run
    assert landed >= PUSH_KILLS // 2, f"only {landed} kills landed inside a push"
