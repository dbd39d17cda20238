"""The runtime set: the distributions the model really needs, each with why.

Modules imported at run time (found by loading the model and answering the
examples) and by the predictor's code (a static scan) are mapped to the
distributions that provide them, then closed over their requirements with
markers evaluated for the target. Whatever cannot be resolved is listed, never
guessed.
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from packaging.markers import InvalidMarker, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from workbench.kernel.errors import WorkbenchError

# Modules of the serving runtime's own files, run beside the model.
RUNTIME_OWN = {"flavors", "tensors", "boosters", "inprocess", "__main__"}

DEV_TOOLS = {
    "ipykernel",
    "ipython",
    "jupyter",
    "jupyter-client",
    "jupyter-core",
    "jupyterlab",
    "notebook",
    "nbconvert",
    "nbformat",
    "ipywidgets",
    "debugpy",
    "pytest",
    "pytest-cov",
    "hypothesis",
    "coverage",
    "tox",
    "nox",
    "ruff",
    "black",
    "isort",
    "flake8",
    "pylint",
    "mypy",
    "pyright",
    "pre-commit",
    "autopep8",
    "yapf",
    "bandit",
    "pip-tools",
    "twine",
    "build",
    "wheel",
    "setuptools",
    "pip",
}


@dataclass
class RuntimePackage:
    name: str
    version: str
    why: list[str] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)
    requires: list[str] = field(default_factory=list)


@dataclass
class RuntimeSet:
    packages: dict[str, RuntimePackage]
    unresolved: dict[str, list[str]]
    inconsistent: list[str]
    # Left out by snapshot.exclude: each with why it would have been in.
    excluded: dict[str, list[str]] = field(default_factory=dict)


def target_environment(python: dict[str, Any], machine: str) -> dict[str, str]:
    return {
        "python_version": python["major_minor"],
        "python_full_version": python["version"],
        "implementation_name": python["implementation"].lower(),
        "platform_python_implementation": python["implementation"],
        "implementation_version": python["version"],
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def module_owners(dists: list[dict[str, Any]]) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for dist in dists:
        for module in dist["top_level"]:
            owners.setdefault(module, []).append(canonicalize_name(dist["name"]))
    return owners


def find_runtime_set(
    env: dict[str, Any],
    *,
    dynamic_modules: list[str],
    static: dict[str, list[str]],
    local: set[str],
    target: dict[str, str],
    module_files: dict[str, str] | None = None,
    project_root: str | None = None,
    exclude: tuple[str, ...] = (),
) -> RuntimeSet:
    dists: dict[str, dict[str, Any]] = {canonicalize_name(d["name"]): d for d in env["dists"]}
    packages: dict[str, RuntimePackage] = {}
    reasons: dict[str, list[str]] = {}
    for module in sorted({m.split(".")[0] for m in dynamic_modules}):
        reasons.setdefault(module, []).append("imported by the model at run time")
    for module, files in static.items():
        reasons.setdefault(module, []).append("imported by " + ", ".join(files))
    unresolved = _imported_distributions(
        env, dists, packages, reasons, local, module_files or {}, project_root
    )
    excluded = _leave_out(packages, exclude)
    inconsistent = _close_over_requirements(dists, packages, target)
    _require_left_out(packages, excluded)
    return RuntimeSet(
        packages=dict(sorted(packages.items())),
        unresolved=unresolved,
        inconsistent=inconsistent,
        excluded=excluded,
    )


EXCLUDED_WHY = "left out by snapshot.exclude in workbench.yaml"


def _leave_out(
    packages: dict[str, RuntimePackage], exclude: tuple[str, ...]
) -> dict[str, list[str]]:
    """Take the excluded distributions out of the runtime set, keeping why each was in."""
    excluded: dict[str, list[str]] = {}
    for name in sorted({canonicalize_name(n) for n in exclude}):
        package = packages.pop(name, None)
        why = package.why if package is not None else ["not in the runtime set anyway"]
        excluded[name] = [*why, EXCLUDED_WHY]
    return excluded


def _require_left_out(packages: dict[str, RuntimePackage], excluded: dict[str, list[str]]) -> None:
    """An excluded distribution another one in the set requires cannot be left out: the
    image's install would refuse the lock for lacking it."""
    back = {name: packages[name].why for name in excluded if name in packages}
    if back:
        said = "; ".join(f"{name} ({', '.join(why)})" for name, why in back.items())
        raise WorkbenchError(
            f"snapshot.exclude in workbench.yaml leaves out what the runtime set requires: {said}.",
            fix="remove those from snapshot.exclude: only a package nothing else in the set "
            "requires can be left out.",
        )


def _add(
    packages: dict[str, RuntimePackage], dists: dict[str, dict[str, Any]], name: str, reason: str
) -> None:
    """Put the distribution `name` into the runtime set (once), with why it is there."""
    dist = dists[name]
    package = packages.get(name)
    if package is None:
        package = packages[name] = RuntimePackage(
            name=dist["name"],
            version=dist["version"],
            source=dist["source"],
            requires=dist["requires"],
        )
    if reason not in package.why:
        package.why.append(reason)


def _imported_distributions(
    env: dict[str, Any],
    dists: dict[str, dict[str, Any]],
    packages: dict[str, RuntimePackage],
    reasons: dict[str, list[str]],
    local: set[str],
    module_files: dict[str, str],
    project_root: str | None,
) -> dict[str, list[str]]:
    """Add the distributions that provide the imported modules (by `reasons`); return the
    modules no distribution provides, with why they were wanted."""
    owners = module_owners(env["dists"])
    stdlib = set(env["stdlib"])
    unresolved: dict[str, list[str]] = {}
    for module, why in sorted(reasons.items()):
        if module in stdlib or module in RUNTIME_OWN or module.startswith("_"):
            continue
        installed = _installed_owner(module, module_files.get(module), env["dists"])
        if module in local and not _outside(installed, project_root):
            continue
        names = (
            [name for name, _ in installed]
            or owners.get(module)
            or _local_owner(module, module_files, env["dists"])
        )
        if not names:
            unresolved[module] = why
            continue
        for name in names:
            for reason in why:
                _add(packages, dists, name, f"{reason} ({module})")
    return unresolved


def _close_over_requirements(
    dists: dict[str, dict[str, Any]], packages: dict[str, RuntimePackage], target: dict[str, str]
) -> list[str]:
    """Add what the runtime set requires, markers evaluated for the target; return the
    inconsistencies met on the way."""
    inconsistent: list[str] = []
    queue = [(name, frozenset[str]()) for name in list(packages)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        dist = dists[name]
        for text in dist["requires"]:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                inconsistent.append(f"{dist['name']} declares an unreadable requirement `{text}`")
                continue
            if req.marker is not None and not any(
                _marker_true(req, {**target, "extra": extra}) for extra in (extras or {""})
            ):
                continue
            child = canonicalize_name(req.name)
            if child not in dists:
                inconsistent.append(
                    f"{dist['name']} {dist['version']} requires {req} but {req.name} "
                    "is not installed"
                )
                continue
            installed = dists[child]["version"]
            if req.specifier and not req.specifier.contains(installed, prereleases=True):
                inconsistent.append(
                    f"{dist['name']} {dist['version']} requires {req} but {installed} is installed"
                )
            _add(packages, dists, child, f"required by {dist['name']}")
            queue.append((child, frozenset(req.extras)))
    return inconsistent


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _installed_owner(
    module: str, where: str | None, dists: list[dict[str, Any]]
) -> list[tuple[str, str]]:
    """(distribution, the folder it imports `module` from) for each editable or local install
    whose own file list provides `module`: its .pth folders or its import-hook MAPPING
    (probe.py reads them from RECORD). Where the module was imported (`where`), the file
    must lie in that folder, so a same-named module of the project is not mistaken."""
    found: list[tuple[str, str]] = []
    for dist in dists:
        layout = dist.get("layout") or {}
        if module not in layout.get("provides", []):
            continue
        mapped = layout.get("mapping", {}).get(module)
        folders = [os.path.dirname(mapped)] if mapped else list(layout.get("folders", []))
        for folder in folders:
            if where is None or _inside(where, folder):
                found.append((canonicalize_name(dist["name"]), folder))
                break
    return found


def _outside(installed: list[tuple[str, str]], project_root: str | None) -> bool:
    """An install's folder that is not the project's root: its modules are that package's
    (built into a wheel and locked), even where `model.code` names their folder. A module
    an install imports from the project's root itself is the project's own code."""
    return any(
        project_root is None or os.path.normpath(folder) != os.path.normpath(project_root)
        for _, folder in installed
    )


def _local_owner(module: str, files: dict[str, str], dists: list[dict[str, Any]]) -> list[str]:
    """The editable or local-path distribution whose folder holds `module` (such installs
    often declare no top-level names: a .pth file or an import hook points at the folder)."""
    where = files.get(module)
    if not where:
        return []
    for dist in dists:
        source = dist.get("source") or {}
        if source.get("kind") not in ("editable", "local"):
            continue
        root = urllib.parse.unquote(urllib.parse.urlparse(source.get("url", "")).path)
        if root and (where == root or where.startswith(root.rstrip("/") + "/")):
            return [canonicalize_name(dist["name"])]
    return []


def _marker_true(req: Requirement, environment: dict[str, str]) -> bool:
    assert req.marker is not None
    try:
        return bool(req.marker.evaluate(environment))
    except (InvalidMarker, UndefinedEnvironmentName):
        return True


# Packaging tools a runtime library may declare as its own requirement (torch requires
# setuptools): kept then, since the library's metadata says it needs them.
PACKAGING_TOOLS = {"setuptools", "wheel", "pip"}


def kept_tool(name: str, why: list[str]) -> bool:
    """A development tool with a reason to be in the runtime set: the predictor imports it,
    or it is a packaging tool a runtime library requires."""
    if any(w.startswith("imported by") for w in why):
        return True
    return name in PACKAGING_TOOLS and bool(why) and all(w.startswith("required by") for w in why)


def dev_tools_without_reason(packages: dict[str, RuntimePackage]) -> list[str]:
    """Development tools in the set without a reason to be there (`kept_tool`)."""
    return [
        f"{p.name} ({'; '.join(p.why)})"
        for key, p in packages.items()
        if key in DEV_TOOLS and not kept_tool(key, p.why)
    ]
