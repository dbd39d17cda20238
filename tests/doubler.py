"""A small model project for the serve tests: a python-flavor "doubler" needing no library but
the runtime's, as written (every Serve item passes) or faulty (each fault on its own
requests, so one image carries them all)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.project.manifest import load_manifest
from workbench.steps.snapshot.take import run_snapshot

if TYPE_CHECKING:
    from workbench.checklist.engine import Checklist

GOOD_PREDICTOR = """\
class Model:
    def load(self, artifacts_dir):
        pass

    def predict(self, record):
        return {"y": 2.0 * record["x"]}
"""

# Each fault on its own requests, so that one image carries them all.
FAULTY_PREDICTOR = """\
import os
import threading
import time


class Model:
    def load(self, artifacts_dir):
        # A background thread nobody stops: the server cannot exit on SIGTERM. (Only in
        # the image: in the model's own environment it would hang the snapshot's probe.)
        if os.environ.get("WORKBENCH_APP_DIR"):
            threading.Thread(target=lambda: time.sleep(3600), daemon=False).start()

    def predict(self, record):
        x = record["x"]
        if x >= 10:  # only the schema's own maximum: a boundary the serve test must try
            raise ValueError("cannot handle x at its maximum")
        if x == 2 and os.environ.get("WORKBENCH_APP_DIR"):  # set in the image only
            return {"y": 5.0}  # another answer in the container than in-process
        return {"y": 2.0 * x}
"""

REQUEST = """\
type: object
additionalProperties: false
required: [x]
properties:
  x: {type: number, minimum: 0, maximum: 10, description: the input}
"""
RESPONSE = """\
type: object
additionalProperties: false
required: [y]
properties:
  y: {type: number, minimum: 0, description: twice the input}
"""
GOOD_EXPECTATIONS = """\
cases:
  - name: one doubled
    request: {x: 1}
    expect: {y: 2.0}
"""
FAULTY_EXPECTATIONS = """\
cases:
  - name: one tripled
    request: {x: 1}
    expect: {y: 3.0}
"""


def make_project(root: Path, *, faulty: bool, predictor: str | None = None) -> Path:
    (root / "schema" / "examples").mkdir(parents=True)
    (root / "schema" / "examples" / "two.json").write_text('{"x": 2}')
    (root / "schema" / "examples" / "three.json").write_text('{"x": 3}')
    (root / "schema" / "request.yaml").write_text(REQUEST)
    (root / "schema" / "response.yaml").write_text(RESPONSE)
    (root / "schema" / "expectations.yaml").write_text(
        FAULTY_EXPECTATIONS if faulty else GOOD_EXPECTATIONS
    )
    # Held-out data: the faulty project's targets are not what the model answers.
    xs = (0.5, 1.0, 1.5, 2.5, 3.0, 3.5, 4.0, 4.5)  # not 2: the parity fault's request
    rows = [(x, 2 * x if not faulty else 9 - x) for x in xs]
    (root / "holdout.csv").write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in rows))
    (root / "predictor.py").write_text(
        predictor or (FAULTY_PREDICTOR if faulty else GOOD_PREDICTOR)
    )
    budget = "  budget: {p99_ms: 0.001}\n" if faulty else ""
    (root / "workbench.yaml").write_text(
        textwrap.dedent(f"""\
        name: doubler
        python: {sys.executable}
        model:
          flavor: python
          predictor: predictor:Model
        serve:
          memory_limit: 256m
          workers: 1
        """)
        + budget
        + textwrap.dedent("""\
        evaluation:
          data: holdout.csv
          target: y
          output: y
          metric: r2
          minimum: 0.9
          expectations: schema/expectations.yaml
        """)
    )
    run_snapshot(load_manifest(root), lambda event: None)
    return root


def ready_to_release(tmp_path: Path) -> tuple[Path, Path]:
    """The good doubler in git with every gate passing, and its serve session of release
    1.0.0 pickled (for `tests.release_driver`, which tags with it instead of testing again)."""
    import pickle

    from tests.helpers import git
    from workbench.checklist.checks import CheckContext
    from workbench.steps import open_checklist
    from workbench.steps.serve.checks import SERVE_ITEMS
    from workbench.steps.serve.session import serve_session

    project = make_project(tmp_path / "doubler", faulty=False)
    git(project, "init", "-q", "-b", "main")
    git(project, "config", "user.name", "Ana Tester")
    git(project, "config", "user.email", "ana@example.com")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "the doubler")
    manifest = load_manifest(project)
    session = serve_session(manifest, version="1.0.0", tag="workbench/doubler:1.0.0")
    checklist = open_checklist(manifest, user="Ana")
    checklist.record(session.results)
    gated = [i.id for i in checklist.items if i.is_auto and i.gate and i.id not in SERVE_ITEMS]
    list(checklist.run(gated, CheckContext(manifest)))
    checklist.tick("snapshot.packages-expected", "yes", note="the runtime's packages only")
    recorded = tmp_path / "session.pickle"
    recorded.write_bytes(pickle.dumps(session))
    return project, recorded


def release_ready_doubler(tmp_path: Path, registry: str, monkeypatch: Any) -> Checklist:
    """The good doubler, every gate passing, pushing to `registry` (committed); `tag` in this
    process answers its candidate's serve test with the session recorded for 1.0.0, as
    `tests.release_driver` does: for the tests of what comes after the serve test (the
    release transaction, the registry), which need a real image and repository but not a
    second serve test of the same inputs. The serve test of a release candidate itself is
    tested on the real path (tests/functional/test_release.py's first test, test_quality)."""
    import pickle

    from tests.helpers import git
    from workbench.steps import open_checklist
    from workbench.steps.tag import release

    project, recorded = ready_to_release(tmp_path)
    with (project / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write(f"registry: {registry}\n")
    git(project, "commit", "-q", "-am", "the registry")
    session = pickle.loads(recorded.read_bytes())
    monkeypatch.setattr(release, "serve_session", lambda *_args, **_kwargs: session)
    return open_checklist(load_manifest(project), user="Ana")
