"""Step 1 checks: the model's environment and its snapshot."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from workbench.checklist.checks import CheckContext, CheckResult, CheckSet, Inputs
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest, sha256_text
from workbench.project.env_stamp import env_stamp
from workbench.project.lockfile import (
    LOCK_NAME,
    SNAPSHOT_NAME,
    diff_locks,
    read_lock,
    read_snapshot,
)
from workbench.project.model_env import load_examples, predict_in_model_env
from workbench.project.model_failures import stale_pickle
from workbench.project.records import LocalSource, SnapshotRecord
from workbench.steps.shared import model_answers, model_inputs
from workbench.steps.snapshot import imports, sources
from workbench.steps.snapshot.cuda import (
    NVIDIA_DRIVER,
    cuda_wheels,
    gpu_on_this_machine,
    total_megabytes,
)
from workbench.steps.snapshot.drift import baseline_lock
from workbench.steps.snapshot.resolve import DEV_TOOLS, kept_tool
from workbench.steps.snapshot.take import code_paths, probe_environment
from workbench.steps.snapshot.wheels import Target, cached_wheels, wheel_dir, wheels_called

checks = CheckSet()


def _snapshot_inputs(ctx: CheckContext) -> Inputs:
    m = ctx.manifest
    return {
        "snapshot": file_digest(m.root / SNAPSHOT_NAME),
        "lock": file_digest(m.root / LOCK_NAME),
    }


def environment(ctx: CheckContext) -> dict[str, Any]:
    """The model's environment as its interpreter describes it, read once per run."""
    found: dict[str, Any] = ctx.memo("env", lambda: probe_environment(ctx.manifest.interpreter()))
    return found


def _env_inputs(ctx: CheckContext) -> Inputs:
    return {**_snapshot_inputs(ctx), "env": env_stamp(ctx.manifest.interpreter())}


def _editables(root: Path, snap: SnapshotRecord) -> list[tuple[str, LocalSource, Path]]:
    """The runtime packages installed editable: name, what the snapshot kept of their
    source, and their folder."""
    out = []
    for name, info in sorted(snap.runtime.items()):
        if info.local is not None:
            where = Path(info.local.location)
            out.append((name, info.local, where if where.is_absolute() else root / where))
    return out


def _fresh_inputs(ctx: CheckContext) -> Inputs:
    """The environment, and the files of its editable packages (their names, sizes, times)."""
    inputs = _env_inputs(ctx)
    try:
        snap = read_snapshot(ctx.manifest.root)
    except WorkbenchError as exc:
        return {**inputs, "sources": f"unreadable snapshot: {exc.message}"}
    stamps = [
        f"{name} {sources.stamp(kept, folder)}"
        for name, kept, folder in _editables(ctx.manifest.root, snap)
    ]
    return {**inputs, "sources": sha256_text("\n".join(stamps))}


def _source_drift(
    root: Path, snap: SnapshotRecord, dists: list[dict[str, Any]]
) -> tuple[list[str], list[str], bool]:
    """What changed in the folders editable packages run from since the snapshot built their
    wheels (problems), what was compared (evidence), and whether one could not be."""
    running: dict[str, str] = {
        canonicalize_name(d["name"]): sources.path_of(d["source"].get("url", ""))
        for d in dists
        if d["source"].get("kind") == "editable"
    }
    problems, compared, uncompared = [], [], False
    problems += [
        f"{name}: installed editable, and its source files were not recorded (a snapshot "
        "of an older workbench): whether the image has its code as it is now cannot be "
        "read; take the snapshot again"
        for name, info in sorted(snap.runtime.items())
        if info.source == "editable" and info.local is None
    ]
    for name, kept, folder in _editables(root, snap):
        where = kept.location
        now = running.get(name)
        if now and Path(now).resolve() != folder.resolve():
            problems.append(f"{name} runs from {now} now, from {where} at the snapshot")
            continue
        seen = sources.compare(kept, folder)
        problems += [
            f"{name}: {where}/{p} changed; the image has it as it was" for p in seen.changed
        ]
        problems += [f"{name}: {where}/{p} is gone; the image still has it" for p in seen.removed]
        problems += [f"{name}: {where}/{p} is new; the image does not have it" for p in seen.added]
        if seen.compared:
            compared.append(f"{name}: {seen.compared} files of its wheel read back from {where}")
        else:
            uncompared = True
            compared.append(f"{name}: not compared: no member of its wheel had a file in {where}")
    return problems, compared, uncompared


@checks.auto("snapshot.python-known", inputs=_env_inputs)
def python_known(ctx: CheckContext) -> CheckResult:
    snap = read_snapshot(ctx.manifest.root)
    py, platform = snap.python, snap.platform
    if not py.version or not platform.machine:
        return CheckResult.failed("snapshot.yaml does not record python and platform")
    env = environment(ctx)
    if env["python"]["version"] != py.version:
        return CheckResult.failed(
            f"snapshot.yaml says Python {py.version} but the "
            f"interpreter is {env['python']['version']}; take it again"
        )
    return CheckResult.passed(
        f"{py.implementation} {py.version} on {platform.system} {platform.machine}",
        f"target {snap.target.abi} manylinux {snap.target.machine}",
    )


@checks.auto("snapshot.fresh", inputs=_fresh_inputs)
def fresh(ctx: CheckContext) -> CheckResult:
    snap = read_snapshot(ctx.manifest.root)
    env = environment(ctx)
    installed: dict[str, str] = {canonicalize_name(d["name"]): d["version"] for d in env["dists"]}
    drift = [
        f"{name}: snapshot {info.version}, installed {installed.get(name, 'nothing')}"
        for name, info in snap.runtime.items()
        if installed.get(name) != info.version
    ]
    changed, compared, uncompared = _source_drift(ctx.manifest.root, snap, env["dists"])
    if drift or changed:
        return CheckResult.failed(
            "the environment changed since the snapshot: take it again (`workbench snapshot`)",
            *drift,
            *changed,
        )
    said = f"the {len(snap.runtime)} runtime packages are installed at the snapshot's versions"
    if uncompared:
        return CheckResult.warned(said, *compared)
    return CheckResult.passed(said, *(f"{line}: the same" for line in compared))


def _imports_inputs(ctx: CheckContext) -> Inputs:
    """The snapshot, and the model's code (each Python file of it, by content)."""
    files = imports.python_files(code_paths(ctx.manifest))
    code = "\n".join(f"{path} {file_digest(path)}" for path in files)
    return {**_snapshot_inputs(ctx), "code": sha256_text(code)}


def _imports_added(
    ctx: CheckContext, snap: SnapshotRecord
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The modules the model's code imports now that the snapshot did not account for (the
    model's standard library and the project's own left out), with the files importing
    them; and every module it imports now."""
    paths = code_paths(ctx.manifest)
    now = imports.static_imports(paths, ctx.manifest.root)
    own = imports.local_modules(paths) if paths else set()
    seen = set(snap.imports or [])
    try:  # the model's standard library (it may be another Python than the workbench's)
        stdlib = set(environment(ctx).get("stdlib") or sys.stdlib_module_names)
    except WorkbenchError:  # its interpreter does not answer: snapshot.fresh says so
        stdlib = set(sys.stdlib_module_names)
    return {
        module: files
        for module, files in now.items()
        if module not in seen | own | stdlib and not module.startswith("_")
    }, now


@checks.auto("snapshot.imports-resolved", inputs=_imports_inputs)
def imports_resolved(ctx: CheckContext) -> CheckResult:
    snap = read_snapshot(ctx.manifest.root)
    unresolved = snap.unresolved
    if unresolved:
        return CheckResult.failed(*(f"{m}: {', '.join(w)}" for m, w in unresolved.items()))
    runtime = snap.runtime
    evidence = [f"{n} {i.version}: {'; '.join(i.why)}" for n, i in runtime.items()]
    if snap.imports is None:
        return CheckResult.warned(
            f"every import maps to one of {len(runtime)} distributions, as the snapshot "
            "found them; imports added to the code since are not compared (snapshot.yaml "
            "records none: take the snapshot again)",
            *evidence,
        )
    added, now = _imports_added(ctx, snap)
    if added:
        return CheckResult.failed(
            "the model's code imports what the snapshot did not resolve: take it again "
            "(`workbench snapshot`)",
            *(f"{module}: imported by {', '.join(files)}" for module, files in added.items()),
        )
    return CheckResult.passed(
        f"every import maps to one of {len(runtime)} distributions; the code's "
        f"{len(now)} imported modules read again, each one the snapshot accounted for (the "
        "project's own and the standard library aside)",
        *evidence,
    )


@checks.auto("snapshot.pinned", inputs=_snapshot_inputs)
def pinned(ctx: CheckContext) -> CheckResult:
    entries = read_lock(ctx.manifest.root / LOCK_NAME)  # raises on anything but == pins
    return CheckResult.passed(f"{len(entries)} packages pinned with ==")


def _hashed_inputs(ctx: CheckContext) -> Inputs:
    """The snapshot, the lock, and the cached wheels the snapshot locked (each one's name,
    size and time): a cleared cache or a replaced wheel makes the result stale, never green.
    Only those files: another project filling the shared cache with its own wheels (other
    packages, other versions) changes nothing here (it made every gate of this one stale)."""
    inputs = _snapshot_inputs(ctx)
    try:
        snap = read_snapshot(ctx.manifest.root)
    except WorkbenchError as exc:
        return {**inputs, "wheels": f"unreadable snapshot: {exc.message}"}
    folder = wheel_dir(Target(python=snap.target.python, machine=snap.target.machine))
    locked = {e.wheel for e in snap.runtime.values()} | {e.wheel for e in snap.serving.values()}
    wheels = wheels_called(folder, {name for name in locked if name})
    listing = "\n".join(f"{w.name} {w.stat().st_size} {w.stat().st_mtime_ns}" for w in wheels)
    return {**inputs, "wheels": sha256_text(f"{folder}\n{listing}")}


@checks.auto("snapshot.hashed", inputs=_hashed_inputs)
def hashed(ctx: CheckContext) -> CheckResult:
    entries = read_lock(ctx.manifest.root / LOCK_NAME)
    snap = read_snapshot(ctx.manifest.root)
    target = Target(python=snap.target.python, machine=snap.target.machine)
    folder = wheel_dir(target)
    cached = cached_wheels(folder, entries)
    problems = []
    for name, entry in entries.items():
        if not entry.hashes:
            problems.append(f"{name} has no hash")
        elif name not in cached:
            problems.append(f"{name} {entry.version}: no wheel with its hash in {folder}")
    if problems:
        return CheckResult.failed(*problems, "take the snapshot again to fetch the wheels")
    return CheckResult.passed(
        f"{len(entries)} packages, each with a sha256 and its wheel cached", f"wheels: {folder}"
    )


@checks.auto("snapshot.no-dev-tools", inputs=_snapshot_inputs)
def no_dev_tools(ctx: CheckContext) -> CheckResult:
    runtime = read_snapshot(ctx.manifest.root).runtime
    tools = {n: i for n, i in runtime.items() if n in DEV_TOOLS}
    pulled_in = [f"{n} ({'; '.join(i.why)})" for n, i in tools.items() if not kept_tool(n, i.why)]
    imported = [n for n, i in tools.items() if any(w.startswith("imported by") for w in i.why)]
    required = [
        f"{n} ({'; '.join(i.why)})"
        for n, i in tools.items()
        if kept_tool(n, i.why) and n not in imported
    ]
    if pulled_in:
        return CheckResult.failed(*(f"development tool in the runtime set: {p}" for p in pulled_in))
    evidence = ["no notebook kernel, test runner, linter or formatter in the runtime set"]
    if imported:
        evidence.append("imported by the predictor itself, so kept: " + ", ".join(imported))
    if required:
        evidence.append(
            "a packaging tool a runtime library requires, so kept: " + ", ".join(required)
        )
    return CheckResult.passed(*evidence)


@checks.auto("snapshot.consistent", inputs=_snapshot_inputs)
def consistent(ctx: CheckContext) -> CheckResult:
    problems = read_snapshot(ctx.manifest.root).inconsistent
    if problems:
        return CheckResult.failed(*problems)
    return CheckResult.passed("every requirement of the runtime set is met by the pinned versions")


@checks.auto("snapshot.model-loads", inputs=model_inputs)
def model_loads(ctx: CheckContext) -> CheckResult:
    if load_examples(ctx.manifest, missing_ok=True):
        names, answers = model_answers(ctx)
    else:  # the snapshot may come before the contract: loaded, and asked nothing
        names, answers = [], predict_in_model_env(ctx.manifest, [])
    evidence = [
        f"{name}: {answer.get('prediction', json.dumps(answer, sort_keys=True)[:80])}"
        for name, answer in zip(names, answers.answers, strict=True)
    ]
    mismatch = [w for w in answers.warnings if "InconsistentVersion" in w]
    if mismatch:
        return CheckResult.failed(
            *([stale] if (stale := stale_pickle(mismatch)) else []),
            *mismatch,
            "retrain and save the model with the installed "
            "versions, or install the versions it was saved with",
        )
    if not names:
        return CheckResult.warned(
            "the model loaded in its own environment and was asked nothing: there are no "
            "example requests yet (`workbench schema infer --from SAMPLE` writes three)",
            *answers.warnings,
        )
    if answers.warnings:
        return CheckResult.warned(
            f"answered {len(names)} examples, with warnings", *answers.warnings, *evidence
        )
    return CheckResult.passed(f"loaded and answered {len(names)} examples, no warnings", *evidence)


def _drift_inputs(ctx: CheckContext) -> Inputs:
    """The lock and its baseline; "no release before this lock" whether or not the first
    release has been made from it since (releasing never makes drift stale)."""
    label, before = baseline_lock(ctx.manifest)
    return {
        "lock": file_digest(ctx.manifest.root / LOCK_NAME),
        "baseline": "none" if before is None and label.startswith("no release") else label,
    }


@checks.auto("snapshot.drift", inputs=_drift_inputs)
def drift(ctx: CheckContext) -> CheckResult:
    current = read_lock(ctx.manifest.root / LOCK_NAME)
    label, before = baseline_lock(ctx.manifest)
    if before is None and label.startswith("no release"):
        return CheckResult.passed(f"{len(current)} packages; {label}, so no drift to show")
    if before is None:  # a release whose lock cannot be read: nothing was compared
        return CheckResult.warned(
            f"{len(current)} packages; the baseline is {label}: nothing to compare with, so "
            "the drift since it is not known",
            "check the release's tag holds environment.lock (`git show TAG:environment.lock`)",
        )
    changes = diff_locks(before, current)
    if not changes:
        return CheckResult.passed(f"no change against {label}")
    return CheckResult.warned(
        f"{len(changes)} changes against {label}",
        *(f"{c.kind}: {c.name} {c.old or ''} -> {c.new or ''}" for c in changes),
    )


def _cuda_inputs(ctx: CheckContext) -> Inputs:
    return {**_snapshot_inputs(ctx), "serve.gpu": str(ctx.manifest.serve.gpu)}


@checks.auto("snapshot.cpu-only", inputs=_cuda_inputs)
def cpu_only(ctx: CheckContext) -> CheckResult:
    """CUDA wheels only where a GPU is declared: a CPU image never carries them."""
    entries = read_lock(ctx.manifest.root / LOCK_NAME)
    snap = read_snapshot(ctx.manifest.root)
    folder = wheel_dir(Target(python=snap.target.python, machine=snap.target.machine))
    found = cuda_wheels(entries, folder)
    gpus = ctx.manifest.serve.gpu
    builds = [f"{n} {e.version}" for n, e in entries.items() if "+" in e.version]
    if not found and not gpus:
        return CheckResult.passed(
            f"no CUDA wheels (nvidia-*, triton) among the lock's {len(entries)} packages",
            *([f"local builds: {', '.join(builds)}"] if builds else []),
        )
    if not found:
        return CheckResult.warned(
            f"serve.gpu asks for {gpus} GPU(s) but the lock holds no CUDA wheels "
            "(nvidia-*, triton): the model's libraries will run on the CPU"
        )
    listing = ", ".join(w.describe() for w in found)
    uncached = sum(w.megabytes is None for w in found)
    weight = f"{total_megabytes(found):,.0f} MB of wheels" + (
        f" ({uncached} not in the cache, not counted)" if uncached else ""
    )
    if not gpus:
        return CheckResult.failed(
            f"{len(found)} CUDA wheels in the lock and no GPU declared (serve.gpu): they add "
            f"{weight} to a CPU image: {listing}",
            "fix: install the CPU build in the model's environment (e.g. `pip install "
            "torch==X+cpu` from PyTorch's `whl/cpu` index with `--index-url`, or from a "
            "`--find-links` folder holding it), then `workbench snapshot`; or declare "
            "`serve.gpu: 1` in workbench.yaml if the image is meant for a GPU",
        )
    driver = gpu_on_this_machine()
    return CheckResult.skipped(
        f"serve.gpu asks for {gpus} GPU(s) and the lock's {len(found)} CUDA wheels "
        f"({weight}: {listing}) are for it; not tried on a GPU here: "
        + (
            f"the NVIDIA driver says {driver}"
            if driver
            else f"no NVIDIA driver ({NVIDIA_DRIVER} absent)"
        )
    )
