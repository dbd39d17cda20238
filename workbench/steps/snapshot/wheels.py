"""Wheels for the target, fetched on the host into the user's cache and reused.

The image build installs from these files with `--no-index`, so it needs no
network, index credentials or proxy certificate. A warm cache is tried first
with `--no-index`; only what is missing is fetched from the index.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from workbench.kernel.cancel import Cancelled
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_file, sha256_stored
from workbench.kernel.lock import Waiting, cache_lock
from workbench.kernel.paths import cache_dir
from workbench.project.lockfile import LockEntry
from workbench.steps.snapshot import sources

Log = Callable[[str], None]
MACHINES = ("x86_64", "aarch64")


@dataclass(frozen=True)
class Target:
    """What the wheels must run on: CPython major.minor on manylinux for a machine."""

    python: str  # "3.11"
    machine: str = "x86_64"

    @property
    def abi(self) -> str:
        return "cp" + self.python.replace(".", "")

    @property
    def key(self) -> str:
        return f"{self.abi}-manylinux-{self.machine}"

    def platforms(self) -> list[str]:
        # Debian bookworm (the base image) has glibc 2.36.
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(36, 16, -1)]
        tags.append(f"manylinux2014_{self.machine}")
        if self.machine == "x86_64":
            tags += ["manylinux2010_x86_64", "manylinux1_x86_64"]
        return tags

    def pip_flags(self) -> list[str]:
        flags = [
            "--only-binary=:all:",
            "--python-version",
            self.python,
            "--implementation",
            "cp",
            "--abi",
            self.abi,
            "--abi",
            "abi3",
            "--abi",
            "none",
        ]
        for tag in self.platforms():
            flags += ["--platform", tag]
        return flags


def wheel_dir(target: Target) -> Path:
    return cache_dir() / "wheels" / target.key


def _pip(args: list[str], log: Log, cancel: threading.Event | None) -> tuple[int, list[str]]:
    """Run pip, streaming its lines to `log`; terminate it when cancelled."""
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pip", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        lines.append(line)
        if line.strip():
            log(line.strip())
        if cancel is not None and cancel.is_set():
            process.terminate()
            process.wait()
            raise Cancelled()
    return process.wait(), lines


SAVED = re.compile(r"(?:Saved|File was already downloaded) (\S+\.whl)")
NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


def fetch(
    requirements: list[str],
    target: Target,
    *,
    extra_find_links: tuple[Path, ...] = (),
    log: Log = lambda _: None,
    cancel: threading.Event | None = None,
    offline_only: bool = False,
) -> dict[str, Path]:
    """Download (or find in the cache) one wheel per distribution the requirements resolve to."""
    folder = wheel_dir(target)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(requirements) + "\n")
        req_file = handle.name
    try:
        base = [
            "download",
            "--dest",
            str(folder),
            "--find-links",
            str(folder),
            *(arg for link in extra_find_links for arg in ("--find-links", str(link))),
            *target.pip_flags(),
            "--progress-bar",
            "off",
            "-r",
            req_file,
        ]
        log(f"looking in the wheel cache {folder} (no network)")
        # one filler of this target's cache at a time (two builds at once would write the
        # same wheel file); the other waits, then finds the wheels cached
        waiting = Waiting(said=log, cancel=cancel)
        with cache_lock(f"wheels-{target.key}", "filling the wheel cache", waiting=waiting):
            code, lines = _pip([*base, "--no-index"], lambda _: None, cancel)
            if code != 0:
                if offline_only:
                    raise WorkbenchError(_pip_failure(lines, target, offline=True))
                log("not all wheels are cached; fetching the missing ones from the index")
                code, lines = _pip(base, log, cancel)
                if code != 0:
                    raise WorkbenchError(_pip_failure(lines, target, offline=False))
    finally:
        Path(req_file).unlink(missing_ok=True)
    wheels: dict[str, Path] = {}
    for line in lines:
        match = SAVED.search(line)
        if match:
            path = Path(match.group(1))
            path = path if path.is_absolute() else folder / path.name
            name, *_ = parse_wheel_filename(path.name)
            wheels[canonicalize_name(name)] = path
    return wheels


def _pip_failure(lines: list[str], target: Target, *, offline: bool) -> str:
    text = "\n".join(lines)
    missing = NO_MATCH.search(text)
    if missing:
        what = missing.group(1)
        return (
            f"no wheel of {what} for {target.abi} manylinux {target.machine}"
            + (" in the wheel cache (offline)" if offline else " on the index")
            + "; the image build installs wheels only. Fix: pin a version that publishes a "
            "wheel for this target, or build one and put it in "
            f"{wheel_dir(target)}."
        )
    if "ResolutionImpossible" in text or "conflict" in text.lower():
        conflict = [line.strip() for line in lines if "requested" in line or "depends" in line]
        return (
            "the model's pins and the serving runtime's needs conflict: "
            + "; ".join(conflict[:4])
            + ". Fix: upgrade the conflicting package in the "
            "model's environment, then take the snapshot again."
        )
    tail = " / ".join(line.strip() for line in lines[-4:] if line.strip())
    return (
        f"pip could not fetch the wheels ({tail}). Fix: check the network access to your "
        "package index (or warm the cache on a machine that has it)."
    )


def _has_pip(python: Path) -> bool:
    """Whether an interpreter can run pip (`uv venv` makes environments without it)."""
    probe = subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True, check=False
    )
    return probe.returncode == 0


def _pip_wheel(
    builder: Path, location: str, wheels: Path, name: str, version: str | None
) -> subprocess.CompletedProcess[str]:
    command = [str(builder), "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir"]
    return subprocess.run(
        [*command, str(wheels), location],
        capture_output=True,
        text=True,
        check=False,
        # Zip entries dated 1980, not now: the same files build the same bytes.
        env={**os.environ, "SOURCE_DATE_EPOCH": "315532800", **version_from_vcs(name, version)},
    )


def version_from_vcs(name: str, version: str | None) -> dict[str, str]:
    """The copy a wheel is built from has no .git: a version read from git (setuptools-scm,
    hatch-vcs, PDM's, poetry-dynamic-versioning) is given as the installed one instead,
    so the wheel is the version the lock pins."""
    if not version:
        return {}
    dist = re.sub(r"[-_.]+", "_", name).upper()
    return {
        # This distribution's only: a build dependency built from source keeps its own.
        f"SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{dist}": version,
        "PDM_BUILD_SCM_VERSION": version,
        "POETRY_DYNAMIC_VERSIONING_BYPASS": version,
    }


def _pure(wheel: Path) -> bool:
    """A wheel any interpreter of the target installs (py3-none-any), whoever built it."""
    tags = parse_wheel_filename(wheel.name)[3]
    return all(tag.abi == "none" and tag.platform == "any" for tag in tags)


def build_local_wheel(
    python: Path,
    source: str,
    name: str,
    log: Log = lambda _: None,
    version: str | None = None,
) -> Path:
    """A wheel of `version` (the installed one) built from a local, editable or VCS source,
    cached by the source's content and that version.
    Built by the model's own pip; where its environment has none (`uv venv`), by the
    workbench's, which is right only for a pure-Python wheel (a platform wheel is refused,
    saying to give the environment pip)."""
    location = sources.path_of(source)
    origin = location
    key = hashlib.sha256(location.encode()).hexdigest()[:12]
    if Path(location).is_dir():
        key = sources.key(Path(location))[:16]
    if version:  # a version read from git changes with each commit, the files may not
        key = hashlib.sha256(f"{key} {version}".encode()).hexdigest()[:16]
    out = cache_dir() / "local-wheels" / f"{canonicalize_name(name)}-{key}"
    existing = sorted(out.glob("*.whl")) if out.is_dir() else []
    if existing:
        log(f"using the cached wheel of {name} built from {location}: {existing[0].name}")
        return existing[0]
    log(f"building a wheel of {name} from {location}")
    builder = python if _has_pip(python) else Path(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        if Path(location).is_dir():
            # Build from a copy: a build backend writes build/ and *.egg-info into the source
            # folder, and the user's project must not change under a snapshot.
            copy = sources.vcs_copy(Path(location), Path(tmp))
            if copy is None:
                copy = Path(tmp) / "source"
                sources.copy_source(Path(location), copy)
            location = str(copy)
        wheels = Path(tmp) / "wheels"
        result = _pip_wheel(builder, location, wheels, name, version)
        built = sorted(wheels.glob("*.whl"))
        if result.returncode != 0 or not built:
            tail = " / ".join(result.stderr.strip().splitlines()[-3:])
            raise WorkbenchError(
                f"{name} is installed from {origin} and no wheel can be built from it "
                f"({tail or 'no wheel produced'}).",
                fix="make the package buildable (a pyproject.toml), or install it from an index.",
            )
        if builder != python and not _pure(built[0]):
            raise WorkbenchError(
                f"{name} is installed from {origin} and builds a platform wheel "
                f"({built[0].name}), which only the model's own interpreter can build, and "
                f"the model's environment ({python}) has no pip (`uv venv` makes none).",
                fix=f"give it pip (`uv pip install --python {python} pip`), then take the "
                "snapshot again.",
            )
        out.mkdir(parents=True, exist_ok=True)
        # Whole or absent: another build of the same source (same key) takes any *.whl here.
        partial = out / f".{built[0].name}.{os.getpid()}.part"
        same = same_build(built[0])
        if same is not None:  # a file outside the package changed: the wheel did not
            log(f"{name}: the wheel built from {origin} holds the files of {same} built "
                "before: that one is kept (the lock's hash stays)")  # fmt: skip
        shutil.copy2(same or built[0], partial)
        os.replace(partial, out / built[0].name)
    return out / built[0].name


def _members(wheel: Path) -> dict[str, str] | None:
    try:
        with zipfile.ZipFile(wheel) as archive:
            return {
                i.filename: hashlib.sha256(archive.read(i)).hexdigest() for i in archive.infolist()
            }
    except (OSError, zipfile.BadZipFile):
        return None


def same_build(wheel: Path) -> Path | None:
    """A wheel built before under the same name whose members have the same bytes (a new
    key when a file of the folder the build leaves out changed: `pip install -e .` makes
    the whole project the folder, and a wheel's zip dates differ at each build)."""
    members = _members(wheel)
    for earlier in local_wheels():
        if earlier.name == wheel.name and members is not None and _members(earlier) == members:
            return earlier
    return None


def local_wheels() -> list[Path]:
    """The wheels built from local sources, each in its folder keyed by the source's content
    (`build_local_wheel`): a lock pins the one built from the source it saw."""
    return sorted((cache_dir() / "local-wheels").glob("*/*.whl"))


def _candidates(folder: Path) -> list[Path]:
    """The wheels in `folder`, then those built from local sources."""
    return (sorted(folder.glob("*.whl")) if folder.is_dir() else []) + local_wheels()


def wheels_called(folder: Path, files: Collection[str]) -> list[Path]:
    """The wheels in `folder`, and among those built from local sources, whose file names
    are among `files` (the snapshot's wheel of each package): what a lock is read from."""
    return [path for path in _candidates(folder) if path.name in files]


def cached_wheels(
    folder: Path, entries: dict[str, LockEntry], *, stored: bool = False
) -> dict[str, Path]:
    """The cached wheel of each lock entry (in `folder` or among the wheels built from local
    sources), one whose sha256 is among the entry's hashes. The wheels whose file name is
    the entry's package are hashed first; only when none of them has the hash is every
    wheel hashed (once) to find one: a cache shared by many projects (torch, CatBoost:
    gigabytes) is not read whole at every build. With `stored` (a build, whose pip checks
    every wheel against the lock's hashes again), a wheel's hash kept with the file since it
    was last read is taken (`sha256_stored`); a check's evidence reads the files."""
    digest = sha256_stored if stored else sha256_file
    wheels = _candidates(folder)
    named: dict[str, list[Path]] = {}
    for path in wheels:
        try:
            named.setdefault(parse_wheel_filename(path.name)[0], []).append(path)
        except ValueError:  # not a wheel's name: only the full scan looks at it
            continue
    found: dict[str, Path] = {}
    everything: dict[str, Path] | None = None
    for name, entry in entries.items():
        wheel: Path | None = next(
            (w for w in named.get(name, []) if digest(w) in entry.hashes), None
        )
        if wheel is None:
            if everything is None:
                everything = {digest(p): p for p in wheels}
            wheel = next((everything[h] for h in entry.hashes if h in everything), None)
        if wheel is not None:
            found[name] = wheel
    return found
