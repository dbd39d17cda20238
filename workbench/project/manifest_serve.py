"""The sections of `workbench.yaml` that tune the image rather than describe it: the
performance budget the serve test judges by, micro-batching, and `monitoring:` (what the
image records about its traffic, and the agreement a replay of it must reach); declared
here, read through `workbench.project.manifest`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from workbench.project.manifest_shape import key

SHARE = "must be at most 1 (a share, 0-1)"


@dataclass(frozen=True)
class BudgetSpec:
    """What the serve test's measurements may be at most (`serve.budget`): the performance
    gate fails on any figure over its budget."""

    p99_ms: float = field(
        default=1000.0,
        metadata=key(
            "the slowest 1% of single requests, sequential and under 8 concurrent clients, "
            "in ms (default 1000)",
            minimum=0,
            nullable=False,
        ),
    )
    error_rate: float = field(
        default=0.0,
        metadata=key(
            "the share of non-2xx answers to valid requests, 0-1 (default 0)",
            minimum=0,
            maximum=1,
            above=SHARE,
            nullable=False,
        ),
    )
    peak_memory_mb: float | None = field(
        default=None,
        metadata=key("the container's peak memory in MB (default 80% of memory_limit)", minimum=0),
    )
    cold_start_s: float = field(
        default=30.0,
        metadata=key(
            "seconds from the container's start to ready (default 30)", minimum=0, nullable=False
        ),
    )
    image_mb: float = field(
        default=2000.0,
        metadata=key("the image's size in MB (default 2000)", minimum=0, nullable=False),
    )


@dataclass(frozen=True)
class BatchingSpec:
    """Adaptive micro-batching of concurrent single requests (`serve.batching`)."""

    mode: Literal["auto", "on", "off"] = field(
        default="auto",
        metadata=key(
            "auto (timed at start: on when a record costs at most half as much in a batch), "
            "on or off",
            nullable=False,
        ),
    )
    max_batch: int = field(
        default=32,
        metadata=key("the most records one model call answers", minimum=1, maximum=4096),
    )
    max_wait_ms: float = field(
        default=2.0,
        metadata=key("how long a record waits for others to join it, in ms", minimum=0),
    )
    max_queue: int = field(
        default=256,
        metadata=key(
            "records waiting for the model before the server answers 503 with Retry-After",
            minimum=1,
        ),
    )


@dataclass(frozen=True)
class MonitoringSpec:
    log_predictions: bool = field(
        default=False,
        metadata=key("true to log every prediction's inputs and outputs (default false)"),
    )
    sample: float = field(
        default=1.0,
        metadata=key(
            "the share of predictions logged, 0-1, e.g. 0.1", minimum=0, maximum=1, above=SHARE
        ),
    )
    drift: bool = field(
        default=True,
        metadata=key("false to stop counting inputs and predictions for drift (default true)"),
    )
    replay_min_agreement: float | None = field(
        default=None,
        metadata=key(
            "the least share of replayed production requests the candidate must answer as "
            "production did, 0-1, e.g. 0.98 (`workbench replay`; default: none, a warning)",
            minimum=0,
            maximum=1,
            above=SHARE,
        ),
    )
