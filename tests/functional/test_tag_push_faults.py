"""The fault catalogue of steps 4 and 5 (issue #23): for every automated item of Tag and
Push, a project (or state) broken just for that item, where the item fails and its
evidence names the cause, beside the unbroken project where it passes.

Cheap on purpose: the tag items read git and release files written by hand (no image);
the push items share one tiny image (a `docker import` of a few bytes, labelled, removed
afterwards) pushed to the test's registry; `push.deployed-healthy` runs a real swarm
service of the base image whose health check passes or never does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import git
from workbench.checklist.checks import CheckContext, Status
from workbench.checklist.definitions import load_definitions
from workbench.checklist.engine import ItemFinished
from workbench.project.manifest import load_manifest
from workbench.project.records import (
    BaseImageInfo,
    BumpInfo,
    ChecklistAtRelease,
    GitInfo,
    Hashes,
    ImageInfo,
    People,
    PushInfo,
    QualityInfo,
    ReleaseRecord,
)
from workbench.project.releases import (
    save_release,
)
from workbench.project.scaffold import copy_example
from workbench.steps import open_checklist
from workbench.steps.tag.files import release_hashes

RUN = f"faults-{time.time_ns()}"
LABEL = {"io.workbench.test": RUN}


def auto_items(step: str) -> list[str]:
    return [i.id for i in load_definitions([], ()) if i.step == step and i.is_auto]


TAG_ITEMS = auto_items("tag")
PUSH_ITEMS = auto_items("push")


# --- a project and hand-written releases ---------------------------------------------------


def project(root: Path, registry: str | None = None) -> Path:
    """The iris example in a fresh git repository, with a lock, committed: no environment,
    no image (the tag items read only git and the release files)."""
    folder = copy_example("iris", root / "iris")
    if registry:
        with (folder / "workbench.yaml").open("a") as manifest:
            manifest.write(f"registry: {registry}\n")
    (folder / "environment.lock").write_text("scikit-learn==1.5.2 --hash=sha256:00\n")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "config", "user.name", "Ana Tester")
    git(folder, "config", "user.email", "ana@example.com")
    git(folder, "add", ".")
    git(folder, "commit", "-q", "-m", "the iris model")
    return folder


def release(
    folder: Path,
    version: str,
    *,
    previous: str | None = None,
    suggested: str | None = None,
    accuracy: float | None = None,
    push: PushInfo | None = None,
    image_id: str = "sha256:i",
    annotated: bool = True,
) -> ReleaseRecord:
    """A release written as `workbench tag` writes it (every file hashed), committed and
    tagged at HEAD."""
    manifest = load_manifest(folder)
    files = release_hashes(manifest)
    quality = (
        QualityInfo(
            metric="accuracy", value=accuracy, n=30, data="data/holdout.csv", data_sha256="d"
        )
        if accuracy is not None
        else None
    )
    record = ReleaseRecord(
        version=version,
        created=f"2026-11-24T10:00:0{len(version) % 10}Z",
        git=GitInfo(revision=git(folder, "rev-parse", "HEAD"), tag=f"v{version}"),
        previous=previous,
        bump=BumpInfo(level="major", suggested=suggested or version, reason="by hand"),
        hashes=Hashes(
            lock=files["environment.lock"],
            request_schema=files["schema/request.yaml"],
            response_schema=files["schema/response.yaml"],
            artifacts={"model/model.joblib": files["model/model.joblib"]},
            files=files,
        ),
        base_image=BaseImageInfo(name="python:3.11-slim", id="sha256:b"),
        image=ImageInfo(ref=f"x:{version}", id=image_id, tested_id=image_id),
        checklist=ChecklistAtRelease(readiness=1.0),
        quality=quality,
        released_by=People(driver="Ana"),
        push=push or PushInfo(),
    )
    save_release(manifest, record)
    git(folder, "add", "releases")
    git(folder, "commit", "-q", "-m", f"release {version}")
    if annotated:
        git(folder, "tag", "--annotate", f"v{version}", "-m", f"release {version}")
    else:
        git(folder, "tag", f"v{version}")
    return record


def ignored_code(folder: Path) -> None:
    """A helper module the predictor needs (model.code), hidden by the project's
    `.gitignore` (real projects ignore `*.py`): it goes into the image, into no commit."""
    (folder / "features.py").write_text("SCALE = 2\n")
    with (folder / ".gitignore").open("a") as ignore:
        ignore.write("*.py\n")
    manifest = folder / "workbench.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "  artifact: model/model.joblib\n",
            "  artifact: model/model.joblib\n  code: [features.py]\n",
        )
    )
    git(folder, "commit", "-q", "-am", "the predictor needs features.py")


def status_of(folder: Path, item_id: str) -> tuple[Status, list[str]]:
    checklist = open_checklist(load_manifest(folder), user="Ana")
    events = checklist.run([item_id], CheckContext(checklist.manifest))
    (view,) = [e.view for e in events if isinstance(e, ItemFinished)]
    return view.status, view.evidence


# --- the tag cases: (unbroken, broken, a phrase of the broken evidence) ----------------------


def clean(folder: Path) -> None:
    git(folder, "status")  # the project as committed


def tag_version_fine(folder: Path) -> None:
    release(folder, "1.0.0")
    release(folder, "1.1.0", previous="1.0.0")


def tag_version_copied(folder: Path) -> None:
    """A release manifest copied by hand under a new name."""
    release(folder, "1.0.0")
    text = (folder / "releases" / "1.0.0.yaml").read_text()
    (folder / "releases" / "1.1.0.yaml").write_text(text)


def bump_enough(folder: Path) -> None:
    release(folder, "1.0.0")
    release(folder, "2.0.0", previous="1.0.0", suggested="2.0.0")


def bump_short(folder: Path) -> None:
    """A breaking contract change released as a patch."""
    release(folder, "1.0.0")
    release(folder, "1.0.1", previous="1.0.0", suggested="2.0.0")


def as_good(folder: Path) -> None:
    release(folder, "1.0.0", accuracy=0.97)
    release(folder, "1.1.0", previous="1.0.0", accuracy=0.965)


def worse(folder: Path) -> None:
    release(folder, "1.0.0", accuracy=0.97)
    release(folder, "1.1.0", previous="1.0.0", accuracy=0.80)


def annotated(folder: Path) -> None:
    release(folder, "1.0.0")


def lightweight(folder: Path) -> None:
    release(folder, "1.0.0", annotated=False)


def complete(folder: Path) -> None:
    release(folder, "1.0.0")


def hashes_a_file_in_no_commit(folder: Path) -> None:
    ignored_code(folder)
    release(folder, "1.0.0")


@dataclass(frozen=True)
class Case:
    fine: Callable[[Path], None]
    broken: Callable[[Path], None]
    cause: str
    registry: bool = False


TAG_CASES: dict[str, Case] = {
    "tag.git-clean": Case(clean, ignored_code, "features.py goes into the image but is ignored"),
    "tag.version-valid": Case(
        tag_version_fine, tag_version_copied, "releases/1.1.0.yaml says it is version 1.0.0"
    ),
    "tag.bump-sufficient": Case(bump_enough, bump_short, "a patch bump; the contract needs major"),
    "tag.no-regression": Case(as_good, worse, "lower by 0.17, over the tolerance 0.02"),
    "tag.git-tag": Case(annotated, lightweight, "v1.0.0 is a lightweight tag"),
    "tag.manifest-complete": Case(
        complete,
        hashes_a_file_in_no_commit,
        "features.py cannot be read at v1.0.0: it is not in the tagged commit",
    ),
}


@pytest.mark.parametrize("item_id", TAG_ITEMS, ids=str)
def test_fault(item_id: str, tmp_path: Path) -> None:
    case = TAG_CASES[item_id]
    fine = project(tmp_path / "fine")
    case.fine(fine)
    status, evidence = status_of(fine, item_id)
    assert status is Status.PASS, evidence

    broken = project(tmp_path / "broken")
    case.broken(broken)
    status, evidence = status_of(broken, item_id)
    assert status is Status.FAIL, evidence
    assert case.cause in " ".join(evidence), evidence
