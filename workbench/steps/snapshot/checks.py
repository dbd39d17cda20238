"""Step 1 checks: the model's environment and its snapshot."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from packaging.utils import canonicalize_name

from workbench.checklist.checks import CheckContext, CheckResult, CheckSet, Inputs
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest, sha256_file, sha256_text
from workbench.project.lockfile import (
    LOCK_NAME,
    SNAPSHOT_NAME,
    diff_locks,
    read_lock,
    read_snapshot,
)
from workbench.project.model_failures import stale_pickle
from workbench.steps.shared import model_answers, model_inputs
from workbench.steps.snapshot.drift import baseline_lock
from workbench.steps.snapshot.resolve import DEV_TOOLS
from workbench.steps.snapshot.take import probe_environment
from workbench.steps.snapshot.wheels import Target, wheel_dir

checks = CheckSet()


SITE_FOLDERS = ("lib/python*/site-packages", "lib/python3*/dist-packages", "local/lib/python3*/*")
METADATA = ("*.dist-info", "*.egg-info", "*.pth", "*.egg-link")


def env_stamp(interpreter: Path) -> str:
    """Cheap fingerprint of what is installed, read without starting the interpreter: the
    interpreter itself (where its link resolves, its size and time: a venv made again on
    another Python), its pyvenv.cfg, and the distributions' metadata names in every site
    folder of its prefix and, for a venv that sees them, its base's (Debian's dist-packages,
    egg-info installs and .pth files included)."""
    prefix = interpreter.parent.parent
    lines = []
    try:
        real = interpreter.resolve()
        lines.append(f"{real} {real.stat().st_size} {real.stat().st_mtime_ns}")
    except OSError:
        lines.append(f"{interpreter} unreadable")
    prefixes = [prefix]
    config = prefix / "pyvenv.cfg"
    if config.is_file():
        text = config.read_text(errors="replace")
        lines.append(text)
        home = next((ln.split("=", 1)[1].strip() for ln in text.splitlines()
                     if ln.split("=", 1)[0].strip() == "home" and "=" in ln), None)  # fmt: skip
        if home and "include-system-site-packages = true" in text.replace("  ", " "):
            prefixes.append(Path(home).parent)
    for base in prefixes:
        for folder in SITE_FOLDERS:
            for pattern in METADATA:
                lines += sorted(str(p) for p in base.glob(f"{folder}/{pattern}"))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _snapshot_inputs(ctx: CheckContext) -> Inputs:
    m = ctx.manifest
    return {
        "snapshot": file_digest(m.root / SNAPSHOT_NAME),
        "lock": file_digest(m.root / LOCK_NAME),
    }


def _fresh_inputs(ctx: CheckContext) -> Inputs:
    return {**_snapshot_inputs(ctx), "env": env_stamp(ctx.manifest.interpreter())}


@checks.auto("snapshot.python-known", inputs=_fresh_inputs)
def python_known(ctx: CheckContext) -> CheckResult:
    snap = read_snapshot(ctx.manifest.root)
    py, platform = snap.python, snap.platform
    if not py.version or not platform.machine:
        return CheckResult.failed("snapshot.yaml does not record python and platform")
    env = probe_environment(ctx.manifest.interpreter())
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
    env = probe_environment(ctx.manifest.interpreter())
    installed: dict[str, str] = {canonicalize_name(d["name"]): d["version"] for d in env["dists"]}
    drift = [
        f"{name}: snapshot {info.version}, installed {installed.get(name, 'nothing')}"
        for name, info in snap.runtime.items()
        if installed.get(name) != info.version
    ]
    if drift:
        return CheckResult.failed(
            "the environment changed since the snapshot",
            *drift,
            "take the snapshot again: `workbench snapshot`",
        )
    return CheckResult.passed(
        f"the {len(snap.runtime)} runtime packages are installed at the snapshot's versions"
    )


@checks.auto("snapshot.imports-resolved", inputs=_snapshot_inputs)
def imports_resolved(ctx: CheckContext) -> CheckResult:
    snap = read_snapshot(ctx.manifest.root)
    unresolved = snap.unresolved
    if unresolved:
        return CheckResult.failed(*(f"{m}: {', '.join(w)}" for m, w in unresolved.items()))
    runtime = snap.runtime
    return CheckResult.passed(
        f"every import maps to one of {len(runtime)} distributions",
        *(f"{n} {i.version}: {'; '.join(i.why)}" for n, i in runtime.items()),
    )


@checks.auto("snapshot.pinned", inputs=_snapshot_inputs)
def pinned(ctx: CheckContext) -> CheckResult:
    entries = read_lock(ctx.manifest.root / LOCK_NAME)  # raises on anything but == pins
    return CheckResult.passed(f"{len(entries)} packages pinned with ==")


def _hashed_inputs(ctx: CheckContext) -> Inputs:
    """The snapshot, the lock, and the wheel cache the check reads (each wheel's name, size
    and time): a cleared cache or a replaced wheel makes the result stale, never green."""
    inputs = _snapshot_inputs(ctx)
    try:
        snap = read_snapshot(ctx.manifest.root)
    except WorkbenchError as exc:
        return {**inputs, "wheels": f"unreadable snapshot: {exc.message}"}
    folder = wheel_dir(Target(python=snap.target.python, machine=snap.target.machine))
    wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    listing = "\n".join(f"{w.name} {w.stat().st_size} {w.stat().st_mtime_ns}" for w in wheels)
    return {**inputs, "wheels": sha256_text(f"{folder}\n{listing}")}


@checks.auto("snapshot.hashed", inputs=_hashed_inputs)
def hashed(ctx: CheckContext) -> CheckResult:
    entries = read_lock(ctx.manifest.root / LOCK_NAME)
    snap = read_snapshot(ctx.manifest.root)
    target = Target(python=snap.target.python, machine=snap.target.machine)
    folder = wheel_dir(target)
    cached = {sha256_file(p): p.name for p in folder.glob("*.whl")} if folder.is_dir() else {}
    problems = []
    for name, entry in entries.items():
        if not entry.hashes:
            problems.append(f"{name} has no hash")
        elif not any(h in cached for h in entry.hashes):
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
    pulled_in = [
        f"{n} ({'; '.join(i.why)})"
        for n, i in tools.items()
        if not any(w.startswith("imported by") for w in i.why)
    ]
    imported = [n for n, i in tools.items() if any(w.startswith("imported by") for w in i.why)]
    if pulled_in:
        return CheckResult.failed(*(f"development tool in the runtime set: {p}" for p in pulled_in))
    evidence = ["no notebook kernel, test runner, linter or formatter in the runtime set"]
    if imported:
        evidence.append("imported by the predictor itself, so kept: " + ", ".join(imported))
    return CheckResult.passed(*evidence)


@checks.auto("snapshot.consistent", inputs=_snapshot_inputs)
def consistent(ctx: CheckContext) -> CheckResult:
    problems = read_snapshot(ctx.manifest.root).inconsistent
    if problems:
        return CheckResult.failed(*problems)
    return CheckResult.passed("every requirement of the runtime set is met by the pinned versions")


@checks.auto("snapshot.model-loads", inputs=model_inputs)
def model_loads(ctx: CheckContext) -> CheckResult:
    names, answers = model_answers(ctx)
    if not names:
        return CheckResult.failed("there are no example requests to try the model on")
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
    if answers.warnings:
        return CheckResult.warned(
            f"answered {len(names)} examples, with warnings", *answers.warnings, *evidence
        )
    return CheckResult.passed(f"loaded and answered {len(names)} examples, no warnings", *evidence)


def _drift_inputs(ctx: CheckContext) -> Inputs:
    return {
        "lock": file_digest(ctx.manifest.root / LOCK_NAME),
        "baseline": baseline_lock(ctx.manifest)[0],
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
