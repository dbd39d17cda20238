"""Fixtures for the real parts: Docker engine, base image, registry, git repos, the example.

Where a real part cannot be had, the tests that need it are skipped with a loud
reason printed at the end of the run; with WORKBENCH_REQUIRE_REAL_PARTS=1 (as
in CI) they fail instead, so a CI run can never pass without them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cached_env, git
from workbench.demo import parts as harness
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import UnavailableError
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


# The longest tests of recent runs (seconds, the mean of two on this 2-core machine), each
# standing alone (no fixture shared with its module's other tests): a parallel run starts
# them first, shared among the workers (`_heads`). Missing or stale figures only change
# how long the run takes.
LONG = {
    "test_torch_export.py::test_a_torch_export_program_ships_on_the_cpu_build_of_torch": 105,
    "test_tensor_flavors.py::test_a_torchscript_classifier_ships_the_cpu_build_of_torch": 104,
    "test_corpus.py::test_a_lightgbm_model_needs_a_system_library_and_gets_it_from_system_"
    "packages": 79,
    "test_app.py::test_the_tag_and_push_screens_release_push_and_promote": 77,
    "test_release.py::test_a_registry_stopped_mid_push_leaves_the_release_not_pushed_and_push_"
    "completes_it": 73,
    "test_release_transaction.py::test_tag_killed_at_random_moments_leaves_no_release_or_a_"
    "whole_one": 70,
    "test_tour.py::test_the_readme_tour_runs_as_written_and_the_release_can_be_trusted": 67,
    "test_corpus.py::test_an_xgboost_model_through_its_scikit_learn_interface": 66,
    "test_notebook.py::test_a_notebook_only_model_through_init_from_notebook_to_a_tested_image": 66,
    "test_catboost.py::test_a_native_catboost_model_exported_from_its_kernel_passes_the_serve_"
    "test": 62,
    "test_release_transaction.py::test_push_killed_at_random_moments_is_never_recorded_wrong_"
    "and_the_next_push_completes_it": 61,
    "test_quality.py::test_a_worse_model_fails_its_cases_and_is_refused_at_tag_unless_waived": 60,
    "test_corpus.py::test_a_predictor_class_importing_a_local_package_installed_editable": 60,
    "test_cli.py::test_the_readme_main_job_runs_headless_through_all_five_steps": 58,
    "test_serve.py::test_interrupting_the_serve_test_at_twelve_moments_never_leaves_a_"
    "container": 51,
    "test_model_folder_image.py::test_a_pickles_own_class_in_model_code_loads_in_the_image": 45,
    "test_release.py::test_tag_push_second_breaking_release_promote_rollback_and_pull": 42,
    "test_corpus.py::test_a_dataframe_pipeline_with_categories_and_missing_values": 41,
}
SWARM_CHAIN_SECONDS = 260  # the swarm tests, one after another, on the first worker


def _standing_alone(item: pytest.Item) -> bool:
    """No fixture of a wider scope than the test but narrower than the session: moved
    away from its module, nothing of the module is made again for it."""
    info = getattr(item, "_fixtureinfo", None)
    defs = getattr(info, "name2fixturedefs", {}) or {}
    return all(d.scope in ("function", "session") for ds in defs.values() for d in ds)


def _heads(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The run's order for `workers` processes: `--dist worksteal` gives worker k the k-th
    of `workers` consecutive runs of the list (even in count) and lets an idle worker take
    the second half of the longest queue, so a long test stays where it is placed: each
    run starts with its share of `LONG` (the longest to whoever has the least so far; the
    swarm chain counts for the first), the rest keep their order (a module's tests together,
    so its fixtures are made once)."""
    name = {item: item.nodeid.rsplit("/", 1)[-1] for item in items}
    long = [
        item for item in items if name[item] in LONG and _turn(item) == 1 and _standing_alone(item)
    ]
    if workers < 2 or not long:
        return items
    shares: list[list[pytest.Item]] = [[] for _ in range(workers)]
    seconds = [float(SWARM_CHAIN_SECONDS)] + [0.0] * (workers - 1)
    for item in sorted(long, key=lambda i: -LONG[name[i]]):
        worker = seconds.index(min(seconds))
        shares[worker].append(item)
        seconds[worker] += LONG[name[item]]
    placed = set(long)
    rest = [item for item in items if item not in placed]
    swarm = [item for item in rest if _turn(item) == 0]
    rest = rest[len(swarm) :]
    order: list[pytest.Item] = []
    left = len(items)
    for index, share in enumerate(shares):
        size = left // (workers - index)  # as xdist splits what is left among the rest
        left -= size
        head = (swarm if index == 0 else []) + share
        take = max(0, size - len(head))
        order += head + rest[:take]
        rest = rest[take:]
    order += rest
    if len(order) != len(items) or set(order) != set(items):  # every test once, or no run
        raise pytest.UsageError("tests/conftest._heads lost or repeated a test")
    return order


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses the engine's swarm may wait for its turn (`swarm_turn`) behind the
    other swarm tests running in other workers: its time limit counts that wait too. The
    order is `_turn`'s (a stable sort), then `_heads`': the same on every worker, as xdist
    requires."""
    for item in items:
        if "a_swarm" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(SWARM_TEST_TIMEOUT))
    items.sort(key=_turn)
    workers = int((getattr(config, "workerinput", None) or {}).get("workercount", 1))
    items[:] = _heads(items, workers)


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


IMAGE_OF_PROJECT = "io.workbench.project-id"  # every image the workbench builds carries it
SOURCE_LABEL = "org.opencontainers.image.source"  # the project's folder, from the Dockerfile


def _session_project_ids(base: Path) -> set[str]:
    """The ids of every project this session made: they all live under its base folder."""
    return {project_id(manifest.parent) for manifest in base.rglob("workbench.yaml")}


@pytest.fixture(scope="session", autouse=True)
def _session_images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the session, remove the images this session's projects built, then
    fail if one of them is left (a dangling image, or one a container still holds).

    Ours only: an image is ours when its project-id label (a hash of the project's folder)
    is the id of a project under this session's temporary folder; images of other runs on
    the same engine (another worktree, a CI run, a person's own) are never touched."""
    yield
    from docker.errors import APIError, NotFound

    base = tmp_path_factory.getbasetemp()
    ours = _session_project_ids(base)
    if not ours:
        return
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
        return  # no engine: no images either
    inside = f"{base}{os.sep}"
    mine = list(
        {
            i["Id"]: None
            for i in listed
            if (i.get("Labels") or {}).get(IMAGE_OF_PROJECT) in ours
            or str((i.get("Labels") or {}).get(SOURCE_LABEL, "")).startswith(inside)
        }
    )
    left: dict[str, str] = {}
    for image_id in mine:
        try:
            client.api.remove_image(image_id, force=True)
        except NotFound:
            continue  # removed with another tag of the same image
        except APIError as exc:
            left[image_id[:19]] = str(exc.explanation or exc)
    _progress(f"removed {len(mine) - len(left)} images this session built")
    if left:
        pytest.fail(f"images this session built are left on the engine: {left}", pytrace=False)


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
