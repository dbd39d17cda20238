"""Content hashes: of files, of folders, and of a check's inputs (its fingerprint)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path


@functools.lru_cache(maxsize=4096)
def _hash_file(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file; unchanged files (same mtime and size) are not read again, so
    the many checks that fingerprint the same artifact hash it once."""
    stat = path.stat()
    return _hash_file(str(path), stat.st_mtime_ns, stat.st_size)


STORED_HASH = "user.workbench.sha256"  # an extended attribute: "<size>:<mtime_ns>:<sha256>"


def sha256_stored(path: Path) -> str:
    """`sha256_file` for a file of the workbench's own caches (a wheel of the wheel cache,
    written once and never changed): the hash is kept with the file, in an extended
    attribute naming the size and modification time it was computed for, so that a later
    command reads one attribute instead of the file (the torch wheel: 0.3 s of CPU at every
    build). A file changed since, or a file system without extended attributes, is read."""
    stat = path.stat()
    said = f"{stat.st_size}:{stat.st_mtime_ns}:"
    try:
        stored = os.getxattr(path, STORED_HASH).decode()
    except OSError:
        stored = ""
    if stored.startswith(said) and len(stored) == len(said) + 64:
        return stored[len(said) :]
    digest = _hash_file(str(path), stat.st_mtime_ns, stat.st_size)
    with contextlib.suppress(OSError):  # not kept: read again next time
        os.setxattr(path, STORED_HASH, (said + digest).encode())
    return digest


def sha256_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Path) -> str:
    """sha256 of a file, of a folder's files (names and contents), or 'missing'.

    Bytecode caches are left out: Python may write them at any time, and they are not
    inputs of anything the workbench checks."""
    if path.is_file():
        return "sha256:" + sha256_file(path)
    if path.is_dir():
        digest = hashlib.sha256()
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            relative = child.relative_to(path)
            if "__pycache__" in relative.parts or child.suffix == ".pyc":
                continue
            digest.update(relative.as_posix().encode() + b"\0")
            digest.update(sha256_file(child).encode() + b"\0")
        return "sha256:" + digest.hexdigest()
    return "missing"


def fingerprint(inputs: dict[str, str]) -> str:
    """One hash of a mapping of named inputs (key order does not matter)."""
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def rows_digest(rows: list[object]) -> str:
    """One hash of rows as values, whatever their order and however they were written
    (a CSV saved again with other quoting, line endings or column order has the same)."""
    lines = sorted(
        json.dumps(_number(r), sort_keys=True, separators=(",", ":"), default=str) for r in rows
    )
    return sha256_text("\n".join(lines))


def _number(value: object) -> object:
    """A value as it reads: 2.0 and 2 are one number (a CSV saved again may write either)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_number(v) for v in value]
    return value
