"""Paths the workbench opens in a project stay in the project, and are what they claim.

A project is often a repository someone else wrote, and git keeps symlinks: a
committed `.workbench/state.lock -> ~/.bashrc` would have every `workbench tick`
truncate the target. So the workbench's own scratch (`.workbench/` and all under
it) holds no symlink at all (the workbench makes its own files there), the files a
project commits may link only inside the project, and whatever is read or written
must be a regular file or a folder: a link to `/dev/zero` or a FIFO is refused
before a byte is read. Files the workbench writes are opened with `O_NOFOLLOW`, so
a link that appears after the check is not followed either.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from workbench.kernel.errors import WorkbenchError

SCRATCH = ".workbench"


class UnsafePath(WorkbenchError):
    """A path in the project leaves it through a symlink, or is not a regular file/folder."""


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _shown(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _refuse_link(root: Path, path: Path, *, scratch: bool, what: str) -> None:
    target = os.readlink(path)
    real = Path(os.path.realpath(path))
    shown = _shown(root, path)
    if scratch:
        raise UnsafePath(
            f"{root / shown} is a symlink (to {target}); {what} would be written through it "
            "into a place the workbench does not own, so nothing was written.",
            fix=f"remove the symlink {shown} (the workbench makes its own {SCRATCH}/ folder "
            f"and files; `{SCRATCH}/` belongs in .gitignore, never in git).",
        )
    if not real.is_relative_to(root.resolve()):
        raise UnsafePath(
            f"{root / shown} is a symlink to {target}, outside the project; the workbench "
            f"does not follow it for {what}.",
            fix=f"replace the symlink {shown} with the real file or folder, inside the project.",
        )


def check_inside(root: Path, path: Path, *, what: str, folder: bool = False) -> Path:
    """`path` (under the project at `root`) when every part of it that exists stays in the
    project and is a folder (the last part: a regular file, or a folder with `folder`).

    Parts under `.workbench/` may not be symlinks at all; elsewhere a symlink is followed
    only when it leads to a place inside the project. Parts that do not exist yet are
    fine (they will be made)."""
    root = Path(os.path.abspath(root))
    path = Path(os.path.abspath(path))
    if not path.is_relative_to(root):
        raise UnsafePath(
            f"{path} is outside the project {root}; {what} must be inside it.",
            fix="name a path inside the project folder in workbench.yaml.",
        )
    parts = path.relative_to(root).parts
    current = root
    for index, part in enumerate(parts):
        current = current / part
        try:
            info = current.lstat()
        except FileNotFoundError:
            return path
        scratch = parts[0] == SCRATCH
        if stat.S_ISLNK(info.st_mode):
            _refuse_link(root, current, scratch=scratch, what=what)
            info = current.stat()
        last = index == len(parts) - 1
        wanted_folder = folder or not last
        if wanted_folder and not stat.S_ISDIR(info.st_mode):
            raise UnsafePath(
                f"{current} is {_kind(info.st_mode)}, where {what} needs a folder.",
                fix=f"remove or rename {_shown(root, current)}; the workbench makes the folder.",
            )
        if not wanted_folder and not stat.S_ISREG(info.st_mode):
            raise UnsafePath(
                f"{current} is {_kind(info.st_mode)}, not a regular file; the workbench does "
                f"not read or write it as {what}.",
                fix=f"replace {_shown(root, current)} with a regular file.",
            )
    return path


def scratch_path(root: Path, *parts: str, what: str, folder: bool = False) -> Path:
    """`.workbench/<parts>` of the project, checked (no symlink anywhere in it), with its
    parent folders made; the folder itself made too when `folder`."""
    path = check_inside(root, Path(root, SCRATCH, *parts), what=what, folder=folder)
    make_folder(root, path if folder else path.parent, what=what)
    return path


def make_folder(root: Path, folder: Path, *, what: str) -> Path:
    """`mkdir -p` that checks each folder it passes through or makes (a link raced in
    between is refused by the check after)."""
    folder.mkdir(parents=True, exist_ok=True)
    return check_inside(root, folder, what=what, folder=True)


def open_no_follow(path: Path, flags: int, mode: int = 0o644, *, what: str) -> int:
    """`os.open` that refuses a final symlink (ELOOP) and anything but a regular file."""
    try:
        handle = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(
                f"{path} is a symlink; {what} is not written through it.",
                fix=f"remove the symlink {path} (the workbench makes its own file there).",
            ) from None
        raise
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):
        os.close(handle)
        raise UnsafePath(
            f"{path} is {_kind(info.st_mode)}, not a regular file; {what} is not written there.",
            fix=f"remove {path}; the workbench makes its own file there.",
        )
    os.set_blocking(handle, True)
    return handle


def _regular(path: Path, *, what: str) -> tuple[BinaryIO, os.stat_result]:
    """An open regular file and its stat, refused before a byte is read when it is a
    device, a FIFO or a socket (opened non-blocking: a FIFO cannot hang the open)."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise WorkbenchError(f"{path}: the {what} cannot be read ({exc.strerror}).") from None
    stream = os.fdopen(handle, "rb")
    info = os.fstat(handle)
    if not stat.S_ISREG(info.st_mode):
        stream.close()
        raise UnsafePath(
            f"{path}: the {what} is {_kind(info.st_mode)}, not a regular file; it was not read.",
            fix=f"replace {path.name} with a regular file.",
        )
    return stream, info


def read_prefix(path: Path, *, limit: int, what: str) -> tuple[bytes, bool]:
    """At most `limit` bytes from the start of a regular file, and whether more followed
    (a sample bigger than what inference reads is cut, not swallowed whole). A link to
    /dev/zero or a FIFO is refused before a byte is read."""
    stream, _ = _regular(path, what=what)
    with stream:
        data = stream.read(limit + 1)
    return data[:limit], len(data) > limit


def read_bounded(path: Path, *, limit: int, what: str, setting: str | None = None) -> bytes:
    """The bytes of a regular file no bigger than `limit`, checked before a byte is read
    (a link to /dev/zero, a FIFO or a 50 MB file is refused, not swallowed)."""
    stream, info = _regular(path, what=what)
    with stream:
        if info.st_size > limit:
            raise UnsafePath(
                f"{path}: the {what} is {info.st_size / 1e6:.1f} MB, over the limit of "
                f"{limit / 1e6:.1f} MB for it; it was not read.",
                fix=f"make {path.name} smaller"
                + (f" (or raise {setting} in workbench.yaml)." if setting else "."),
            )
        data = stream.read(limit + 1)
    if len(data) > limit:  # grew between the check and the read
        raise UnsafePath(
            f"{path}: the {what} grew past the limit of {limit / 1e6:.1f} MB while it was read.",
            fix=f"make {path.name} smaller.",
        )
    return data
