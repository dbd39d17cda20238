"""Prometheus for a deployed channel: the scrape configuration, the alert rules and their
unit tests (series written here, run by `promtool test rules`), written by `workbench
deploy` into deploy/monitoring/<channel>/ of the project.

Discovery is Prometheus's own Docker Swarm service discovery (role `tasks`): every task
of the channel's service is a target on the service's overlay network, so it works
without the routing mesh (the targets are the tasks' own addresses, never a VIP); the
Prometheus that scrapes them runs on that network (it is attachable) with the engine's
socket readable. Each target carries the task's slot, state and the digest the service
runs, which is how the rules see a missing replica and a digest that is not the
channel's.

The alerts: the share of 5xx answers to prediction routes over `serve.budget.error_rate`;
p99 of /predict over `serve.budget.p99_ms`; a field (or the prediction) drifted past the
PSI threshold with at least the minimum number of observations (the counts of every
replica pooled, against the reference the image was built with); fewer running replicas
than deploy asked for; a service running a digest that is not the channel's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.project.manifest import Manifest
from workbench.steps.serve.drift import DRIFTED, MIN_OBSERVATIONS, psi

PREDICTION_ROUTES = "/predict|/predict/batch|/v2/models/.+/infer"
HOLD = "1m"  # how long a condition lasts before its alert fires
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)  # runtime's
DIGEST_LABEL = "channel_digest"  # on the digest alert: what `push.alerts-exist` reads back
FILES = ("prometheus.yml", "rules.yml", "rules.test.yml", "dashboard.json")
ALERTS = (
    "WorkbenchErrorRateOverBudget",
    "WorkbenchP99OverBudget",
    "WorkbenchFieldDrifted",
    "WorkbenchReplicasMissing",
    "WorkbenchDigestNotTheChannels",
)


@dataclass(frozen=True)
class Watched:
    """What the files watch: one channel's service as deploy left it."""

    service: str
    channel: str
    version: str
    digest: str
    replicas: int
    network: str
    port: int
    p99_ms: float
    error_rate: float
    reference: dict[str, Any] | None = None  # the image's drift reference (/monitoring)
    min_observations: int = MIN_OBSERVATIONS
    drifted: float = DRIFTED
    hold: str = HOLD
    socket: str = "unix:///var/run/docker.sock"


def watched(
    manifest: Manifest,
    *,
    service: str,
    channel: str,
    version: str,
    image: str,
    replicas: int,
    network: str,
    reference: dict[str, Any] | None,
) -> Watched:
    budget = manifest.serve.budget
    return Watched(
        service=service,
        channel=channel,
        version=version,
        digest=image.split("@", 1)[1],
        replicas=replicas,
        network=network,
        port=manifest.serve.port,
        p99_ms=budget.p99_ms,
        error_rate=budget.error_rate,
        reference=reference,
    )


def folder_of(manifest: Manifest, channel: str) -> Path:
    return manifest.root / "deploy" / "monitoring" / channel


def scrape_config(w: Watched, interval: str = "15s") -> dict[str, Any]:
    """A whole prometheus.yml: its rules beside it, the channel's tasks as targets."""
    meta = "__meta_dockerswarm_"
    relabel = [
        {"source_labels": [f"{meta}network_name"], "regex": w.network, "action": "keep"},
        {"source_labels": [f"{meta}task_slot"], "target_label": "replica"},
        {"source_labels": [f"{meta}task_state"], "target_label": "task_state"},
        {"source_labels": [f"{meta}service_label_io_workbench_digest"], "target_label": "digest"},
        {"source_labels": [f"{meta}service_label_io_workbench_version"], "target_label": "version"},
        {"target_label": "channel", "replacement": w.channel},
    ]
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {
                "job_name": w.service,
                "metrics_path": "/metrics",
                "dockerswarm_sd_configs": [
                    {
                        "host": w.socket,
                        "role": "tasks",
                        "port": w.port,
                        "refresh_interval": "5s",
                        "filters": [
                            {"name": "service", "values": [w.service]},
                            {"name": "desired-state", "values": ["running"]},
                        ],
                    }
                ],
                "relabel_configs": relabel,
            }
        ],
    }


def _drift_records(w: Watched) -> list[dict[str, Any]]:
    """The pooled bin counts of every replica, their shares, the reference shares (one
    constant series per bin), and the PSI of each field and of the prediction."""
    job, mine = f'job="{w.service}"', {"service": w.service}
    counts = (
        f'sum by (what, bin) (label_replace(workbench_feature_bin_total{{{job}}}, "what", "$1", '
        f'"feature", "(.*)")) or sum by (what, bin) (label_replace('
        f'workbench_prediction_bin_total{{{job}}}, "what", "prediction", "", ""))'
    )
    on = f'{{service="{w.service}"}}'
    share = (
        f"workbench:drift_bin:count{on} / ignoring(bin) group_left workbench:drift:observations{on}"
    )
    a = f"clamp_min(workbench:drift_bin:share{on}, 0.001)"
    e = f"clamp_min(workbench:drift_bin:reference{on}, 0.001)"
    join = "on(service, what, bin)"
    psi_expr = f"sum by (service, what) (({a} - {join} {e}) * ln({a} / {join} {e}))"
    rules: list[dict[str, Any]] = [
        {"record": "workbench:drift_bin:count", "expr": counts, "labels": mine},
        {
            "record": "workbench:drift:observations",
            "expr": f"sum by (service, what) (workbench:drift_bin:count{on})",
            "labels": mine,
        },
        {"record": "workbench:drift_bin:share", "expr": share, "labels": mine},
    ]
    for what, spec in _specs(w).items():
        for name, value in spec["reference"].items():
            rules.append(
                {
                    "record": "workbench:drift_bin:reference",
                    "expr": f"vector({float(value)!r})",
                    "labels": {**mine, "what": what, "bin": name},
                }
            )
    rules.append({"record": "workbench:drift:psi", "expr": psi_expr, "labels": mine})
    return rules


def _specs(w: Watched) -> dict[str, dict[str, Any]]:
    specs = dict((w.reference or {}).get("features") or {})
    if (w.reference or {}).get("prediction"):
        specs["prediction"] = (w.reference or {})["prediction"]
    return specs


def summaries_of(w: Watched) -> dict[str, str]:
    """Each alert's summary (the figure itself is the alert's value)."""
    return {
        ALERTS[0]: f"the share of 5xx answers to predictions of {w.channel} is over its budget "
        f"of {w.error_rate:.2%} (serve.budget.error_rate), over 5 minutes",
        ALERTS[1]: f"p99 of /predict on {w.channel} is over its budget of {w.p99_ms:g} ms "
        "(serve.budget.p99_ms), over 5 minutes",
        ALERTS[2]: f"{{{{ $labels.what }}}} of {w.channel} drifted: PSI above {w.drifted:g} with "
        f"at least {w.min_observations} observations (every replica, since it started)",
        ALERTS[3]: f"fewer than {w.replicas} replicas of {w.channel} running and answering",
        ALERTS[4]: f"{w.service} runs an image that is not the channel's {w.version} ({w.digest})",
    }


def rules(w: Watched) -> dict[str, Any]:
    job = f'job="{w.service}"'
    predictions = f'{job}, route=~"{PREDICTION_ROUTES}"'
    said = {"service": w.service, "channel": w.channel}

    def alert(name: str, expr: str, summary: str, **labels: str) -> dict[str, Any]:
        return {
            "alert": name,
            "expr": expr,
            "for": w.hold,
            "labels": {"severity": "page", **said, **labels},
            "annotations": {"summary": summary},
        }

    errors = (
        f'sum(rate(workbench_requests_total{{{predictions}, status=~"5.."}}[5m])) / '
        f"sum(rate(workbench_requests_total{{{predictions}}}[5m]))"
    )
    p99 = (
        "histogram_quantile(0.99, sum by (le) (rate(workbench_request_seconds_bucket"
        f'{{{job}, route="/predict"}}[5m]))) * 1000'
    )
    on = f'{{service="{w.service}"}}'
    summaries = summaries_of(w)
    alerts = [
        alert(ALERTS[0], f"{errors} > {w.error_rate!r}", summaries[ALERTS[0]]),
        alert(ALERTS[1], f"{p99} > {w.p99_ms!r}", summaries[ALERTS[1]]),
        alert(
            ALERTS[2],
            f"workbench:drift:psi{on} > {w.drifted!r} and on(service, what) "
            f"workbench:drift:observations{on} >= {w.min_observations}",
            summaries[ALERTS[2]],
        ),
        alert(
            ALERTS[3],
            f'(count(up{{{job}, task_state="running"}} == 1) or vector(0)) < {w.replicas}',
            summaries[ALERTS[3]],
        ),
        alert(
            ALERTS[4],
            f'count(up{{{job}, digest!="{w.digest}"}}) > 0',
            summaries[ALERTS[4]],
            **{DIGEST_LABEL: w.digest},
        ),
    ]
    return {
        "groups": [
            {
                "name": f"workbench-{w.service}",
                # no reference in the image: no drift to compute, no alert that never fires
                "rules": [*_drift_records(w), *alerts] if _specs(w) else alerts[:2] + alerts[3:],
            }
        ]
    }


def _up(w: Watched, replica: int, values: str, digest: str | None = None) -> dict[str, str]:
    labels = f'job="{w.service}", replica="{replica}", task_state="running", '
    labels += f'digest="{digest or w.digest}"'
    return {"series": f"up{{{labels}}}", "values": values}


def _expect(w: Watched, name: str, at: str, fired: list[dict[str, str]]) -> dict[str, Any]:
    said = {"severity": "page", "service": w.service, "channel": w.channel}
    summary = summaries_of(w)[name]
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [
            {
                "exp_labels": {**said, **labels},
                "exp_annotations": {
                    "summary": summary.replace("{{ $labels.what }}", labels.get("what", ""))
                },
            }
            for labels in fired
        ],
    }


def _case(
    w: Watched, series: list[dict[str, str]], name: str, fired: list[dict[str, str]]
) -> dict[str, Any]:
    """One test group: these series, and what `name` says of them at 10 minutes."""
    tests = [_expect(w, name, "10m", fired)]
    return {"interval": "1m", "input_series": series, "alert_rule_test": tests}


def rule_tests(w: Watched) -> dict[str, Any]:
    """`promtool test rules`: for every alert, series that fire it and series that do not."""
    healthy = [_up(w, slot, "1x20") for slot in range(1, w.replicas + 1)]
    failing = [_up(w, 1, "1 1 0x18"), *[_up(w, s, "1x20") for s in range(2, w.replicas + 1)]]
    other = "sha256:" + "0" * 64 if w.digest != "sha256:" + "0" * 64 else "sha256:" + "1" * 64
    moved = [_up(w, s, "1x20", other) for s in range(1, w.replicas + 1)]
    tests: list[dict[str, Any]] = [
        {
            "interval": "1m",
            "input_series": healthy,
            "alert_rule_test": [_expect(w, a, "10m", []) for a in (ALERTS[3], ALERTS[4])],
        },
        _case(w, failing, ALERTS[3], [{}]),
        {
            "interval": "1m",
            "input_series": moved,
            "alert_rule_test": [_expect(w, ALERTS[4], "10m", [{DIGEST_LABEL: w.digest}])],
        },
        *_traffic_tests(w),
        *_drift_tests(w),
    ]
    return {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}


def _requests(w: Watched, status: str, per_minute: int) -> dict[str, str]:
    labels = f'job="{w.service}", route="/predict", status="{status}"'
    return {"series": f"workbench_requests_total{{{labels}}}", "values": f"0+{per_minute}x20"}


def _traffic_tests(w: Watched) -> list[dict[str, Any]]:
    """Errors just within and just past the budget; latency all in the bucket above it."""
    total = 10_000
    within = int(total * w.error_rate * 0.9)  # clear of the budget either way (floats)
    past = int(total * w.error_rate) + total // 100
    tests: list[dict[str, Any]] = [
        {
            "interval": "1m",
            "input_series": [_requests(w, "200", total - within), _requests(w, "500", within)],
            "alert_rule_test": [_expect(w, ALERTS[0], "10m", [])],
        },
    ]
    if past <= total:  # a budget of 100% can never be passed
        tests.append(
            {
                "interval": "1m",
                "input_series": [_requests(w, "200", total - past), _requests(w, "500", past)],
                "alert_rule_test": [_expect(w, ALERTS[0], "10m", [{}])],
            }
        )
    above = [b for b in LATENCY_BUCKETS if b * 1000 > w.p99_ms]
    fast = [b for b in LATENCY_BUCKETS if b * 1000 <= w.p99_ms]
    slow = above[0] if above else 0.0
    # p99 interpolated in the first bucket above the budget; the histogram cannot see past
    # its last bucket, nor inside the top 1% of one: no test where it is blind.
    below = fast[-1] if fast else 0.0
    if above and (below + 0.99 * (slow - below)) * 1000 > w.p99_ms:

        def bucket(le: str, per_minute: int) -> dict[str, str]:
            labels = f'job="{w.service}", route="/predict", le="{le}"'
            return {
                "series": f"workbench_request_seconds_bucket{{{labels}}}",
                "values": f"0+{per_minute}x20",
            }

        quick = [bucket(repr(b), 100) for b in LATENCY_BUCKETS] + [bucket("+Inf", 100)]
        late = [bucket(repr(b), 0) for b in fast] + [
            bucket(repr(b), 100) for b in LATENCY_BUCKETS if b >= slow
        ]
        late.append(bucket("+Inf", 100))
        tests.append(_case(w, late, ALERTS[1], [{}]))
        if fast:  # every request in the first bucket: p99 within any budget above it
            tests.append(_case(w, quick, ALERTS[1], []))
    return tests


def _drift_tests(w: Watched) -> list[dict[str, Any]]:
    """Every observation in the field's rarest reference bin: drifted past the minimum
    count; one observation short of it, no alert."""
    tests = []
    for what, spec in _specs(w).items():
        reference = spec["reference"]
        rarest = min(reference, key=lambda name: reference[name])
        if psi(reference, {name: float(name == rarest) for name in reference}) <= w.drifted:
            continue  # a field that cannot drift that far (one bin holds everything)
        metric = "workbench_prediction_bin_total" if what == "prediction" else ""
        selector = f'job="{w.service}", ' + ("" if metric else f'feature="{what}", ')
        metric = metric or "workbench_feature_bin_total"
        for count, fired in ((w.min_observations - 1, []), (w.min_observations, [{"what": what}])):
            series = [
                {
                    "series": f'{metric}{{{selector}bin="{name}"}}',
                    "values": f"0 {count if name == rarest else 0}x20",
                }
                for name in reference
            ]
            tests.append(_case(w, series, ALERTS[2], fired))
        break  # one field shows the rule; every field shares its expression
    return tests
