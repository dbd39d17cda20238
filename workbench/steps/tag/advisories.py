"""The offline advisory gate: the lock against a folder (or zip) of OSV advisories.

`supply_chain.advisories` points at advisories in the OSV JSON format, as the PyPA
advisory database and osv.dev export them; nothing is fetched. A locked version is named
by an advisory when an `affected` entry of the PyPI ecosystem lists it in `versions`, or
an ECOSYSTEM range holds it (introduced <= version < fixed, or <= last_affected). The
snapshot's age is the newest `modified` among the advisories read.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from workbench.kernel.errors import WorkbenchError
from workbench.project.lockfile import LOCK_NAME, read_lock
from workbench.project.manifest import Manifest
from workbench.project.records import AdvisoriesAtRelease

STALE_DAYS = 30
MAX_FILES = 200_000


@dataclass(frozen=True)
class Hit:
    package: str
    version: str
    advisory: str  # its id, with its aliases
    fixed: str | None  # the lowest fixed version above the locked one, if the advisory says


@dataclass(frozen=True)
class Scan:
    source: str
    advisories: int
    newest: datetime | None
    hits: tuple[Hit, ...]

    @property
    def age_days(self) -> int | None:
        return (datetime.now(UTC) - self.newest).days if self.newest else None


def _documents(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        for count, file in enumerate(sorted(path.rglob("*.json"))):
            if count >= MAX_FILES:
                break
            yield str(file), file.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as bundle:
            for name in bundle.namelist()[:MAX_FILES]:
                if name.endswith(".json"):
                    yield f"{path}:{name}", bundle.read(name)
    else:
        raise WorkbenchError(
            f"{path} is neither a folder nor a zip of OSV advisories.",
            fix="point `supply_chain.advisories` at an export of the PyPA advisory database "
            "or osv.dev (a folder or a zip of *.json files).",
        )


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _affects(affected: dict[str, Any], version: Version, text: str) -> tuple[bool, str | None]:
    """Whether one `affected` entry names the version, and the fixed version it gives."""
    if text in (affected.get("versions") or []):
        return True, _fixed_above(affected, version)
    for span in affected.get("ranges") or []:
        if span.get("type") != "ECOSYSTEM":
            continue
        low: Version | None = None
        for event in span.get("events") or []:
            if "introduced" in event:
                low = Version("0") if event["introduced"] == "0" else _version(event["introduced"])
            elif low is not None and "fixed" in event:
                fixed = _version(event["fixed"])
                if fixed is not None and low <= version < fixed:
                    return True, event["fixed"]
                low = None
            elif low is not None and "last_affected" in event:
                last = _version(event["last_affected"])
                if last is not None and low <= version <= last:
                    return True, None
                low = None
        if low is not None and version >= low:  # introduced, never fixed
            return True, None
    return False, None


def _fixed_above(affected: dict[str, Any], version: Version) -> str | None:
    fixed = [
        event["fixed"]
        for span in affected.get("ranges") or []
        for event in span.get("events") or []
        if "fixed" in event and (v := _version(event["fixed"])) is not None and v > version
    ]
    return min(fixed, key=Version) if fixed else None


def _modified(document: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(document.get("modified", "")).replace("Z", "+00:00"))
    except ValueError:
        return None


def scan(manifest: Manifest, source: str) -> Scan:
    """Every locked version an advisory names."""
    path = manifest.resolve(source)
    if not path.exists():
        raise WorkbenchError(
            f"{manifest.path}: `supply_chain.advisories` names {source}, which does not exist.",
            fix="export the advisories there, or correct the path.",
        )
    locked = {
        name: (entry.version, v)
        for name, entry in read_lock(manifest.root / LOCK_NAME).items()
        if (v := _version(entry.version)) is not None
    }
    hits, count, newest = [], 0, None
    for where, raw in _documents(path):
        try:
            document = json.loads(raw)
        except ValueError:
            raise WorkbenchError(
                f"{where} is not JSON, so the advisories cannot be trusted to be complete.",
                fix="export the advisories again.",
            ) from None
        if not isinstance(document, dict) or document.get("withdrawn"):
            continue  # OSV's `withdrawn`: the advisory was retracted, it names nothing
        count += 1
        modified = _modified(document)
        newest = max(filter(None, (newest, modified)), default=None)
        name = str(document.get("id", where))
        aliases = [str(a) for a in document.get("aliases") or []]
        label = f"{name} ({', '.join(aliases)})" if aliases else name
        for affected in document.get("affected") or []:
            package = affected.get("package") or {}
            if str(package.get("ecosystem", "")).lower() != "pypi":
                continue
            wanted = locked.get(canonicalize_name(str(package.get("name", ""))))
            if wanted is None:
                continue
            named, fixed = _affects(affected, wanted[1], wanted[0])
            if named:
                hits.append(Hit(canonicalize_name(package["name"]), wanted[0], label, fixed))
    return Scan(source, count, newest, tuple(sorted(set(hits), key=lambda h: h.package)))


def require_no_advisories(manifest: Manifest, waived: bool) -> AdvisoriesAtRelease:
    """Refuse to tag while an advisory names a locked version, unless `tag.vulnerabilities`
    was waived (its reason goes into the release manifest); what the release records of it."""
    source = manifest.supply_chain.advisories
    if source is None:
        return AdvisoriesAtRelease()
    try:
        found = scan(manifest, source)
    except WorkbenchError as exc:  # missing or unreadable: a waiver is what lets it through
        if not waived:
            raise
        return AdvisoriesAtRelease(source=source, waived=True, unread=exc.message)
    if found.hits and not waived:
        raise WorkbenchError(
            "advisories name locked versions: "
            + "; ".join(describe(h) for h in found.hits)
            + f" (advisories in {source}); nothing was released.",
            fix="upgrade those packages in the model's environment and take the snapshot "
            "again; or, where the flaw cannot reach the model, "
            '`workbench waive tag.vulnerabilities --reason "why"` (it goes into the release '
            "manifest).",
        )
    return AdvisoriesAtRelease(
        source=source,
        advisories=found.advisories,
        named=[describe(h) for h in found.hits],
        age_days=found.age_days,
        waived=waived,
    )


def describe(hit: Hit) -> str:
    fixed = f"fixed in {hit.fixed}" if hit.fixed else "no fixed version yet"
    return f"{hit.package} {hit.version} is named by {hit.advisory}, {fixed}"
