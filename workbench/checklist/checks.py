"""Auto checks: functions that verify an item with evidence, declared per step.

A check is two functions: `inputs(ctx)` says cheaply what the result depends
on (file hashes, the image id, git HEAD ...) and `run(ctx)` does the work and
returns a `CheckResult`. The fingerprint of the inputs is stored with the
result; when the current fingerprint differs, the stored result is stale.

Each step declares its checks in a `CheckSet`; the engine never imports them:
`workbench.steps` (the composition root) hands them over.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import msgspec

from workbench.kernel.cancel import Cancelled
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIPPED = "skipped"
    PENDING = "pending"
    STALE = "stale"


class Report(msgspec.Struct, kw_only=True, frozen=True):
    """Base of what a check measured, typed: each step declares its own in its package
    (`workbench.steps.serve.report`). A result carries it as plain data (the same keys on
    disk as ever) and readers decode it with its type through `report_of`, never by key."""


R = TypeVar("R", bound=Report)


def _plain(report: Report | None) -> dict[str, Any]:
    return msgspec.to_builtins(report) if report is not None else {}


@dataclass(frozen=True)
class CheckResult:
    status: Status
    evidence: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # a `Report` as plain data
    # Skipped because it could not be tried here (a GPU image on a machine without one),
    # not because it does not apply: a gate skipped so blocks until a person waives it.
    unverified: bool = False

    @classmethod
    def passed(cls, *evidence: str, report: Report | None = None) -> CheckResult:
        return cls(Status.PASS, list(evidence), _plain(report))

    @classmethod
    def failed(cls, *evidence: str, report: Report | None = None) -> CheckResult:
        return cls(Status.FAIL, list(evidence), _plain(report))

    @classmethod
    def warned(cls, *evidence: str, report: Report | None = None) -> CheckResult:
        return cls(Status.WARN, list(evidence), _plain(report))

    @classmethod
    def skipped(cls, reason: str, *, unverified: bool = False) -> CheckResult:
        """Skipped: not applicable (no release yet, nothing deployed), or, `unverified`, not
        tried because it cannot be here; never passed, and as a gate it then blocks until
        waived (by someone who tried it where it can run)."""
        return cls(Status.SKIPPED, [reason], unverified=unverified)


class HasDetails(Protocol):
    """A fresh `CheckResult` or a stored one (`checklist.yaml`, a frozen checklist)."""

    @property
    def details(self) -> dict[str, Any]: ...


def report_of(result: HasDetails | None, kind: type[R], item_id: str) -> R | None:
    """The typed report a result carries; None when it carries none (not measured, or a
    file written before the report had it). Details that do not read as `kind` (a hand
    edit) are an error naming the item, never taken as "nothing measured"."""
    details = result.details if result is not None else None
    if not details:
        return None
    try:
        return msgspec.convert(details, kind)
    except msgspec.ValidationError as exc:
        raise WorkbenchError(
            f"the result of `{item_id}` does not read as {kind.__name__}: {exc}.",
            fix=f"run its step's checks again (`workbench check -s {item_id.split('.')[0]}`), "
            "or restore checklist.yaml "
            "from git (`git checkout checklist.yaml`).",
        ) from None


@dataclass
class CheckContext:
    """What a check gets: the project, a way to log, and the cancel flag."""

    manifest: Manifest
    cancel: threading.Event = field(default_factory=threading.Event)
    log: Callable[[str], None] = lambda _line: None
    # A tool's own output (docker build, pip): a log file, or the screen when asked.
    detail: Callable[[str], None] = lambda _line: None
    # What runs now, said as it starts: the id of the item being answered (a long check such
    # as the serve test answers several items, one after another) or a stage with none
    # ("start"). The interface shows it as the running row.
    phase: Callable[[str], None] = lambda _what: None
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
Run = Callable[[CheckContext], CheckResult]


@dataclass(frozen=True)
class AutoCheck:
    id: str
    run: Run
    inputs: Callable[[CheckContext], Inputs]
    # Seconds a result stays fresh however its inputs look: for what the check reads from
    # outside the project (a registry, a running service) or what ages (advisories).
    max_age: float | None = None


class CheckSet:
    """The auto checks of one step, declared with `@checks.auto(item_id, inputs=...)`."""

    def __init__(self) -> None:
        self.checks: dict[str, AutoCheck] = {}

    def auto(
        self,
        item_id: str,
        *,
        inputs: Callable[[CheckContext], Inputs],
        max_age: float | None = None,
    ) -> Callable[[Run], Run]:
        def register(fn: Run) -> Run:
            self.add(AutoCheck(item_id, fn, inputs, max_age))
            return fn

        return register

    def add(self, check: AutoCheck) -> None:
        if check.id in self.checks:
            raise ValueError(f"two checks declare the item {check.id}")
        self.checks[check.id] = check


def merge(sets: Iterable[CheckSet]) -> dict[str, AutoCheck]:
    merged: dict[str, AutoCheck] = {}
    for check_set in sets:
        for check in check_set.checks.values():
            if check.id in merged:
                raise ValueError(f"two checks declare the item {check.id}")
            merged[check.id] = check
    return merged


def too_old(checked_at: str, max_age: float | None, at: datetime | None = None) -> str | None:
    """Why a result older than `max_age` seconds is stale (None while it is fresh): what a
    registry or a service said, or an advisory database's age, is read again, never kept
    green on an old reading."""
    if max_age is None:
        return None
    try:
        then = datetime.fromisoformat(checked_at.replace("Z", "+00:00"))
    except ValueError:
        return f"checked at an unreadable time ({checked_at!r}): read again"
    age = ((at or datetime.now(UTC)) - then).total_seconds()
    if age <= max_age:
        return None
    return (
        f"read {_duration(age)} ago ({checked_at}); what it reads changes outside the "
        f"project, so it is read again after {_duration(max_age)}"
    )


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    if seconds == 3600:
        return "an hour"
    return f"{max(seconds / 60, 1):.0f} minutes"
