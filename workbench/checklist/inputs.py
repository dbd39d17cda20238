"""What an auto item's verdict was measured on: its named inputs, one digest each, so a
stale item says which input changed ("the lock, the serving runtime"), not only that one
did."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from workbench.checklist.checks import AutoCheck, CheckContext
from workbench.kernel.hashing import fingerprint


@dataclass(frozen=True)
class Measured:
    fingerprint: str
    digests: dict[str, str] = field(default_factory=dict)  # input name -> short digest


def measure(
    checks: dict[str, AutoCheck], ctx: CheckContext, item_ids: list[str]
) -> dict[str, Measured]:
    """The inputs of these items as they are now (an input that cannot be read is itself an
    input state)."""
    measured = {}
    for item_id in item_ids:
        try:
            inputs = checks[item_id].inputs(ctx)
        except Exception as exc:
            inputs = {"unreadable": f"{type(exc).__name__}: {exc}"}
        digests = {
            str(name): hashlib.sha256(str(value).encode("utf-8", "surrogateescape")).hexdigest()[
                :16
            ]
            for name, value in inputs.items()
        }
        measured[item_id] = Measured(fingerprint(inputs), digests)
    return measured


def changed(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """The names of the inputs that differ (added or gone too); none when `before` was not
    recorded (a result stored by an older workbench)."""
    if not before:
        return []
    return sorted(name for name in set(before) | set(now) if before.get(name) != now.get(name))


def _short(value: object) -> str:
    return hashlib.sha256(str(value).encode("utf-8", "surrogateescape")).hexdigest()[:16]
