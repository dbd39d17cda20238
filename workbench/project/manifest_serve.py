"""The `serve:` section of `workbench.yaml` (how the image is built and run, GPU settings
included) and the sections that tune the image: the performance budget the serve test
judges by, micro-batching, and `monitoring:` (what the image records about its traffic,
and the agreement a replay of it must reach); declared here, read through
`workbench.project.manifest`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from workbench.project.manifest_shape import key

SHARE = "must be at most 1 (a share, 0-1)"
MEMORY = re.compile(r"^\d+[kmgKMG]?$")
DEB_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# A Kubernetes label key (optional DNS prefix, then a name) and, for selectors, its value.
TAINT_KEY = re.compile(
    r"^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
NODE_LABEL = re.compile(
    r"^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
    r"=(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$"
)
# NVIDIA's CUDA runtime image; it carries no Python: see README "GPU, declared".
DEFAULT_CUDA_IMAGE = "nvidia/cuda:12.4.1-runtime-ubuntu22.04"


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
class ServeSpec:
    base_image: str | None = field(
        default=None, metadata=key("the base image, e.g. python:3.11-slim")
    )
    system_packages: tuple[str, ...] = field(
        default=(),
        metadata=key(
            "Debian packages your libraries need in the image, e.g. [libgomp1] (LightGBM's); "
            "fetched on this host with apt-get download",
            pattern=DEB_PACKAGE,
        ),
    )
    port: int = field(
        default=8080,
        metadata=key(
            "the port the server listens on inside the container, e.g. 8080",
            nullable=False,
            minimum=1,
            maximum=65535,
        ),
    )
    max_body_bytes: int = field(
        default=1_048_576,
        metadata=key("the largest request body accepted, in bytes", nullable=False, minimum=1),
    )
    ready_timeout: int = field(
        default=60,
        metadata=key(
            "seconds the container may take to load the model and become ready, e.g. 60",
            nullable=False,
            minimum=1,
        ),
    )
    gpu: int = field(
        default=0,
        metadata=key(
            "how many GPUs the image is for, e.g. 1 (0: a CPU image, which never carries "
            "CUDA wheels)",
            nullable=False,
            minimum=0,
            maximum=16,
        ),
    )
    cuda_image: str = field(
        default=DEFAULT_CUDA_IMAGE,
        metadata=key(
            "the base image when serve.gpu asks for a GPU and serve.base_image is unset; its "
            f"CUDA major must be the lock's CUDA wheels' (default {DEFAULT_CUDA_IMAGE})",
            nullable=False,
        ),
    )
    gpu_node_selector: tuple[str, ...] = field(
        default=(),
        metadata=key(
            "Kubernetes node labels a GPU pod must run on, as key=value, e.g. "
            "[nvidia.com/gpu.present=true]",
            pattern=NODE_LABEL,
        ),
    )
    gpu_tolerations: tuple[str, ...] = field(
        default=(),
        metadata=key(
            "taint keys a GPU pod tolerates on Kubernetes (operator Exists, effect "
            "NoSchedule), e.g. [nvidia.com/gpu]",
            pattern=TAINT_KEY,
        ),
    )
    engine_timeout: int = field(
        default=60,
        metadata=key(
            "seconds one call to the Docker engine may take before it is said to hang, e.g. 60",
            nullable=False,
            minimum=1,
        ),
    )
    workers: int | None = field(
        default=None,
        metadata=key(
            "server processes in the container, e.g. 2 (default: its CPU quota, at most 4)",
            minimum=1,
            maximum=64,
        ),
    )
    memory_limit: str = field(
        default="1g",
        metadata=key(
            "the container's memory limit, e.g. 512m or 1g", pattern=MEMORY, nullable=False
        ),
    )
    batching: BatchingSpec = field(
        default_factory=BatchingSpec,
        metadata=key("micro-batching of concurrent single requests (default: auto)"),
    )
    budget: BudgetSpec = field(
        default_factory=BudgetSpec,
        metadata=key("what the serve test's measurements may be at most (the performance gate)"),
    )

    @property
    def memory_bytes(self) -> int:
        """`memory_limit` in bytes (its shape is checked on load: digits, then k, m or g)."""
        text = self.memory_limit.strip().lower()
        unit = text[-1] if text[-1:] in ("k", "m", "g") else ""
        return int(text.rstrip("kmg")) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


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
