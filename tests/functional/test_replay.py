"""Replay before promote (issue #30) on the real engine: one swarm deploy of two replicas
of the iris model with prediction logging on, 200 varied requests answered by them (100 by
each, sent from inside each task: the tasks live on the overlay network), then a candidate
whose model answers differently on some inputs (its versicolor intercept raised), replayed
with `workbench replay` as a user runs it: the logs of both replicas read, all 200 requests
sent to the candidate run locally as the serve test runs it, and the disagreement it has
reported, field by field, counted exactly as the two models' own answers differ. The
candidate's image carries the project's id label and is removed; its container too."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.functional.test_deploy import a_swarm  # noqa: F401  (the swarm fixture)
from tests.functional.test_operate import released_and_deployed
from tests.helpers import image_from_files
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import ItemFinished
from workbench.demo import parts as harness
from workbench.kernel.clock import now
from workbench.project.manifest import Manifest, load_manifest
from workbench.project.releases import load_release, save_release
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.push import swarm
from workbench.steps.serve import run

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]

SEND = """
import json, sys, urllib.request
ok = 0
for record in json.loads(sys.argv[1]):
    request = urllib.request.Request("http://127.0.0.1:8080/predict",
                                     data=json.dumps(record).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        ok += answer.status == 200
print(ok)
"""

CHANGE = """
import json, sys, joblib
model = joblib.load(sys.argv[1])
records = json.loads(open(sys.argv[3]).read())
rows = [[r[f] for f in model.feature_names] for r in records]
before = list(model.predict(rows))
model[-1].intercept_[1] += 2.0  # versicolor, more often
joblib.dump(model, sys.argv[2])
after = list(model.predict(rows))
print(json.dumps(sum(a != b for a, b in zip(before, after))))
"""


def flowers(n: int) -> list[dict[str, float]]:
    """Iris-like flowers across the three species and the borders between them."""
    rng = random.Random(7)
    return [
        {
            "sepal_length": round(rng.uniform(4.3, 7.9), 1),
            "sepal_width": round(rng.uniform(2.0, 4.4), 1),
            "petal_length": round(rng.uniform(1.0, 6.9), 1),
            "petal_width": round(rng.uniform(0.1, 2.5), 1),
        }
        for _ in range(n)
    ]


def deployed_with_logging(root: Path, python: Path, registry: harness.Registry) -> Manifest:
    manifest: Manifest = released_and_deployed(
        root,
        python,
        registry,
        name="replay",
        settings="monitoring:\n  log_predictions: true\n  replay_min_agreement: 0.99\n",
        message="the iris model, its predictions logged",
    )
    return manifest


def changed_candidate(
    client: Any, manifest: Manifest, python: Path, sent: list[dict[str, float]], tmp: Path
) -> tuple[str, int]:
    """Release 1.1.0 as 1.0.0's image with a changed model (labelled as the project's), and
    how many of `sent` its model predicts differently from 1.0.0's."""
    root, records = manifest.root, tmp / "sent.json"
    records.write_text(json.dumps(sent))
    changed = tmp / "model.joblib"
    done = subprocess.run(
        [str(python), "-c", CHANGE, str(root / "model" / "model.joblib"), str(changed), records],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    differ = int(done.stdout.strip())
    first = load_release(manifest, "1.0.0")
    dockerfile = (
        f"FROM {first.image.id}\nUSER root\nCOPY model.joblib /tmp/changed.joblib\n"
        "RUN for f in $(find /app/model -name '*.joblib'); do cp /tmp/changed.joblib $f; done "
        "&& rm /tmp/changed.joblib\nUSER 10001:10001\n"
    ).encode()
    image = image_from_files(
        client,
        {"Dockerfile": dockerfile, "model.joblib": changed.read_bytes()},
        pull=False,
        rm=True,
        forcerm=True,
        labels={run.PROJECT_ID_LABEL: manifest.project_id},
    )
    candidate = load_release(manifest, "1.0.0")
    candidate.version, candidate.created = "1.1.0", now()
    candidate.image.id = candidate.image.tested_id = image.id
    candidate.push.pushed, candidate.push.digest = False, None
    save_release(manifest, candidate)
    return str(image.id), differ


def test_a_replay_of_200_logged_requests_reports_the_candidates_disagreement(
    tmp_path: Path,
    example_python: Path,
    registry: harness.Registry,
    a_swarm: Any,  # noqa: F811
) -> None:
    root = copy_example("iris", tmp_path / "iris")
    manifest = deployed_with_logging(root, example_python, registry)
    deployed = swarm.deploy(manifest, "production", replicas=2, by="Ana")
    assert deployed.result == "created", deployed.message

    sent = flowers(200)
    tasks = a_swarm.containers.list(
        ignore_removed=True, filters={"label": f"com.docker.swarm.service.name={deployed.service}"}
    )
    assert len(tasks) == 2
    for task, half in zip(tasks, (sent[:100], sent[100:]), strict=True):
        code, output = task.exec_run(["python3", "-c", SEND, json.dumps(half)])
        assert code == 0 and output.decode().strip() == "100", output

    image, differ = changed_candidate(a_swarm, manifest, example_python, sent, tmp_path)
    try:
        assert 0 < differ < 200, differ  # a model that answers differently on some inputs
        done = subprocess.run(
            [
                *(str(Path(sys.executable).parent / "workbench"), "replay", "--json"),
                *("--channel", "production", "--candidate", "1.1.0", "-p", str(root)),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 1, done.stdout + done.stderr  # under the team's 99%
        report = json.loads(done.stdout)
        said = {k: v for k, v in report.items() if k not in ("fields", "errors")}
        print("replay:", differ, "predictions differ;", said, report["fields"])
        assert report["verdict"] == "fail"
        assert (report["logged"], report["sent"], report["answered"]) == (200, 200, 200)
        assert report["source"] == f"2 replicas of the service {deployed.service}"
        assert report["production"] == "1.0.0" and report["candidate"] == "1.1.0"
        fields = {f["field"]: f for f in report["fields"]}
        assert set(fields) == {"prediction", "probabilities"}
        prediction = fields["prediction"]
        assert (prediction["compared"], prediction["agreed"]) == (200, 200 - differ)
        assert fields["probabilities"]["agreed"] < 200  # the raised intercept moves them all
        assert report["agreed"] <= 200 - differ
        assert report["errors"] == []
        assert report["production_p50_ms"] is not None  # production's access lines logged
        assert report["candidate_p50_ms"] is not None
        # the candidate's container is gone (by the project's own label)
        assert run.containers_of(a_swarm, manifest.project_id) == []

        # push.replay holds it: failed, the disagreeing field and its count named
        checklist = open_checklist(load_manifest(root), user="Ana")
        view = checklist.view("push.replay")
        assert view.status is Status.FAIL, view.evidence
        assert f"prediction: disagreed on {differ} of 200" in " ".join(view.evidence)
        # a later candidate makes the replay stale
        later = load_release(manifest, "1.1.0")
        later.version, later.created = "1.2.0", now()
        save_release(manifest, later)
        events = checklist.run(["push.replay"], CheckContext(manifest))
        (again,) = [e.view for e in events if isinstance(e, ItemFinished)]
        assert again.status is Status.STALE, again.evidence
        assert "the candidate is 1.2.0" in " ".join(again.evidence)
    finally:
        a_swarm.images.remove(image, force=True)
