"""The installed `workbench` command, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WORKBENCH = str(Path(sys.executable).parent / "workbench")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WORKBENCH, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_help_and_version() -> None:
    help_text = run("--help")
    assert help_text.returncode == 0
    for command in ("init", "tui", "demo"):
        assert command in help_text.stdout
    # The five steps first, in their order, then the rest; flags show no `<bool>`.
    listed = [
        line.split()[1]
        for line in help_text.stdout.splitlines()
        if line.startswith("│ ") and not line.startswith("│  ") and line.split()[1].isalpha()
    ]
    steps = [name for name in listed if name in ("snapshot", "schema", "serve", "tag", "push")]
    assert steps == ["snapshot", "schema", "serve", "tag", "push"], listed
    assert listed.index("push") < listed.index("monitor") and listed[0] == "snapshot", listed
    assert "<bool>" not in help_text.stdout and "<bool>" not in run("check", "--help").stdout
    version = run("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("workbench ")


def test_init_on_a_model_folder_then_a_broken_manifest_is_one_paragraph(tmp_path: Path) -> None:
    (tmp_path / "model.joblib").write_bytes(b"m")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(sys.executable)
    result = run("init", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "model.joblib" in result.stdout
    text = (tmp_path / "workbench.yaml").read_text()
    assert "artifact: model.joblib" in text
    assert "python: .venv/bin/python" in text

    again = run("init", str(tmp_path))
    assert again.returncode == 1
    assert "already exists" in again.stderr

    (tmp_path / "workbench.yaml").write_text(text.replace("flavor:", "flavr:"))
    broken = run("tui", "--project", str(tmp_path))
    assert broken.returncode == 1
    assert "Traceback" not in broken.stderr
    assert "did you mean `model.flavor`?" in " ".join(broken.stderr.split())


def test_opening_the_tui_outside_a_project_is_one_paragraph(tmp_path: Path) -> None:
    for args in ((), ("tui",), ("--pair", "Ana,Ben")):
        outside = run(*args, cwd=tmp_path)
        assert outside.returncode == 1
        assert "Traceback" not in outside.stderr
        assert "no manifest here" in outside.stderr
        assert "workbench init" in " ".join(outside.stderr.split())
    bad_pair = run("-p", str(tmp_path), "--pair", "Ana")
    assert (bad_pair.returncode, "Traceback" in bad_pair.stderr) == (1, False)
    assert '--pair "Ana" is not two different names' in bad_pair.stderr
    unknown = run("tui", "--colour", "red", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "No such option" in unknown.stderr


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.registry
def test_the_readme_main_job_runs_headless_through_all_five_steps(
    tmp_path: Path, docker_engine: object, base_image: str
) -> None:
    result = subprocess.run(
        [WORKBENCH, "demo", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1200,
        check=False,
    )
    out = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for expected in (
        "1. Snapshot",
        "pass serve.examples-parity",
        "released 1.0.0: git tag v1.0.0",
        "pushed and verified sha256:",
        "production -> 1.0.0",
        "pass push.digest-verified",
    ):
        assert expected in out, expected
    assert (tmp_path / "demo" / "releases" / "1.0.0.yaml").exists()
    # It ends saying what is finished, "next" agreeing with what limits readiness, and
    # commands that work as typed (issue #25).
    lines = result.stdout.splitlines()
    assert any(line.startswith("1.0.0 pushed and on production; ") for line in lines), lines[-12:]
    limited = next(line for line in lines if line.startswith("readiness "))
    following = next(line for line in lines if line.startswith("next: "))
    if "limited by " in limited:
        step = limited.split("limited by ", 1)[1].split(":")[0].split(")")[0]
        assert following.startswith(f"next: {step}: "), (limited, following)
    else:
        assert following == "next: nothing left"
    opener = lines[-1].split("Open the project: ", 1)[1].split()
    assert opener[0] in (WORKBENCH, "workbench") and Path(opener[2]).is_dir(), lines[-1]
    assert any("--registry HOST[:PORT]/PATH" in line for line in lines[-6:]), lines[-6:]
    for line in lines:  # headless: never wrapped at 80 columns
        assert not line.startswith("                 ") or len(line) > 80, line


@pytest.mark.slow
def test_schema_infer_then_validate_on_the_example(example_project: Path) -> None:
    refused = run("schema", "infer", "-p", str(example_project))
    assert refused.returncode == 1
    assert "may hold your edits" in refused.stderr
    assert run("schema", "infer", "--force", "-p", str(example_project)).returncode == 0
    from workbench.kernel.yamlio import load_yaml, to_plain

    response = to_plain(load_yaml(example_project / "schema" / "response.yaml"))
    assert response["properties"]["prediction"]["type"] == "string"
    assert set(response["properties"]["probabilities"]["properties"]) == {
        "setosa",
        "versicolor",
        "virginica",
    }
    assert response["required"] == ["prediction", "probabilities"]
    validated = run("schema", "validate", "-p", str(example_project))
    assert validated.returncode == 0, validated.stdout
    assert validated.stdout.count("pass") == 3


def test_tag_dry_run_lists_the_gates_that_would_block_and_what_to_do(
    example_project: Path,
) -> None:
    result = run("tag", "--dry-run", "-p", str(example_project))
    assert result.returncode == 1, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "the tag would be refused" in out
    # Pending is not failing: it needs running, and no fix is offered for it (it printed
    # "snapshot.fresh is pending: Run `workbench snapshot` again").
    assert "snapshot.fresh is pending: not run yet: run `workbench check --step snapshot`" in out
    assert "workbench snapshot` again" not in out
    assert "not known until the candidate image is tested" in out
    assert "Traceback" not in result.stderr


def test_concurrent_ticks_never_lose_an_answer(example_project: Path) -> None:
    # Ten rounds of two `workbench tick`s started together: each must land (both used to
    # read, change and write back the whole state; one answer was lost in half the runs).
    from workbench.checklist.state import load_state

    items = ("schema.descriptions-complete", "serve.tried-by-hand")
    for round_number in range(10):
        note = f"round {round_number}"
        ticks = [
            subprocess.Popen(
                [WORKBENCH, "tick", item, "yes", "-m", note, "-p", str(example_project)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for item in items
        ]
        for tick in ticks:
            out, err = tick.communicate(timeout=120)
            assert tick.returncode == 0, out + err
        state = load_state(example_project)
        assert {i: state.ticks[i].note for i in items} == dict.fromkeys(items, note)


def test_a_second_writer_gets_a_clear_message_naming_the_first(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib\n"
            "from workbench.kernel.lock import project_lock\n"
            f"with project_lock(pathlib.Path({str(tmp_path)!r}), 'release', 'tagging 1.0.0'):\n"
            "    print('held', flush=True); time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        from workbench.kernel.lock import Busy, project_lock

        with pytest.raises(Busy) as busy, project_lock(tmp_path, "release", "pushing", wait=0):
            pass
        assert f"pid {holder.pid}, tagging 1.0.0" in busy.value.message
        assert "pushing was not started" in busy.value.message
    finally:
        holder.kill()
        holder.wait()
    with project_lock(tmp_path, "release", "pushing", wait=5):  # released by the kernel
        pass


def test_a_port_in_use_is_said_before_anything_is_built(example_project: Path) -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run("serve", "--port", str(port), "-p", str(example_project))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is not free" in result.stderr
    assert "nothing was built" in result.stderr
    assert not (example_project / ".workbench" / "build").exists()


def test_init_with_a_registry_on_an_existing_project_sets_only_the_registry(
    tmp_path: Path,
) -> None:
    """The line the demo ends with, to point a project at your own registry (issue #25)."""
    project = tmp_path / "iris"
    assert run("init", "--example", "iris", str(project)).returncode == 0
    before = (project / "workbench.yaml").read_text()
    result = run("init", str(project), "--registry", "localhost:5000/me/iris")
    assert result.returncode == 0, result.stderr
    after = (project / "workbench.yaml").read_text()
    assert "registry: localhost:5000/me/iris" in after
    assert [line for line in after.splitlines() if not line.startswith("registry:")] == [
        line for line in before.splitlines() if not line.startswith("registry:")
    ]
    wrong = run("init", str(project), "--registry", "not a ref")
    assert (wrong.returncode, "Traceback" in wrong.stderr) == (1, False)
    assert "is not a registry reference" in wrong.stderr
