"""Fixtures for the real parts: Docker engine, base image, registry, git repos, the example.

Where a real part cannot be had, the tests that need it are skipped with a loud
reason printed at the end of the run; with WORKBENCH_REQUIRE_REAL_PARTS=1 (as
in CI) they fail instead, so a CI run can never pass without them.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cached_env, git
from workbench.demo import parts as harness
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import UnavailableError
from workbench.kernel.lock import Busy, engine_layers
from workbench.kernel.paths import examples_dir
from workbench.project import scaffold as project_init
from workbench.project.manifest import project_id

REQUIRE_REAL_PARTS = os.environ.get("WORKBENCH_REQUIRE_REAL_PARTS") == "1"
SWARM_TEST_TIMEOUT = 2400  # seconds: its own run and the swarm tests ahead of it
_MISSING: list[str] = []


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} unavailable: {exc}"
    if REQUIRE_REAL_PARTS:
        pytest.fail(message, pytrace=False)
    _MISSING.append(message)
    pytest.skip(message)


def _turn(item: pytest.Item) -> int:
    """When a test starts in a parallel run: the swarm tests first (they take turns, one
    after another, so they are the run's longest chain), then the slow ones on the engine,
    the quick ones last (they fill the workers' ends evenly)."""
    swarm_fault = item.name == "test_fault[push.deployed-healthy]"  # by getfixturevalue
    if "a_swarm" in getattr(item, "fixturenames", ()) or swarm_fault:
        return 0
    engine = {"docker_engine", "base_image", "registry", "auth_registry", "example_python"}
    if item.get_closest_marker("slow") or engine & set(getattr(item, "fixturenames", ())):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the engine's swarm may wait for its turn (`swarm_turn`) behind the
    other swarm tests running in other workers: its time limit counts that wait too. The
    order is `_turn`'s (a stable sort: the same on every worker, as xdist requires)."""
    for item in items:
        if "a_swarm" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(SWARM_TEST_TIMEOUT))
    items.sort(key=_turn)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for message in dict.fromkeys(_MISSING):
        terminalreporter.write_sep("!", "REAL PARTS MISSING", red=True, bold=True)
        terminalreporter.write_line(message, red=True, bold=True)
        terminalreporter.write_line("the tests that need it were SKIPPED, not passed.", red=True)


def _progress(text: str) -> None:
    print(f"[harness] {text}", file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def _empty_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text("")
    return path


@pytest.fixture(autouse=True)
def _no_kubernetes_cluster(_empty_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test can reach a real Kubernetes cluster: kubectl (in the test and in every
    command it runs) reads an empty config instead of ~/.kube/config or $KUBECONFIG, and
    cannot fall back to a pod's in-cluster account."""
    monkeypatch.setenv("KUBECONFIG", str(_empty_kubeconfig))
    for name in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_shared_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own `WORKBENCH_ANSWERS_DIR` is not used (nor written) by a test: the
    unit tests count the interpreter's starts in each project's own folder; the functional
    and TUI tests set the run's (their conftest, after this one)."""
    monkeypatch.delenv("WORKBENCH_ANSWERS_DIR", raising=False)


IMAGE_OF_PROJECT = "io.workbench.project-id"  # every image the workbench builds carries it
SOURCE_LABEL = "org.opencontainers.image.source"  # the project's folder, from the Dockerfile
# A venv image (serve/dependencies) is no project's; one a project's build made and that no
# image is built on any more is listed at the top level, with that project's id here.
VENV_MADE_BY = "io.workbench.venv-of"


def _session_project_ids(base: Path) -> set[str]:
    """The ids of every project this session made: they all live under its base folder."""
    return {project_id(manifest.parent) for manifest in base.rglob("workbench.yaml")}


def _remove_images_under(base: Path) -> tuple[int, dict[str, str]]:
    """Remove the images the projects under `base` built: how many, and those left with why.

    Ours only: an image is ours when its project-id label (a hash of the project's folder)
    is the id of a project under `base`; images of other runs on the same engine (another
    worktree, a CI run, a person's own) are never touched."""
    from docker.errors import APIError, NotFound

    ours = _session_project_ids(base)
    if not ours:
        return 0, {}
    try:
        client = docker_client(timeout=120)
        # The summaries carry the labels: one listing (seconds on an engine with thousands
        # of images), no inspection per image. Untagged (dangling) top-level images are in
        # it; the layers under an image go with it.
        listed = client.api.images(filters={"label": IMAGE_OF_PROJECT})
        # A build killed by a test (the interrupt tests) goes on in the engine and can leave
        # its last step's image, which has the Dockerfile's labels (the project's folder as
        # its source) but not the project id the finished build adds: ours too.
        listed += client.api.images(filters={"label": SOURCE_LABEL, "dangling": True})
    except (UnavailableError, APIError):
        return 0, {}  # no engine: no images either
    inside = f"{base}{os.sep}"
    mine = list(
        {
            i["Id"]: None
            for i in listed
            if (
                (i.get("Labels") or {}).get(IMAGE_OF_PROJECT) in ours
                or (i.get("Labels") or {}).get(VENV_MADE_BY) in ours
                or str((i.get("Labels") or {}).get(SOURCE_LABEL, "")).startswith(inside)
            )
        }
    )

    def remove(image_id: str) -> str | None:
        """Why the image is left, or None once it is gone."""
        try:
            client.api.remove_image(image_id, force=True)
        except NotFound:
            return None  # removed with another tag of the same image
        except APIError as exc:
            return str(exc.explanation or exc)
        except Exception as exc:  # a timeout: said as why it is left, never a traceback
            return f"{type(exc).__name__}: {exc}"
        return None

    # Four at a time (the engine spends most of a removal unlinking a venv's files), each
    # four holding the engine's layers alone (`engine_layers`): another worker's build
    # could be building on their layers (the build cache of every project with the same
    # inputs), and waits for them; between the fours it goes on. One that could not be
    # removed (a parent whose child was still being removed) is tried again, in order. The
    # lock not had in two minutes (builds one after another): the rest is left for the
    # controller, which removes what every worker left once all are done.
    first: dict[str, str | None] = {}
    try:
        for start in range(0, len(mine), 4):
            batch = mine[start : start + 4]
            with (
                engine_layers("removing the run's images", removing=True, wait=120),
                concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool,
            ):
                first.update(zip(batch, pool.map(remove, batch), strict=True))
            time.sleep(0.2)  # a build waiting for the lock takes it here
        retry = [i for i in mine if first[i] is not None]
        with engine_layers("removing the run's images", removing=True, wait=120):
            first.update({i: remove(i) for i in retry})
    except Busy:
        pass
    left: dict[str, str] = {}
    for image_id in mine:
        why = first.get(image_id, "not tried")  # (the lock not had before its four)
        if why is not None:
            left[image_id[:19]] = why
    return len(mine) - len(left), left


@pytest.fixture(scope="session", autouse=True)
def _session_images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of a run in one process, remove the images its projects built, then fail
    if one of them is left (a dangling image, or one a container still holds). A worker of
    a parallel run removes its own as it ends (the others go on meanwhile), holding the
    engine's layers between their builds (`_remove_images_under`); what it leaves, the
    controller removes once every worker is done (`pytest_sessionfinish`)."""
    yield
    if os.environ.get("PYTEST_XDIST_WORKER") is not None:
        removed, left = _remove_images_under(tmp_path_factory.getbasetemp())
        _progress(f"removed {removed} images this worker built ({len(left)} left to the end)")
        return
    base = tmp_path_factory.getbasetemp()
    removed, left = _remove_images_under(base)
    _progress(f"removed {removed} images this session built")
    if left:
        pytest.fail(f"images this session built are left on the engine: {left}", pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller of a parallel run, every worker done: the images the workers'
    projects built and the workers left (each removes its own as it ends, between the
    others' builds; one whose lock was not had leaves them here)."""
    config = session.config
    if getattr(config, "workerinput", None) is not None:
        return
    if not getattr(config.option, "numprocesses", None):
        return
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None:
        return
    removed, left = _remove_images_under(factory.getbasetemp())
    _progress(f"removed {removed} images the workers' projects built")
    if left:
        _progress(f"FAILED: images the workers' projects built are left on the engine: {left}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def docker_engine():  # type: ignore[no-untyped-def]
    try:
        return harness.ensure_engine(_progress)
    except UnavailableError as exc:
        _unavailable("Docker engine", exc)


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:  # type: ignore[no-untyped-def]
    try:
        harness.ensure_base_image(harness.DEFAULT_BASE_IMAGE, _progress)
    except UnavailableError as exc:
        _unavailable(f"base image {harness.DEFAULT_BASE_IMAGE}", exc)
    return harness.DEFAULT_BASE_IMAGE


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        _unavailable(name, FileNotFoundError(f"not on PATH (Debian: apt-get install {package})"))
    return str(found)


@pytest.fixture(scope="session")
def promtool() -> str:
    """Prometheus's promtool (Debian's `prometheus` package; .ci/provision installs it)."""
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def prometheus() -> str:
    """Debian's Prometheus server binary."""
    return _tool("prometheus", "prometheus")


SIGSTORE_JS = Path(os.environ.get("WORKBENCH_SIGSTORE_JS", "/opt/workbench/sigstore-js"))


@pytest.fixture(scope="session")
def sigstore_js() -> tuple[str, Path]:
    """node and the folder of sigstore-js's modules (`.ci/provision` installs them, pinned
    by tests/sigstore_js/package-lock.json): a DSSE verifier the workbench did not write."""
    node = _tool("node", "nodejs")
    modules = SIGSTORE_JS / "node_modules"
    if not (modules / "@sigstore" / "verify").is_dir():
        _unavailable("sigstore-js", FileNotFoundError(f"{modules} (run `bash .ci/provision`)"))
    return node, modules


@pytest.fixture(scope="session")
def alertmanager() -> str:
    """Debian's Alertmanager binary (`prometheus-alertmanager`; .ci/provision installs it)."""
    return _tool("prometheus-alertmanager", "prometheus-alertmanager")


SHARED_REGISTRY = "workbench_registry"  # the key of the run's registry in a worker's input
_RUN_REGISTRY: list[harness.Registry] = []  # the one the controller started, to stop


def pytest_configure(config: pytest.Config) -> None:
    """In a parallel run, the controller starts one registry for every worker: an image's
    layers pushed by one worker are then in the registry the next push of another worker
    finds (or mounts), instead of compressed again for a registry of its own. Tests that
    push name repositories of their own (a fixture pushing once per worker adds the
    worker's name). If it cannot start, each worker starts its own and says why."""
    if getattr(config, "workerinput", None) is not None or not config.pluginmanager.hasplugin(
        "xdist"
    ):
        return
    if not getattr(config.option, "numprocesses", None):
        return
    with contextlib.suppress(UnavailableError, OSError):
        _RUN_REGISTRY.append(harness.start_registry())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    if _RUN_REGISTRY:
        node.workerinput[SHARED_REGISTRY] = _RUN_REGISTRY[0].port


def pytest_unconfigure(config: pytest.Config) -> None:
    while _RUN_REGISTRY:
        _RUN_REGISTRY.pop().stop()


@pytest.fixture(scope="session")
def registry(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[harness.Registry]:
    shared = (getattr(pytestconfig, "workerinput", None) or {}).get(SHARED_REGISTRY)
    if shared is not None:  # the run's: the controller stops it (no process here to stop)
        yield harness.Registry(port=int(shared), workdir=tmp_path_factory.mktemp("registry"))
        return
    try:
        reg = harness.start_registry()
    except UnavailableError as exc:
        _unavailable("registry", exc)
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def auth_registry() -> Iterator[harness.Registry]:
    try:
        reg = harness.start_registry(username="ana", password="s3cret-Pa55-" + os.urandom(4).hex())
    except UnavailableError as exc:
        _unavailable("registry with htpasswd", exc)
    yield reg
    reg.stop()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository with one commit, in a temp folder."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Ana Tester")
    git(repo, "config", "user.email", "ana@example.com")
    (repo / "README.md").write_text("# model\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


@pytest.fixture(scope="session")
def example_python() -> Path:
    """The iris example's own environment, made once per requirements and cached."""
    requirements = examples_dir() / "iris" / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    made = cached_env(
        f"iris-{digest}", lambda root: project_init.make_example_env(requirements.parent, venv=root)
    )
    return made / "bin" / "python"


@pytest.fixture
def example_project(tmp_path: Path, example_python: Path) -> Path:
    """A fresh copy of the iris example whose manifest points at the cached environment."""
    project = project_init.copy_example("iris", tmp_path / "iris")
    manifest = project / "workbench.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("python: .venv/bin/python", f"python: {example_python}", 1))
    return project
