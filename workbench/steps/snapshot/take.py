"""Take a snapshot: inspect the environment, find the runtime set, fetch wheels, write files.

A generator of small progress events, cancellable through a threading.Event;
the CLI prints them and the TUI shows them. Nothing is written unless every
stage succeeded: the lock and snapshot.yaml are written last, atomically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from workbench.checklist.checks import CheckContext
from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.cancel import Cancelled
from workbench.kernel.clock import now
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import fingerprint, sha256_file
from workbench.kernel.paths import runtime_dir
from workbench.project.env_stamp import env_stamp
from workbench.project.lockfile import (
    LOCK_NAME,
    SNAPSHOT_NAME,
    LockEntry,
    keep_time_if_same,
    render_lock,
    write_snapshot,
)
from workbench.project.manifest import Manifest
from workbench.project.model_env import (
    InProcessAnswers,
    load_examples,
    predict_in_model_env,
    run_json_script,
)
from workbench.project.records import (
    LocalSource,
    PlatformInfo,
    PythonInfo,
    RuntimeEntry,
    ServingEntry,
    SnapshotRecord,
    TargetInfo,
)
from workbench.steps.shared import model_inputs
from workbench.steps.snapshot import imports, resolve, sources, wheels

PROBE = Path(__file__).resolve().parent / "probe.py"
SERVING_REQUIREMENTS = runtime_dir() / "requirements.in"


@dataclass(frozen=True)
class Stage:
    """A step of the snapshot began."""

    text: str


@dataclass(frozen=True)
class Log:
    """A line worth showing: what the snapshot found or decided."""

    text: str


@dataclass(frozen=True)
class Detail:
    """A line of a tool's own output (pip): kept in the log file, shown when asked (-v)."""

    text: str


@dataclass
class SnapshotResult:
    lock_path: Path
    snapshot_path: Path
    runtime: dict[str, resolve.RuntimePackage]
    serving: list[str]
    unresolved: dict[str, list[str]]
    inconsistent: list[str]
    warnings: list[str]
    freeze_count: int
    entries: list[LockEntry] = field(default_factory=list)
    # What the snapshot read, for the checks run right after it (`seeded`): the
    # environment, and the model's answers to the examples (None without examples).
    env: dict[str, Any] = field(default_factory=dict)
    answers: tuple[list[str], InProcessAnswers] | None = None
    env_stamp: str = ""  # the environment's stamp when `env` was read
    model_stamp: str = ""  # the model's inputs when `answers` were asked

    def seeded(self, ctx: CheckContext) -> CheckContext:
        """`ctx` holding what the snapshot just read, so that its checks do not start the
        model's interpreter again to read the same (`probe_environment`, `model_answers`);
        nothing when the environment changed since (a `pip install` during the fetch: the
        checks' verdicts would be stamped with inputs they never read)."""
        if env_stamp(ctx.manifest.interpreter()) != self.env_stamp:
            return ctx
        ctx.cache["env"] = self.env
        if self.answers is not None and self.model_stamp == fingerprint(model_inputs(ctx)):
            ctx.cache["model-answers"] = self.answers
        return ctx


Event = Stage | Log | Detail | SnapshotResult


def probe_environment(interpreter: Path, timeout: float = 120) -> dict[str, Any]:
    """Python, platform and every distribution of the environment, seen from inside it."""
    env = run_json_script(interpreter, PROBE, timeout=timeout, isolated=True)
    if env["broken"]:
        raise WorkbenchError(
            "distributions with broken metadata (no name or version) in the environment: "
            + ", ".join(env["broken"])
            + ".",
            fix="reinstall them (`pip install --force-reinstall NAME`) or delete those folders.",
        )
    return env


def code_paths(manifest: Manifest) -> list[Path]:
    paths = [manifest.resolve(p) for p in manifest.model.code]
    if manifest.model.predictor:
        module = manifest.model.predictor.split(":")[0]
        candidate = manifest.root / Path(*module.split("."))
        for path in (candidate.with_suffix(".py"), candidate):
            if path.exists():
                paths.append(path)
                break
    return paths


def take_snapshot(
    manifest: Manifest,
    *,
    machine: str = "x86_64",
    cancel: threading.Event | None = None,
    offline: bool = False,
) -> Iterator[Event]:
    cancel = cancel or threading.Event()
    if machine not in wheels.MACHINES:
        raise WorkbenchError(
            f"`{machine}` is not a supported target machine.", fix="use x86_64 or aarch64."
        )
    interpreter = manifest.interpreter()
    yield Stage(f"inspecting the environment of {interpreter}")
    stamp = env_stamp(interpreter)
    env = probe_environment(interpreter)
    py = env["python"]
    yield Log(
        f"{py['implementation']} {py['version']} on {env['platform']['system']} "
        f"{env['platform']['machine']}, {len(env['dists'])} distributions"
    )
    if cancel.is_set():
        raise Cancelled()

    yield Stage("loading the model and answering the examples (what it imports at run time)")
    examples = load_examples(manifest, missing_ok=True)
    model_stamp = fingerprint(model_inputs(CheckContext(manifest)))  # what they answer from
    answers = predict_in_model_env(manifest, [r for _, r in examples], track_reads=True)
    yield Log(f"{len(answers.modules)} modules imported while loading and predicting")
    static = imports.static_imports(code_paths(manifest), manifest.root)  # read once
    runtime = _runtime_set(manifest, env, answers, machine, static)
    yield Log(f"runtime set: {len(runtime.packages)} of {len(env['dists'])} distributions")
    if cancel.is_set():
        raise Cancelled()

    target = wheels.Target(python=py["major_minor"], machine=machine)
    yield Stage(
        f"fetching wheels for {target.abi} manylinux {machine} into {wheels.wheel_dir(target)}"
    )
    found = yield from _fetch_wheels(interpreter, runtime, target, cancel, offline)
    entries, serving = _lock_entries(found, runtime)

    yield Stage("writing environment.lock and snapshot.yaml")
    lock_path = manifest.root / LOCK_NAME
    record = _snapshot_record(
        env, target, runtime, entries, serving, answers.warnings, manifest.root, found
    )
    record.imports = _known_modules(env, runtime, answers, static)
    if keep_time_if_same(manifest.root, record):
        yield Log(f"the same environment as the snapshot of {record.taken_at}: its time kept")
    write_snapshot(manifest.root, record)
    write_text_atomic(
        lock_path,
        render_lock(
            entries, target=f"CPython {py['major_minor']} ({target.abi}), manylinux {machine}"
        ),
        within=manifest.root,
        what="the environment lock",
    )
    yield SnapshotResult(
        lock_path=lock_path,
        snapshot_path=manifest.root / SNAPSHOT_NAME,
        runtime=runtime.packages,
        serving=serving,
        unresolved=runtime.unresolved,
        inconsistent=runtime.inconsistent,
        warnings=answers.warnings,
        freeze_count=len(env["dists"]),
        entries=entries,
        env=env,
        answers=([name for name, _ in examples], answers) if examples else None,
        env_stamp=stamp,
        model_stamp=model_stamp,
    )


def _known_modules(
    env: dict[str, Any],
    runtime: resolve.RuntimeSet,
    answers: InProcessAnswers,
    static: dict[str, list[str]],
) -> list[str]:
    """The top-level modules this snapshot accounts for: those the code imports and the
    model imported while answering (each resolved), and those the runtime set's packages
    provide (the image has them): an import of anything else added since is unresolved."""
    provided = {
        module
        for module, owners in resolve.module_owners(env["dists"]).items()
        if any(owner in runtime.packages for owner in owners)
    }
    dynamic = {m.split(".")[0] for m in answers.modules}
    return sorted(provided | dynamic | set(static))


def _runtime_set(
    manifest: Manifest,
    env: dict[str, Any],
    answers: InProcessAnswers,
    machine: str,
    static: dict[str, list[str]],
) -> resolve.RuntimeSet:
    """What the model needs at run time: the distributions behind the modules it imported
    while answering, plus those its code imports (a static scan); every import resolved."""
    paths = code_paths(manifest)
    runtime = resolve.find_runtime_set(
        env,
        dynamic_modules=answers.modules,
        static=static,
        local=imports.local_modules(paths) if paths else set(),
        target=resolve.target_environment(env["python"], machine),
        module_files=answers.module_files,
        project_root=str(manifest.root),
        exclude=manifest.snapshot.exclude,
    )
    if runtime.unresolved:
        listed = "; ".join(f"{m} ({', '.join(w)})" for m, w in runtime.unresolved.items())
        raise WorkbenchError(
            f"imports that no installed distribution provides: {listed}.",
            fix="install the missing packages into the model's environment (or remove the "
            "imports), then take the snapshot again.",
        )
    return runtime


def _fetch_wheels(
    interpreter: Path,
    runtime: resolve.RuntimeSet,
    target: wheels.Target,
    cancel: threading.Event,
    offline: bool,
) -> Generator[Detail, None, dict[str, Path]]:
    """Wheels of the runtime set and of the serving runtime, by name (local sources built
    into wheels first); pip's own output comes out as Detail events."""
    logs: list[str] = []

    def drain() -> Iterator[Detail]:
        while logs:
            yield Detail(logs.pop(0))

    local_wheels: list[Path] = []
    built_here: dict[str, Path] = {}
    for package in runtime.packages.values():
        if package.source.get("kind") in ("editable", "local", "vcs", "url"):
            built = wheels.build_local_wheel(
                interpreter, package.source["url"], package.name, logs.append, package.version
            )
            local_wheels.append(built.parent)
            built_here[canonicalize_name(package.name)] = built
            yield from drain()
    pins = [f"{p.name}=={p.version}" for p in runtime.packages.values()]
    serving_requirements = [
        line.strip()
        for line in SERVING_REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    found = wheels.fetch(
        pins + serving_requirements,
        target,
        extra_find_links=tuple(local_wheels),
        log=logs.append,
        cancel=cancel,
        offline_only=offline,
    )
    yield from drain()
    # A local package's wheel is the one built from its source now: pip finds an older
    # build of the same name and version in the cache first (a source changed without a
    # new version), and the lock would pin, and the image install, the old code.
    return {**found, **built_here}


def _lock_entries(
    found: dict[str, Path], runtime: resolve.RuntimeSet
) -> tuple[list[LockEntry], list[str]]:
    """The lock's entries (each wheel hashed, with why it is there) and the names only the
    serving runtime needs; a runtime package without a wheel fails."""
    entries: list[LockEntry] = []
    serving: list[str] = []
    for name, wheel in sorted(found.items()):
        owner = runtime.packages.get(name)
        version = wheel.name.split("-")[1]
        why = list(owner.why) if owner else ["the serving runtime needs it"]
        if owner is None:
            serving.append(name)
        entries.append(
            LockEntry(
                name=name,
                version=version,
                hashes=[sha256_file(wheel)],
                why=why,
                wheel=wheel.name,
            )
        )
    missing = [p.name for key, p in runtime.packages.items() if key not in found]
    if missing:
        raise WorkbenchError(
            f"no wheel was found for {', '.join(missing)}.",
            fix="check that these packages publish wheels for the target.",
        )
    return entries, serving


def _local(source: dict[str, str], wheel: Path | None, root: Path) -> LocalSource | None:
    """What an editable install's wheel was built from (None for any other install: a
    non-editable one runs its installed copy, not its folder)."""
    url = source.get("url", "")
    folder = Path(sources.path_of(url))
    if source.get("kind") != "editable" or not url.startswith("file:") or wheel is None:
        return None
    if not folder.is_dir():
        return None
    try:  # relative when in the project: the same on every clone
        location = folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        location = str(folder)
    return sources.record(wheel, folder, location)


def _snapshot_record(
    env: dict[str, Any],
    target: wheels.Target,
    runtime: resolve.RuntimeSet,
    entries: list[LockEntry],
    serving: list[str],
    warnings: list[str],
    root: Path,
    found: dict[str, Path],
) -> SnapshotRecord:
    py = env["python"]
    by_name = {e.name: e for e in entries}
    return SnapshotRecord(
        taken_at=now(),
        python=PythonInfo(version=py["version"], implementation=py["implementation"]),
        platform=PlatformInfo(system=env["platform"]["system"], machine=env["platform"]["machine"]),
        target=TargetInfo(
            python=py["major_minor"],
            abi=target.abi,
            machine=target.machine,
            wheels=str(wheels.wheel_dir(target)),
        ),
        runtime={
            canonicalize_name(p.name): RuntimeEntry(
                version=p.version,
                why=p.why,
                source=p.source.get("kind", "index"),
                wheel=by_name[canonicalize_name(p.name)].wheel,
                local=_local(p.source, found.get(canonicalize_name(p.name)), root),
            )
            for p in runtime.packages.values()
        },
        serving={
            name: ServingEntry(version=by_name[name].version, wheel=by_name[name].wheel)
            for name in serving
        },
        unresolved=runtime.unresolved,
        inconsistent=runtime.inconsistent,
        warnings=warnings,
        freeze={
            d["name"]: d["version"]
            + ("" if d["source"]["kind"] == "index" else f" ({d['source']['kind']})")
            for d in env["dists"]
        },
        excluded=runtime.excluded,
    )


def run_snapshot(
    manifest: Manifest, on_event: Callable[[Event], None], **kwargs: Any
) -> SnapshotResult:
    result: SnapshotResult | None = None
    for event in take_snapshot(manifest, **kwargs):
        on_event(event)
        if isinstance(event, SnapshotResult):
            result = event
    assert result is not None
    return result
