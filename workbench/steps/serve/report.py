"""What the serve test measured, typed: one record per item that measures something.

The probes that measure build these records and hand them to their `CheckResult`; the
engine stores them as plain data under the item's `details` (the keys on disk are the
field names, as they always were). Whoever needs a figure later (Try it, the tag gate,
the release record, the pictures) asks an accessor here with the stored or fresh result
and gets the record back, decoded with its type: never `details["p99_ms"]`.

Fields added after a file was written have defaults, so an older `checklist.yaml` or
frozen checklist still reads (what it never measured reads as None).
"""

from __future__ import annotations

import msgspec

from workbench.checklist.checks import HasDetails, Report, report_of


class BaseImageFacts(Report, frozen=True, kw_only=True):
    """serve.base-image: the base image the build will use, as the engine has it."""

    image_id: str


class PackageSize(msgspec.Struct, frozen=True, kw_only=True):
    """One installed distribution of the image and the bytes its files take there (its
    bytecode included), read in the image."""

    name: str
    version: str
    size_bytes: int

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.size_bytes / 1e6:,.1f} MB)"


class LayerSize(msgspec.Struct, frozen=True, kw_only=True):
    """One layer of the image, as the engine's history has it: the step that made it."""

    step: str
    size_bytes: int

    def describe(self) -> str:
        return f"{self.size_bytes / 1e6:,.1f} MB {self.step}"


class ImageFacts(Report, frozen=True, kw_only=True):
    """serve.image-built: the image the serve test built and tested (the one released),
    and what makes it big: its largest packages and layers, largest first."""

    image_id: str
    size_bytes: int | None = None
    packages: list[PackageSize] = []
    layers: list[LayerSize] = []

    @property
    def size_mb(self) -> float | None:
        return None if self.size_bytes is None else self.size_bytes / 1e6


class Figures(Report, frozen=True, kw_only=True):
    """serve.performance: latency, errors, memory, start-up and size, as measured."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    p99_concurrent_ms: float | None = None  # under CONCURRENT_CLIENTS clients
    error_rate: float | None = None  # of every request, sequential and concurrent
    cold_start_s: float | None = None  # from start to ready
    peak_memory_mb: float | None = None  # the cgroup's peak; None when unreadable
    image_mb: float | None = None
    rps_concurrent: float | None = None  # answers per second under the concurrent clients
    batching: str | None = None  # the image's own decision, read from /metadata


class QualityFigures(Report, frozen=True, kw_only=True):
    """serve.quality: the model's score on held-out data, answered by the image."""

    metric: str
    value: float
    n: int = 0  # held-out records scored
    data: str = ""  # the held-out file, relative to the project
    data_sha256: str = ""
    bound: float | None = None  # evaluation.minimum or .maximum; None when unset
    data_rows_sha256: str = ""  # the records and true answers read, in any order


class ExpectationsMissed(Report, frozen=True, kw_only=True):
    """serve.expectations when it fails: the corner cases answered otherwise than expected."""

    failed: list[str] = []


# The typed details of each item that carries any (the others carry none).
REPORTS: dict[str, type[Report]] = {
    "serve.base-image": BaseImageFacts,
    "serve.image-built": ImageFacts,
    "serve.performance": Figures,
    "serve.quality": QualityFigures,
    "serve.expectations": ExpectationsMissed,
}


def built_image(result: HasDetails | None) -> ImageFacts | None:
    """The image a serve test built (the result of `serve.image-built`), if it built one."""
    return report_of(result, ImageFacts, "serve.image-built")


def serve_figures(result: HasDetails | None) -> Figures | None:
    """What `serve.performance` measured, if it measured."""
    return report_of(result, Figures, "serve.performance")


def quality_figures(result: HasDetails | None) -> QualityFigures | None:
    """What `serve.quality` scored, if it scored."""
    return report_of(result, QualityFigures, "serve.quality")
