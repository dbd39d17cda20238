"""Step 3 on the real engine: build, run and test real containers, and catch what is wrong."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import containers_of
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.engine import Checklist, ItemFinished
from workbench.kernel.cancel import Cancelled
from workbench.kernel.docker import docker_client
from workbench.kernel.http import request
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve import probes, run, session
from workbench.steps.serve.build import LABEL_PREFIX
from workbench.steps.serve.checks import SERVE_ITEMS
from workbench.steps.serve.health import health_probe
from workbench.steps.serve.report import built_image, serve_figures
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def run_items(
    project: Path, ids: list[str], phases: list[str] | None = None
) -> tuple[Checklist, dict[str, Status]]:
    checklist = open_checklist(load_manifest(project), user="Ana")
    said = phases.append if phases is not None else lambda _: None
    events = checklist.run(ids, CheckContext(checklist.manifest, phase=said))
    return checklist, {e.item_id: e.view.status for e in events if isinstance(e, ItemFinished)}


def test_the_example_builds_runs_and_passes_every_serve_check(
    tmp_path: Path, example_project: Path, base_image: str
) -> None:
    run_snapshot(load_manifest(example_project), lambda event: None)
    phases: list[str] = []
    checklist, statuses = run_items(example_project, ["serve.base-image", *SERVE_ITEMS], phases)
    failed = {i: checklist.view(i).evidence for i, s in statuses.items() if s is not Status.PASS}
    assert failed == {}
    # The running row's stages, in the order the session reached them (the TUI shows each)
    probe_items = [p.item_id for p in probes.PROBES]
    assert phases == ["serve.secrets-free", "serve.image-built", "start", *probe_items]
    built = built_image(checklist.state.results["serve.image-built"])
    assert built is not None
    image = docker_client().images.get(built.image_id)
    labels = image.labels
    assert labels["org.opencontainers.image.title"] == "iris-classifier"
    assert labels["org.opencontainers.image.version"] == "0.0.0-dev"
    assert labels[f"{LABEL_PREFIX}.lock-sha256"].startswith("sha256:")
    # Whose it is (the session's cleanup in tests/conftest.py removes its own by this)
    assert labels[f"{LABEL_PREFIX}.project-id"] == load_manifest(example_project).project_id
    config = image.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["python3", "-m", "serving"]
    assert config["Healthcheck"]["Test"][0] == "CMD"
    performance = serve_figures(checklist.state.results["serve.performance"])
    assert performance is not None and performance.p50_ms > 0
    assert performance.peak_memory_mb is not None and performance.peak_memory_mb > 0
    assert (example_project / ".workbench" / "build" / "Dockerfile").exists()
    assert not containers_of(example_project)


PREDICTOR = """\
class Model:
    def load(self, artifacts_dir):
        pass

    def predict(self, record):
        x = record["x"]
        if x > 9:
            raise ValueError("cannot handle large x")
        if x < 1:
            return {"y": -1.0}  # breaks the response schema (minimum 0)
        return {"y": 2.0 * x}
"""


def faulty_project(root: Path, *, extra_files: dict[str, str] | None = None) -> Path:
    (root / "schema" / "examples").mkdir(parents=True)
    (root / "schema" / "examples" / "two.json").write_text('{"x": 2}')
    (root / "schema" / "request.yaml").write_text(
        textwrap.dedent("""\
        type: object
        additionalProperties: false
        required: [x]
        properties:
          x: {type: number, minimum: 0, maximum: 10, description: the input}
        """)
    )
    (root / "schema" / "response.yaml").write_text(
        textwrap.dedent("""\
        type: object
        additionalProperties: false
        required: [y]
        properties:
          y: {type: number, minimum: 0, description: twice the input}
        """)
    )
    (root / "predictor.py").write_text(PREDICTOR)
    code = ""
    for relative, text in (extra_files or {}).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
        code = f"  code: [{relative.split('/')[0]}]\n"
    (root / "workbench.yaml").write_text(
        f"name: doubler\npython: {sys.executable}\nmodel:\n  flavor: python\n"
        f"  predictor: predictor:Model\n{code}serve:\n  memory_limit: 256m\n"
    )
    run_snapshot(load_manifest(root), lambda event: None)
    return root


def test_a_crashing_predictor_and_a_schema_breaking_answer_are_caught(
    tmp_path: Path, base_image: str
) -> None:
    project = faulty_project(tmp_path / "doubler")
    checklist, statuses = run_items(project, list(SERVE_ITEMS))
    said = {i: checklist.view(i).evidence for i in ("serve.image-built", "serve.examples-parity")}
    assert statuses["serve.examples-parity"] is Status.PASS, said
    assert statuses["serve.invalid-rejected"] is Status.PASS
    assert statuses["serve.valid-accepted"] is Status.FAIL
    evidence = " ".join(checklist.view("serve.valid-accepted").evidence)
    assert "HTTP 500 (request id " in evidence

    # In a running container: a 500 with a request id, and the process stays up.
    manifest = load_manifest(project)
    built = built_image(checklist.state.results["serve.image-built"])
    assert built is not None
    with run.running(docker_client(), built.image_id, manifest) as live:
        crash = request(
            "POST",
            f"{live.url}/predict",
            body=b'{"x": 9.5}',
            headers={"Content-Type": "application/json"},
        )
        assert crash.status == 500
        assert len(crash.json()["request_id"]) == 32
        assert crash.json()["request_id"] == crash.header("x-request-id")
        broken = request(
            "POST",
            f"{live.url}/predict",
            body=b'{"x": 0.5}',
            headers={"Content-Type": "application/json"},
        )
        assert broken.status == 500
        assert "broke the response schema" in broken.json()["error"]
        assert request("GET", f"{live.url}/health/live").status == 200
        # The image's health check, run in the container as the engine runs it: healthy.
        probe = live.container.exec_run(health_probe(manifest.serve.port))
        assert probe.exit_code == 0, probe.output
        assert request("POST", f"{live.url}/predict", body=b'{"x": 3}').status == 415
        again = request(
            "POST",
            f"{live.url}/predict",
            body=b'{"x": 3}',
            headers={"Content-Type": "application/json"},
        )
        assert again.json() == {"y": 6.0}
        logs = live.container.logs().decode()
        assert "cannot handle large x" in logs  # logged, with the request id
        assert crash.json()["request_id"] in logs

        # An image missing a locked package is caught by comparing it with the lock.
        lock = project / "environment.lock"
        lock.write_text(
            lock.read_text() + "phantom-package==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
        )
        probing = probes.Probing(manifest, live, None, lambda _: None)  # type: ignore[arg-type]
        result = probes.packages(probing)
        assert result.status is Status.FAIL
        assert "missing: phantom-package" in result.evidence[0]


def test_a_secret_in_the_project_is_refused_before_anything_is_sent(
    tmp_path: Path, base_image: str
) -> None:
    project = faulty_project(
        tmp_path / "doubler",
        extra_files={
            "src/helpers.py": "SCALE = 2\n",
            "src/.env": "DATABASE_PASSWORD=hunter2\n",
            "src/deploy_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n",
        },
    )
    checklist, statuses = run_items(project, ["serve.secrets-free", "serve.image-built"])
    assert statuses == {"serve.secrets-free": Status.FAIL, "serve.image-built": Status.FAIL}
    evidence = " ".join(checklist.view("serve.secrets-free").evidence)
    assert "src/.env: a file named like a secret" in evidence
    assert "src/deploy_key, line 1: contains a private key" in evidence  # file and line
    assert "hunter2" not in evidence
    assert not (project / ".workbench" / "build").exists()  # the context was removed


def test_a_taken_port_is_a_clear_error(
    tmp_path: Path, example_project: Path, base_image: str
) -> None:
    import socket

    from workbench.kernel.errors import WorkbenchError

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(WorkbenchError, match=f"port {port} on 127.0.0.1 is already in use"):
            run.start(docker_client(), base_image, load_manifest(example_project), host_port=port)
    assert not containers_of(example_project)


def test_cancelling_the_serve_session_removes_the_container(
    tmp_path: Path, base_image: str
) -> None:
    project = faulty_project(tmp_path / "doubler")
    cancel = threading.Event()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if line.startswith("ready after"):
            cancel.set()  # the user pressed Escape once the container was up

    with pytest.raises(Cancelled):
        session.serve_session(load_manifest(project), log=log, cancel=cancel)
    assert any(line.startswith("ready after") for line in lines), json.dumps(lines[-5:])
    assert not containers_of(project)


def test_a_model_that_fails_to_load_in_the_container_fails_fast_with_its_cause(
    example_project: Path, base_image: str
) -> None:
    manifest = load_manifest(example_project)
    run_snapshot(manifest, lambda event: None)
    artifact = example_project / "model" / "model.joblib"
    artifact.write_bytes(artifact.read_bytes()[:200])  # replaced by a truncated copy
    lines: list[str] = []
    found = session.serve_session(manifest, log=lines.append)
    assert found.results["serve.image-built"].status is Status.PASS
    probe_items = [p.item_id for p in probes.PROBES]
    failed = {i: found.results[i] for i in probe_items}
    assert {r.status for r in failed.values()} == {Status.FAIL}
    evidence = failed["serve.examples-parity"].evidence[0]
    # The load error itself, seen as soon as the server said so (not a readiness timeout) ...
    assert "the model failed to load in the container after" in evidence, evidence
    assert "not ready within" not in evidence
    assert "UnpicklingError" in evidence or "EOFError" in evidence  # the cause, first ...
    assert "save the model again" in evidence  # ... and the fix
    assert "Traceback" not in " ".join(failed["serve.examples-parity"].evidence)
    # Said once: the other items point at it instead of repeating it (500 lines before).
    for item_id in probe_items[1:]:
        assert failed[item_id].evidence == [
            "not reached: the container never became ready (the cause is in serve.examples-parity)"
        ]
    log_file = example_project / ".workbench" / "serve" / "container.log"
    assert str(log_file) in failed["serve.examples-parity"].evidence[1]
    assert "Traceback" in log_file.read_text()  # the whole log is kept after the container
    assert not containers_of(example_project)


def test_every_server_error_of_the_serve_test_carries_the_containers_log_lines(
    tmp_path: Path, base_image: str
) -> None:
    project = faulty_project(tmp_path / "doubler")
    found = session.serve_session(load_manifest(project))
    valid = found.results["serve.valid-accepted"]
    assert valid.status is Status.FAIL
    crashed = [e for e in valid.evidence if "HTTP 500" in e]
    assert crashed and all("the container logged" in e for e in crashed), valid.evidence
    assert any("cannot handle large x" in e for e in crashed)


def test_interrupting_the_serve_test_at_twelve_moments_never_leaves_a_container(
    example_project: Path, base_image: str
) -> None:
    # Ctrl-C or SIGTERM at random moments, eight of them within 0.15 s of the container's
    # start (where 7 of 12 interrupts used to leave it running: eight such would all have
    # missed it once in 1,100 runs), four anywhere in the first 8 s: never a container left.
    import os
    import random
    import signal
    import subprocess
    import time

    run_snapshot(load_manifest(example_project), lambda event: None)
    workbench = str(Path(sys.executable).parent / "workbench")
    rng = random.Random(14)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    outcomes = []
    for attempt in range(12):
        process = subprocess.Popen(
            [workbench, "serve", "--test", "-p", str(example_project)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        assert process.stdout is not None
        at_start = attempt % 3 != 2
        started = time.monotonic()
        if at_start:
            for line in process.stdout:
                if "starting the container" in line or time.monotonic() - started > 120:
                    break
            time.sleep(rng.uniform(0, 0.15))
        else:
            time.sleep(rng.uniform(0.2, 8.0))
        process.send_signal(signal.SIGINT if attempt % 4 < 2 else signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
        assert "Traceback" not in output, output[-2000:]
        left = containers_of(example_project)  # this test's own, never another run's
        outcomes.append((attempt, process.returncode, [c.name for c in left]))
        for container in left:
            container.remove(force=True)
    assert [o for o in outcomes if o[2]] == [], outcomes
    # 130: interrupted and cleaned up; -2/-15: the signal landed before the command had set
    # its handlers (nothing started yet); 0/1: it had just finished.
    assert {code for _, code, _ in outcomes} <= {0, 1, 130, -2, -15}, outcomes


def test_several_workers_share_the_port_count_every_request_and_stop_cleanly(
    example_project: Path, base_image: str
) -> None:
    """`serve.workers`: each worker its own process and socket on one port; /metrics counts
    the requests of all of them; SIGTERM stops them all with exit code 0."""
    manifest = load_manifest(example_project)
    run_snapshot(manifest, lambda event: None)
    _, built = session.build(manifest, lambda _: None, threading.Event())
    client = docker_client()
    body = json.dumps(
        json.loads(next((example_project / "schema" / "examples").iterdir()).read_text())
    )
    with run.running(client, built.image_id, manifest, env={"WORKBENCH_WORKERS": "3"}) as live:
        for _ in range(60):  # a new connection each: the kernel spreads them over the workers
            answer = request(
                "POST",
                f"{live.url}/predict",
                body=body.encode(),
                headers={"Content-Type": "application/json", "Connection": "close"},
            )
            assert answer.status == 200
        metrics = request("GET", f"{live.url}/metrics").body.decode()
        counted = [
            line
            for line in metrics.splitlines()
            if line.startswith('workbench_requests_total{route="/predict",status="200"}')
        ]
        assert counted and float(counted[0].split()[-1]) == 60.0, metrics[-2000:]
        logs = live.container.logs().decode()
        assert '{"event":"workers","count":3,' in logs
        # The parent imported the fork-safe libraries once; the workers inherit them.
        assert '"shared_imports":["numpy","scipy","sklearn","joblib"]' in logs, logs
        # A worker listens only once its model is loaded (every answer above was a 200 even
        # while a slower worker was still loading); all three load, in their own time.
        for _ in range(120):
            if logs.count('"event":"model_loaded"') == 3:
                break
            time.sleep(0.25)
            logs = live.container.logs().decode()
        assert logs.count('"event":"model_loaded"') == 3, logs[-2000:]
        live.container.stop(timeout=30)  # (a loaded machine: the drain may take longer)
        live.container.reload()
        assert live.container.attrs["State"]["ExitCode"] == 0, live.container.logs().decode()[
            -2000:
        ]
