"""Auto checks: functions registered by item id that verify an item with evidence.

A check is two functions: `inputs(ctx)` says cheaply what the result depends
on (file hashes, the image id, git HEAD ...) and `run(ctx)` does the work and
returns a `CheckResult`. The fingerprint of the inputs is stored with the
result; when the current fingerprint differs, the stored result is stale.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.manifest import Manifest


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"
    PENDING = "pending"
    STALE = "stale"


@dataclass(frozen=True)
class CheckResult:
    status: Status
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, *evidence: str, **details: Any) -> CheckResult:
        return cls(Status.PASS, list(evidence), details)

    @classmethod
    def failed(cls, *evidence: str, **details: Any) -> CheckResult:
        return cls(Status.FAIL, list(evidence), details)

    @classmethod
    def warned(cls, *evidence: str, **details: Any) -> CheckResult:
        return cls(Status.WARN, list(evidence), details)

    @classmethod
    def skipped(cls, reason: str) -> CheckResult:
        return cls(Status.SKIPPED, [reason])


class Cancelled(Exception):
    """The user cancelled the running checks."""


@dataclass
class CheckContext:
    """What a check gets: the project, a way to log, and the cancel flag."""

    manifest: Manifest
    cancel: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = lambda _line: None
    cache: dict[str, Any] = field(default_factory=dict)

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Share one computation (say, the model's answers) between checks of one run."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


Inputs = dict[str, str]


@dataclass(frozen=True)
class AutoCheck:
    id: str
    run: Callable[[CheckContext], CheckResult]
    inputs: Callable[[CheckContext], Inputs]


_CHECKS: dict[str, AutoCheck] = {}


def auto_check(
    item_id: str, *, inputs: Callable[[CheckContext], Inputs]
) -> Callable[[Callable[[CheckContext], CheckResult]], Callable[[CheckContext], CheckResult]]:
    def register(
        fn: Callable[[CheckContext], CheckResult],
    ) -> Callable[[CheckContext], CheckResult]:
        _CHECKS[item_id] = AutoCheck(item_id, fn, inputs)
        return fn

    return register


def registered_checks() -> dict[str, AutoCheck]:
    import workbench.checks  # noqa: F401 - registers the built-in checks

    return dict(_CHECKS)


def fingerprint(inputs: Inputs) -> str:
    blob = json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


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


def project_files(ctx: CheckContext, *relative: str) -> Inputs:
    return {name: file_digest(ctx.manifest.resolve(name)) for name in relative}
