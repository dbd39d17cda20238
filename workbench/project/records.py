"""Typed records of the files the workbench writes: one declaration each, to read and write.

msgspec `Struct`s: decoding checks every field's type and names the path of a
wrong one (`$.push.digest`), field order is the file's key order (small diffs),
and it is fast enough to read on every refresh. Chosen over dataclasses (no
validation on load) and pydantic (slow to import for the TUI's load worker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.yamlio import dump_own_yaml, read_own_yaml
from workbench.project.semver import Level

T = TypeVar("T")


class Record(msgspec.Struct, kw_only=True, omit_defaults=False):
    """Base of every record; unknown keys are kept out, not refused (newer files)."""


# --- snapshot.yaml ----------------------------------------------------------------------------


class PythonInfo(Record):
    version: str
    implementation: str = "CPython"


class PlatformInfo(Record):
    system: str
    machine: str


class TargetInfo(Record):
    python: str
    abi: str
    machine: str
    wheels: str = ""


class LocalSource(Record):
    """An editable install's folder (relative to the project when in it) and, of the wheel
    the snapshot built from it, each member's file there with its sha256, and the modules
    under its package folders the build left out: snapshot.fresh reads the folder again."""

    location: str
    files: dict[str, str] = {}
    left_out: list[str] = []


class RuntimeEntry(Record):
    version: str
    why: list[str] = []
    source: str = "index"
    wheel: str | None = None
    local: LocalSource | None = None  # an editable install: what its wheel was built from


class ServingEntry(Record):
    version: str
    wheel: str | None = None


class SnapshotRecord(Record):
    taken_at: str
    python: PythonInfo
    platform: PlatformInfo
    target: TargetInfo
    runtime: dict[str, RuntimeEntry] = {}
    serving: dict[str, ServingEntry] = {}
    unresolved: dict[str, list[str]] = {}
    inconsistent: list[str] = []
    warnings: list[str] = []
    freeze: dict[str, str] = {}
    # Left out by snapshot.exclude, each with why it would have been in the image.
    excluded: dict[str, list[str]] = {}
    # The top-level modules the snapshot accounts for (the code's imports, the model's at
    # run time, those the runtime set provides): an import of another one added since was
    # never resolved (None: not recorded, older files).
    imports: list[str] | None = None


# --- releases/<version>.yaml ------------------------------------------------------------------


class GitInfo(Record):
    revision: str
    tag: str


class BumpInfo(Record):
    level: Level
    suggested: str
    reason: str
    changes: list[str] = []


class Hashes(Record):
    lock: str
    request_schema: str
    response_schema: str
    artifacts: dict[str, str] = {}
    # Every project file the release is made of (steps/tag/files.py), by path relative to
    # the project; empty in manifests written before releases hashed every file.
    files: dict[str, str] = {}


class BaseImageInfo(Record):
    name: str
    id: str


class ImageInfo(Record):
    ref: str
    id: str
    tested_id: str | None = None


class StepScore(Record):
    score: float
    max: float
    fraction: float = 0.0
    status: str = "pending"


class ChecklistAtRelease(Record):
    readiness: float
    limited_by: str | None = None
    steps: dict[str, StepScore] = {}
    frozen: str | None = None  # the file holding the whole frozen checklist
    frozen_sha256: str | None = None


class WaiverInfo(Record):
    reason: str
    by: str
    at: str


class People(Record):
    driver: str
    navigator: str | None = None


class PushInfo(Record):
    pushed: bool = False
    digest: str | None = None
    pushed_at: str | None = None
    ref: str | None = None
    config_digest: str | None = None
    # sigstore signature of `digest`, stored by skopeo as the tag sha256-<hex>.sig: the
    # digest of that signature manifest as the registry served it after signing
    signed: bool = False
    signature: str | None = None
    # the SBOM and provenance attached as signed attestations (cosign's sha256-<hex>.att,
    # with the SBOM at .sbom): the .att manifest's digest as the registry served it
    attestations: str | None = None
    # where the signature, SBOM and provenance were put: "referrers" (the OCI referrers API,
    # artifacts whose subject is `digest`) or "tags" (cosign's fallback tags); None: pushed
    # before the choice was recorded (tags). `attached_why`: what the registry answered.
    attached_by: Literal["referrers", "tags"] | None = None
    attached_why: str | None = None


class QualityInfo(Record):
    """The release candidate's score on held-out data (serve.quality), for comparisons."""

    metric: str
    value: float
    n: int
    data: str
    data_sha256: str  # the file's
    bound: float | None = None
    data_rows_sha256: str = ""  # its records and true answers, in any order (newer releases)


class AdvisoriesAtRelease(Record):
    """The offline advisory check (`tag.vulnerabilities`) as it stood when the release was
    tagged; `source` None: no advisories were configured."""

    source: str | None = None
    advisories: int = 0  # how many were read from `source`
    named: list[str] = []  # locked versions an advisory names (tagged only under a waiver)
    age_days: int | None = None  # of the newest advisory's `modified`
    waived: bool = False
    unread: str | None = None  # why `source` could not be read (tagged only under a waiver)


class ReleaseRecord(Record, kw_only=True):
    version: str
    created: str
    git: GitInfo
    previous: str | None
    bump: BumpInfo
    hashes: Hashes
    base_image: BaseImageInfo
    image: ImageInfo
    checklist: ChecklistAtRelease
    waivers: dict[str, WaiverInfo] = {}
    quality: QualityInfo | None = None
    released_by: People
    push: PushInfo = msgspec.field(default_factory=PushInfo)
    advisories: AdvisoriesAtRelease | None = None  # None: tagged before it was recorded


# --- releases/channels.yaml -------------------------------------------------------------------


class ChannelMove(Record):
    version: str
    digest: str
    action: str
    at: str
    by: str
    # set when the move was made without a passing `workbench verify`, and why
    unverified_reason: str | None = None


class Channel(Record):
    current: str | None = None
    digest: str | None = None
    history: list[ChannelMove] = []


# --- releases/deployments.yaml ----------------------------------------------------------------


DeployTarget = Literal["swarm", "kubernetes"]
DeployResult = Literal[
    "created", "updated", "scaled", "unchanged", "rolled back", "failed", "written", "applied"
]


class Deployment(Record):
    channel: str
    target: DeployTarget
    service: str
    version: str
    digest: str
    at: str
    by: str
    result: DeployResult
    message: str = ""
    # kubernetes: the files written, relative to the project (the workbench's own output,
    # never a change of the project's content)
    files: list[str] = []
    # set when the release was deployed without a passing `workbench verify`, and why
    unverified_reason: str | None = None


# --- reading and writing ----------------------------------------------------------------------


def read_record(path: Path, kind: type[T], *, what: str) -> T:
    """Read a record; a missing or wrongly typed field names the file and the field."""
    data = read_own_yaml(path, what=what)
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise WorkbenchError(
            f"{path}: the {what} is not valid ({exc}).",
            fix=f"restore it from git (`git checkout -- {path.name}`); the workbench writes "
            "this file, it is not edited by hand.",
        ) from None


def to_plain(record: Any) -> Any:
    """A record (or a mapping of records) as plain data, in declaration order."""
    return msgspec.to_builtins(record)


def write_record(
    path: Path, record: Any, *, header: str, within: Path | None = None, what: str = "record"
) -> None:
    """Write atomically, with a comment header saying who wrote the file; with `within`
    (the project's root) the path is checked to stay in the project first."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    write_text_atomic(path, comment + dump_own_yaml(to_plain(record)), within=within, what=what)
