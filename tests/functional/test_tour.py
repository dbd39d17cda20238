"""The README's tour, run as written, and what a reviewer relies on after it (issue #12).

One real release cycle on the real engine and registry: the image the serve test
ran is the image released and pushed; right after the release every gate is
passing and fresh; the release's frozen report never changes; a later change
makes exactly the right items stale and the report says what changed; sign-offs
are bound to a release.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.demo import parts
from workbench.kernel.oci import client_for
from workbench.project.manifest import load_manifest
from workbench.project.releases import load_release
from workbench.steps import open_checklist
from workbench.steps.serve.report import built_image

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def tour_script() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- tour -->\n```bash\n(.*?)```\n<!-- /tour -->", readme, re.S)
    assert match, "the README has no tour block"
    return match.group(1)


def run(cwd: Path, env: dict[str, str], *args: str, check: bool = True) -> str:
    result = subprocess.run(
        [str(BIN / "workbench"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert not check or result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_readme_tour_runs_as_written_and_the_release_can_be_trusted(
    tmp_path: Path, registry: parts.Registry, base_image: str
) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Ana Tester\n\temail = ana@example.com\n")
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "COLUMNS": "200",
    }
    repository = f"{registry.host}/tour/iris"
    script = tour_script()
    assert "REGISTRY=localhost:5000/team/iris" in script
    script = script.replace("REGISTRY=localhost:5000/team/iris", f"REGISTRY={repository}", 1)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    project = tmp_path / "iris"
    manifest = load_manifest(project)

    # Build once, ship the same bytes: serve test = release = registry config.
    checklist = open_checklist(manifest)
    tested = built_image(checklist.state.results["serve.image-built"])
    record = load_release(manifest, "1.0.0")
    assert tested is not None and record.image.id == record.image.tested_id == tested.image_id
    client = client_for(repository)
    body, _, _ = client.get_manifest(str(record.push.digest))
    assert json.loads(body)["config"]["digest"] == tested.image_id == record.push.config_digest

    # Right after the release, every gate passes and is fresh.
    data = json.loads(run(project, env, "check", "--no-run", "--json"))
    gates = {i["id"]: i["status"] for i in data["items"] if i["gate"]}
    assert {s for s in gates.values()} <= {"pass", "warn", "skipped"}, gates
    assert data["since_release"]["files"] == [] and data["since_release"]["items"] == []
    # Success reads as success, and "next" agrees with what limits readiness (issue #25).
    assert data["released"].startswith("1.0.0 pushed and on production; "), data["released"]
    limited = data["readiness"]["limited_by"]
    assert data["next"] == "" or (limited and data["next"].startswith(limited.title() + ": "))

    # The frozen report of a release reads the same after an unrelated commit.
    frozen_before = run(project, env, "report", "--release", "1.0.0", "--format", "json")
    (project / "NOTES.md").write_text("unrelated\n")
    git(project, env, "add", "NOTES.md")
    git(project, env, "commit", "-qm", "notes")
    frozen_after = run(project, env, "report", "--release", "1.0.0", "--format", "json")
    assert frozen_before == frozen_after
    assert json.loads(frozen_before)["release"]["image"] == tested.image_id

    # A reviewer signs the release off; it is bound to its version and revision.
    run(project, env, "signoff", "--by", "Rita", "--release", "1.0.0", "-m", "read it")
    signoff = open_checklist(manifest).state.signoffs[-1]
    assert (signoff.release, signoff.revision) == ("1.0.0", record.git.revision)

    # A code change makes the right items stale, and the report says what changed.
    train = project / "train.py"
    train.write_text(train.read_text() + "\n# tuned later\n")
    git(project, env, "commit", "-qam", "tune the training script")
    checklist = open_checklist(manifest)
    stale = {v.item.id for v in checklist.views() if v.status.value == "stale"}
    assert "tag.git-clean" in stale
    assert not {i for i in stale if i.startswith(("serve.", "schema.", "snapshot."))}, stale
    report = run(project, env, "report", "--format", "md")
    assert "## Changed since release 1.0.0" in report
    assert "file `train.py`" in report and "file `NOTES.md`" in report

    # A new release: the earlier sign-off no longer matches the latest release.
    run(project, env, "tag")
    data = json.loads(run(project, env, "report", "--format", "json"))
    assert [s["status"] for s in data["signoffs"]] == [
        "no longer matches the latest release: 1.0.0 signed, 1.0.1 is out"
    ]
