"""The fault catalogue of step 3: every automated Serve item seen failing, for its cause.

One small project (a python-flavor "doubler" with no library but the runtime's) is
built twice: as written, where every item passes, and with a predictor and a manifest
that misbehave on chosen requests, where the items fail together in one serve test.
Faults that are a state rather than a project (an image older than the lock or the
schema, a container run without its protections) are shown on the good image's
running container, asking the item's own probe. Each case names the phrase the
evidence must carry: a failure for the wrong cause does not count.

`tests/unit/test_fault_catalogue.py` keeps every automated item covered by a case.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.doubler import GOOD_PREDICTOR, make_project
from workbench.checklist.checks import CheckContext, CheckResult, Status
from workbench.checklist.engine import ItemFinished
from workbench.kernel.docker import docker_client
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve import probes, run
from workbench.steps.serve.build import assemble_context
from workbench.steps.serve.checks import SERVE_ITEMS
from workbench.steps.serve.report import built_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def serve_test(project: Path) -> Built:
    checklist = open_checklist(load_manifest(project), user="Ana")
    ids = ["serve.base-image", *SERVE_ITEMS]
    events = checklist.run(ids, CheckContext(checklist.manifest))
    views = {e.item_id: e.view for e in events if isinstance(e, ItemFinished)}
    results = {i: CheckResult(v.status, list(v.evidence)) for i, v in views.items()}
    built = built_image(checklist.state.results.get("serve.image-built"))
    return Built(project, results, built.image_id if built else "")


@dataclasses.dataclass
class Built:
    project: Path
    results: dict[str, CheckResult]
    image_id: str


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Built:
    return serve_test(make_project(tmp_path_factory.mktemp("good") / "doubler", faulty=False))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory, base_image: str) -> Built:
    return serve_test(make_project(tmp_path_factory.mktemp("faulty") / "doubler", faulty=True))


def copy_of(project: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(project, target, symlinks=True, ignore=shutil.ignore_patterns(".workbench"))
    return target


def _probe_on_good_image(
    good: Built,
    tmp_path: Path,
    probe: Callable[[probes.Probing], CheckResult],
    *,
    change: Callable[[Path], None] = lambda _: None,
    manifest_change: Callable[[Any], Any] = lambda m: m,
    hardening: dict[str, Any] | None = None,
    monkeypatch: pytest.MonkeyPatch | None = None,
) -> CheckResult:
    """Ask one probe of the good image's running container, about a project changed after
    the image was built (a stale image), or with the container run another way."""
    project = copy_of(good.project, tmp_path)
    change(project)
    manifest = manifest_change(load_manifest(project))
    if hardening is not None and monkeypatch is not None:
        monkeypatch.setattr(run, "hardening", lambda _m: hardening)
    context = assemble_context(load_manifest(good.project), version="0.0.0-dev")
    with run.running(docker_client(), good.image_id, manifest) as live:
        return probe(probes.Probing(manifest, live, context, lambda _: None))


def _lock_with_phantom(project: Path) -> None:
    lock = project / "environment.lock"
    lock.write_text(
        lock.read_text() + "phantom-package==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    )


def _secret_in_code(project: Path) -> None:
    (project / "helpers").mkdir()
    (project / "helpers" / "keys.py").write_text(
        'AWS_ACCESS_KEY_ID = "AKIA'
        + "Q" * 16
        + '"\nAWS_SECRET = "'
        + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        + '"\n'
    )
    manifest = project / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "  predictor: predictor:Model\n", "  predictor: predictor:Model\n  code: [helpers]\n"
        )
    )


def _absent_base_image(project: Path) -> None:
    manifest = project / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "  workers: 1\n", "  workers: 1\n  base_image: 127.0.0.1:9/absent/python:0\n"
        )
    )


def _stricter_schema(project: Path) -> None:
    request = project / "schema" / "request.yaml"
    request.write_text(request.read_text().replace("maximum: 10", "maximum: 4"))


@pytest.fixture
def checked_in_project(
    good: Built, tmp_path: Path
) -> Callable[[Callable[[Path], None], str], CheckResult]:
    """Run one item through the engine on a copy of the good project, changed first."""

    def run_one(change: Callable[[Path], None], item_id: str) -> CheckResult:
        project = copy_of(good.project, tmp_path)
        change(project)
        checklist = open_checklist(load_manifest(project), user="Ana")
        events = checklist.run([item_id], CheckContext(checklist.manifest))
        view = next(e.view for e in events if isinstance(e, ItemFinished))
        return CheckResult(view.status, list(view.evidence))

    return run_one


# item id -> how it is broken and the phrase its evidence must then carry
FROM_THE_FAULTY_SESSION = {
    "serve.examples-parity": "two.json: the image and the model in-process differ at `y`: "
    "the image 5.0, in process",
    # Only the boundary payload reaches the fault: random values in [0, 10] never hit 10.
    "serve.valid-accepted": "(x at its maximum 10): HTTP 500 (request id",
    "serve.quality": "bound >= 0.9: NOT met",
    "serve.expectations": "one tripled",
    "serve.performance": "is over its budget of 0.001 ms (serve.budget.p99_ms)",
    "serve.sigterm": "exit code 137",
}
CATALOGUE = [
    "serve.base-image",
    "serve.secrets-free",
    "serve.image-built",
    *FROM_THE_FAULTY_SESSION,
    "serve.invalid-rejected",
    "serve.malformed-rejected",
    "serve.metadata",
    "serve.non-root",
    "serve.hardened",
    "serve.packages-match-lock",
]


@pytest.mark.parametrize("item_id", CATALOGUE, ids=str)
def test_fault(
    item_id: str,
    good: Built,
    faulty: Built,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    checked_in_project: Callable[[Callable[[Path], None], str], CheckResult],
) -> None:
    assert good.results[item_id].status is Status.PASS, good.results[item_id].evidence
    if item_id in FROM_THE_FAULTY_SESSION:
        broken, cause = faulty.results[item_id], FROM_THE_FAULTY_SESSION[item_id]
    elif item_id == "serve.base-image":
        broken = checked_in_project(_absent_base_image, item_id)
        cause = "127.0.0.1:9/absent/python:0 is not present and cannot be pulled"
    elif item_id == "serve.secrets-free":
        broken = checked_in_project(_secret_in_code, item_id)
        cause = "helpers/keys.py"
    elif item_id == "serve.image-built":
        broken = checked_in_project(_lock_with_phantom, item_id)
        cause = "no cached wheel matches the hash of phantom-package==1.0"
    elif item_id == "serve.invalid-rejected":  # the schema got stricter; the image did not
        broken = _probe_on_good_image(good, tmp_path, probes.invalid, change=_stricter_schema)
        cause = "accepted with HTTP 200"
    elif item_id == "serve.malformed-rejected":  # the image enforces another body limit
        broken = _probe_on_good_image(
            good,
            tmp_path,
            probes.malformed,
            manifest_change=lambda m: dataclasses.replace(
                m, serve=dataclasses.replace(m.serve, max_body_bytes=1000)
            ),
        )
        cause = "body over 1000 bytes: HTTP 422 (expected 413)"
    elif item_id == "serve.metadata":  # another build's context: what is served is not it

        def _other_version(project: Path) -> None:
            (project / "predictor.py").write_text(GOOD_PREDICTOR + "# changed\n")

        project = copy_of(good.project, tmp_path / "other")
        _other_version(project)
        other = assemble_context(load_manifest(project), version="9.9.9")
        manifest = load_manifest(good.project)
        with run.running(docker_client(), good.image_id, manifest) as live:
            broken = probes.metadata(probes.Probing(manifest, live, other, lambda _: None))
        cause = "version: served '0.0.0-dev', built '9.9.9'"
    elif item_id == "serve.non-root":  # run as root
        broken = _probe_on_good_image(
            good,
            tmp_path,
            probes.non_root,
            hardening={**run.hardening(load_manifest(good.project)), "user": "0:0"},
            monkeypatch=monkeypatch,
        )
        cause = "the server runs as root (uid 0)"
    elif item_id == "serve.hardened":  # run without any of the protections
        broken = _probe_on_good_image(
            good, tmp_path, probes.hardened, hardening={}, monkeypatch=monkeypatch
        )
        cause = (
            "4 of 5 protections missing: read-only root; capabilities; no-new-privileges; "
            "memory limit"
        )
    elif item_id == "serve.packages-match-lock":  # the lock changed after the build
        broken = _probe_on_good_image(good, tmp_path, probes.packages, change=_lock_with_phantom)
        cause = "missing: phantom-package"
    else:
        pytest.fail(f"no fault for {item_id}")
    said = " ".join(broken.evidence)
    assert broken.status is Status.FAIL, said
    assert cause in said, said
