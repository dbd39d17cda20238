"""`environment.lock` and `snapshot.yaml`: what the snapshot writes into the project.

The lock is a pip requirements file: `==` pins, `--hash=sha256:` of the target's
wheels, and a comment saying why each package is there. `snapshot.yaml` keeps
the whole truth for the record: python, platform, the full freeze, the runtime
set with reasons. Both are written atomically, only once everything succeeded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec
from packaging.utils import canonicalize_name

from workbench.kernel.confine import check_inside, read_bounded
from workbench.kernel.errors import WorkbenchError
from workbench.project.records import SnapshotRecord, read_record, write_record

LOCK_NAME = "environment.lock"
SNAPSHOT_NAME = "snapshot.yaml"
# An exact pin: `==` and a version without wildcards (pip reads `==1.*` as a range).
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;*]+)(?=[\s\\;]|$)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def read_snapshot(root: Path) -> SnapshotRecord:
    """The project's snapshot.yaml."""
    path = root / SNAPSHOT_NAME
    if not path.exists():
        raise WorkbenchError("there is no snapshot.yaml yet.", fix="run `workbench snapshot`.")
    return read_record(path, SnapshotRecord, what="snapshot")


def write_snapshot(root: Path, record: SnapshotRecord) -> Path:
    path = root / SNAPSHOT_NAME
    write_record(
        path,
        record,
        header="Written by `workbench snapshot`: the environment, for the record.",
        within=root,
        what="the snapshot",
    )
    return path


def keep_time_if_same(root: Path, record: SnapshotRecord) -> bool:
    """A snapshot that finds what the last one recorded keeps its time, so snapshot.yaml is
    written with the same bytes: a new `taken_at` alone made every item reading it stale
    and "Next" offer a release of nothing (a new user's trial)."""
    try:
        before = read_snapshot(root)
    except WorkbenchError:
        return False
    if msgspec.structs.replace(before, taken_at=record.taken_at) != record:
        return False
    record.taken_at = before.taken_at
    return True


@dataclass
class LockEntry:
    name: str
    version: str
    hashes: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    wheel: str | None = None


def render_lock(entries: list[LockEntry], *, target: str) -> str:
    lines = [
        "# environment.lock: the model's runtime set and the serving runtime, pinned with the",
        "# sha256 of each wheel. Written by `workbench snapshot`; do not edit by hand.",
        "# The image installs it with:",
        "#   pip install --require-hashes --no-index --find-links WHEELS -r environment.lock",
        f"# target: {target}",
        "",
    ]
    for entry in sorted(entries, key=lambda e: canonicalize_name(e.name)):
        lines.append(f"{canonicalize_name(entry.name)}=={entry.version} \\")
        lines += [
            f"    --hash=sha256:{h}" + (" \\" if i < len(entry.hashes) - 1 else "")
            for i, h in enumerate(entry.hashes)
        ]
        lines += [f"    # {why}" for why in entry.why]
    return "\n".join(lines) + "\n"


PINS_HEADER = (
    "# The pins of the project's environment.lock and their hashes, its comments left out:\n"
    "# every project with the same pins builds the same dependency layers (the engine's build\n"
    "# cache shares them). Written by `workbench serve` for the dependency image's build.\n"
)


def pins_only(text: str, path: str) -> str:
    """What pip installs from a lock's text: every line but its comments and blank lines,
    as written (the `# why` comments differ between projects with the same pins; the
    snapshot writes the pins sorted). The lock is parsed first, so a broken one is refused
    here with its line, as everywhere else."""
    parse_lock(text, path)
    kept = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    return PINS_HEADER + "".join(f"{line}\n" for line in kept)


MAX_LOCK_BYTES = 16 << 20  # thousands of pins with their hashes fit in well under 1 MB


def read_lock(path: Path) -> dict[str, LockEntry]:
    """Entries by canonical name; every line that is not a comment must be an `==` pin."""
    return parse_lock(lock_text(path), str(path))


def lock_text(path: Path) -> str:
    """The lock's text: it sits at the project's root, may not lead out of it, nor be
    endless."""
    try:
        inside = check_inside(path.parent, path, what="the lock")
        return read_bounded(inside, limit=MAX_LOCK_BYTES, what="lock").decode("utf-8", "replace")
    except FileNotFoundError:
        raise WorkbenchError(
            f"{path} does not exist.", fix="take a snapshot first: `workbench snapshot`."
        ) from None


def parse_lock(text: str, path: str) -> dict[str, LockEntry]:
    """Entries by canonical name from a lock's text (`path` names it in errors)."""
    entries: dict[str, LockEntry] = {}
    current: LockEntry | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or (line.startswith("#") and current is None):
            continue
        if line.startswith("#"):
            assert current is not None
            current.why.append(line.lstrip("# ").strip())
            continue
        if line.startswith("--hash="):
            if current is None:
                raise WorkbenchError(f"{path}, line {number}: a hash without a package.")
            current.hashes += HASH.findall(line)
            continue
        match = PIN.match(line)
        if not match:
            raise WorkbenchError(
                f"{path}, line {number}: `{line}` is not an exact `name==version` pin.",
                fix="take the snapshot again instead of editing the lock by hand.",
            )
        current = LockEntry(
            name=canonicalize_name(match.group(1)),
            version=match.group(2),
            hashes=HASH.findall(line),
        )
        entries[current.name] = current
    return entries


@dataclass(frozen=True)
class LockChange:
    name: str
    kind: Literal["added", "removed", "changed", "rehashed"]
    old: str | None
    new: str | None


def diff_locks(old: dict[str, LockEntry], new: dict[str, LockEntry]) -> list[LockChange]:
    changes = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is None and after is not None:
            changes.append(LockChange(name, "added", None, after.version))
        elif after is None and before is not None:
            changes.append(LockChange(name, "removed", before.version, None))
        elif before is not None and after is not None:
            if before.version != after.version:
                changes.append(LockChange(name, "changed", before.version, after.version))
            elif set(before.hashes) != set(after.hashes):
                changes.append(LockChange(name, "rehashed", before.version, after.version))
    return changes
