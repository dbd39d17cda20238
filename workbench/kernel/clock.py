"""The one timestamp format of everything the workbench writes: UTC, seconds, `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
