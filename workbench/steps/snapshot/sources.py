"""The project's own packages, installed editable: which files are their source, the
content key a wheel is built and cached by, and whether the code there is still the code
the lock pins.

An editable install runs its folder's code in the model's environment, while the image
installs the wheel the snapshot built: once the code changes (its version need not), the
two differ until the snapshot is taken again. At the snapshot, each member of the new
wheel whose file in the folder has the same bytes is recorded with its sha256 (a member
the build generated, `_version.py`, has none and is not compared), and so are the `.py`
files under the package's folders the build left out. `compare` reads the folder again.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import os
import re
import shutil
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_file
from workbench.project.records import LocalSource

# Never the package's source: VCS data, caches, build output, environments, the workbench's
# own files. `build` and `dist` only at the top (a subpackage may be called so).
SKIPPED = (".git", ".hg", "__pycache__", "*.egg-info", "*.pyc", ".workbench", ".venv")
SKIPPED_AT_TOP = (
    *("build", "dist", ".tox", ".nox", ".mypy_cache", ".pytest_cache"),
    *("snapshot.yaml", "environment.lock", "checklist.yaml", "releases"),
)
SOURCE_ROOTS = ("", "src", "lib", "python")  # where a wheel's top-level names may live


def path_of(url: str) -> str:
    """The local path of a `file://` URL (percent-escapes undone), or the text as given."""
    if not url.startswith("file:"):
        return url
    return urllib.parse.unquote(urllib.parse.urlparse(url).path)


def skipped(folder: str, names: list[str], top: str) -> set[str]:
    """The names in `folder` that are not source (a `shutil.copytree` ignore, given the top)."""
    at_top = os.path.normpath(folder) == os.path.normpath(top)
    out = set()
    for name in names:
        patterns = SKIPPED + SKIPPED_AT_TOP if at_top else SKIPPED
        if any(fnmatch.fnmatch(name, p) for p in patterns):
            out.add(name)
        elif os.path.isfile(os.path.join(folder, name, "pyvenv.cfg")):
            out.add(name)  # a virtual environment under any name
    return out


def copy_source(top: Path, dest: Path) -> None:
    """Copy a source folder as its build should see it: links followed, what `skipped`
    says left out, and a folder reached again through a link loop copied once (as `files`
    reads it: `shutil.copytree` alone recursed until it failed)."""
    seen: set[str] = set()

    def ignore(folder: str, names: list[str]) -> set[str]:
        seen.add(os.path.realpath(folder))
        out = skipped(folder, names, str(top))
        for name in names:
            path = os.path.join(folder, name)
            if name not in out and os.path.isdir(path) and os.path.realpath(path) in seen:
                out.add(name)
        return out

    try:
        shutil.copytree(top, dest, ignore=ignore)
    except (shutil.Error, OSError) as exc:
        raise WorkbenchError(
            f"{top} could not be copied to build its wheel from: {str(exc)[:300]}.",
            fix="make every file of the package's folder readable (a broken link, a "
            "device or a file without read permission stops the copy), then take the "
            "snapshot again.",
        ) from None


VCS_BACKEND = re.compile(r"setuptools[_-]scm|hatch[_-]vcs|pdm-backend|dynamic[_-]versioning")


def vcs_copy(top: Path, tmp: Path) -> Path | None:
    """For a package whose build reads git (setuptools-scm and hatch-vcs find its package
    data by the files git tracks): a copy laid out as in its repository, the folder at the
    same path under a checkout holding the files git tracks there, committed (`root =
    ".."` finds it). Without it the build left the data out, and still succeeded. None for
    another backend, or a folder in no git work tree."""
    config = [top / n for n in ("pyproject.toml", "setup.cfg", "setup.py")]
    said = " ".join(p.read_text(errors="replace") for p in config if p.is_file())
    toplevel = git.run(top, "rev-parse", "--show-toplevel") if VCS_BACKEND.search(said) else None
    listed = git.run(top, "ls-files", "-z", strip=False) if toplevel and toplevel.ok else None
    if toplevel is None or listed is None or not listed.ok:
        return None
    try:
        relative = top.resolve().relative_to(Path(toplevel.stdout).resolve())
    except ValueError:
        return None
    checkout = tmp / "checkout"
    copy_source(top, checkout / relative)
    tracked = [
        (relative / n).as_posix() for n in listed.stdout.split("\0")
        if n and (checkout / relative / n).exists()
    ]  # fmt: skip
    if not git.run(checkout, "init", "-q").ok:
        return checkout / relative
    for start in range(0, len(tracked), 500):  # bounded argv
        git.run(checkout, "add", "-f", "--", *tracked[start : start + 500])
    # setuptools-scm lists files with `git archive HEAD`: a commit of them, never signed.
    git.run(
        checkout, "-c", "user.name=workbench", "-c", "user.email=workbench@localhost",
        "-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "the package",
    )  # fmt: skip
    return checkout / relative


def files(top: Path, pattern: str = "*") -> Iterator[Path]:
    """The files of a source folder matching `pattern`, in a stable order, without what
    `skipped` says (a link is followed, as the build's copy follows it: a linked folder's
    files are the package's; a folder reached again through a link loop is read once)."""
    seen: set[str] = set()
    for folder, dirs, names in os.walk(top, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        gone = skipped(folder, dirs + names, str(top))
        dirs[:] = sorted(d for d in dirs if d not in gone)
        for name in sorted(n for n in names if n not in gone and fnmatch.fnmatch(n, pattern)):
            path = Path(folder, name)
            if path.is_file():
                yield path


def key(top: Path) -> str:
    """A content key of a source folder (names and contents of its source files)."""
    digest = hashlib.sha256()
    for path in files(top):
        digest.update(os.fsencode(path.relative_to(top).as_posix()) + b"\0")  # any name
        digest.update(sha256_file(path).encode() + b"\0")
    return digest.hexdigest()


def _record(wheel: Path) -> dict[str, str]:
    """Member -> hex sha256, from the wheel's RECORD (dist-info and data left out); nothing
    from a wheel that cannot be read."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            name = next((n for n in archive.namelist() if n.endswith(".dist-info/RECORD")), "")
            text = archive.read(name).decode("utf-8", "replace") if name else ""
    except (OSError, zipfile.BadZipFile, KeyError):
        return {}
    out = {}
    for line in text.splitlines():
        path, _, rest = line.partition(",")
        digest = rest.split(",")[0]
        if digest.startswith("sha256=") and not path.split("/")[0].endswith(
            (".dist-info", ".data")
        ):
            raw = digest[len("sha256=") :]
            out[path] = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).hex()
    return out


def _base(folder: Path, members: dict[str, str]) -> Path | None:
    """The folder the wheel's top-level names live in (`src/` layouts and the like)."""
    tops = {m.split("/")[0] for m in members}
    bases = [folder / root if root else folder for root in SOURCE_ROOTS]
    if folder.is_dir():  # any other folder at the top (`package_dir = {"": "code"}`)
        names = [p.name for p in folder.iterdir() if p.is_dir()]
        gone = skipped(str(folder), names, str(folder))
        bases += [folder / n for n in sorted(names) if n not in gone]
    return next((b for b in bases if any((b / top).exists() for top in tops)), None)


def _package_dirs(recorded: dict[str, str]) -> list[str]:
    """The outermost package folders of the recorded files (never the folder's top, where
    a flat module sits among files that are no package's)."""
    dirs = {str(Path(p).parent) for p in recorded} - {"."}
    return sorted(d for d in dirs if not any(d.startswith(o + "/") for o in dirs if o != d))


def _modules(folder: Path, recorded: dict[str, str]) -> list[str]:
    """The `.py` files under the package folders that can be modules (their name is an
    identifier, never a name that is not UTF-8), relative to `folder`."""
    tops = [within(folder, top) for top in _package_dirs(recorded)]
    return [
        path.relative_to(folder).as_posix()
        for top in tops
        if top is not None and top.is_dir()
        for path in files(top, "*.py")
        if path.stem.isidentifier()
    ]


def record(wheel: Path, folder: Path, location: str) -> LocalSource:
    """What the snapshot keeps of a package built from `folder`: each member of `wheel`
    whose file there has its bytes (by path relative to the folder, with its sha256), and
    the modules under the package's folders the build left out."""
    members = _record(wheel)
    base = _base(folder, members)
    matched = {}
    for member, digest in members.items():
        source = base / member if base is not None else None
        if source is not None and source.is_file() and sha256_file(source) == digest:
            matched[source.relative_to(folder).as_posix()] = digest
    left_out = [m for m in _modules(folder, matched) if m not in matched]
    return LocalSource(location=location, files=dict(sorted(matched.items())), left_out=left_out)


@dataclass
class Comparison:
    """The folder now against what the snapshot recorded of it."""

    compared: int = 0
    changed: list[str] = field(default_factory=list)  # paths relative to the folder
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # modules under the package's folders


def within(folder: Path, relative: str) -> Path | None:
    """`folder / relative` when it stays in the folder (a hand-edited snapshot.yaml naming
    `../../etc/passwd` is read nowhere)."""
    path, base = os.path.normpath(folder / relative), os.path.normpath(folder)
    inside = path == base or path.startswith(base + os.sep)
    return Path(path) if inside and not Path(relative).is_absolute() else None


def compare(kept: LocalSource, folder: Path) -> Comparison:
    result = Comparison(compared=len(kept.files))
    for relative, digest in kept.files.items():
        path = within(folder, relative)
        if path is None or not path.is_file():
            result.removed.append(relative)
        elif sha256_file(path) != digest:
            result.changed.append(relative)
    known = set(kept.files) | set(kept.left_out)
    result.added = [m for m in _modules(folder, kept.files) if m not in known]
    return result


def stamp(kept: LocalSource, folder: Path) -> str:
    """A cheap fingerprint (names, sizes, times) of what `compare` reads: what makes its
    verdict stale."""
    lines = [str(folder)]
    for relative in [*kept.files, *_modules(folder, kept.files)]:
        path = within(folder, relative)
        try:
            stat = path.stat() if path is not None else None
        except OSError:
            stat = None
        if stat is None:
            lines.append(f"{relative} missing")
            continue
        lines.append(f"{relative} {stat.st_size} {stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()
