"""A Grafana dashboard for a deployed channel (JSON model, importable as is): requests per
second, the share of 5xx answers, p50/p99 latency against the budget, replicas answering
against those deploy asked for, and the drift (PSI) of every field and of the predictions.
Every query reads the series the scrape configuration and the rules of alerting.py make,
and each is checked by promtool with the rules (see prometheus.py)."""

from __future__ import annotations

from typing import Any

from workbench.steps.push.alerting import PREDICTION_ROUTES, Watched


def queries(w: Watched) -> dict[str, list[tuple[str, str]]]:
    """panel title -> [(legend, PromQL)]."""
    job = f'job="{w.service}"'
    predictions = f'{job}, route=~"{PREDICTION_ROUTES}"'
    latency = f'sum by (le) (rate(workbench_request_seconds_bucket{{{job}, route="/predict"}}[5m]))'
    return {
        "Requests per second": [
            (
                "{{replica}}",
                f"sum by (replica) (rate(workbench_requests_total{{{predictions}}}[1m]))",
            )
        ],
        "Errors (5xx share)": [
            (
                "5xx",
                f'sum(rate(workbench_requests_total{{{predictions}, status=~"5.."}}[5m])) / '
                f"sum(rate(workbench_requests_total{{{predictions}}}[5m]))",
            ),
            ("budget", f"vector({w.error_rate!r})"),
        ],
        "Latency of /predict (ms)": [
            ("p50", f"histogram_quantile(0.5, {latency}) * 1000"),
            ("p99", f"histogram_quantile(0.99, {latency}) * 1000"),
            ("budget p99", f"vector({w.p99_ms!r})"),
        ],
        "Replicas answering": [
            ("answering", f'count(up{{{job}, task_state="running"}} == 1) or vector(0)'),
            ("desired", f"vector({w.replicas})"),
        ],
        "Drift (PSI, every replica pooled)": [
            ("{{what}}", f'workbench:drift:psi{{service="{w.service}"}}'),
            ("drifted", f"vector({w.drifted!r})"),
        ],
    }


def dashboard(w: Watched) -> dict[str, Any]:
    panels = []
    for index, (title, targets) in enumerate(queries(w).items()):
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": title,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
                "targets": [
                    {"refId": chr(ord("A") + n), "expr": expr, "legendFormat": legend}
                    for n, (legend, expr) in enumerate(targets)
                ],
            }
        )
    return {
        "title": f"{w.service} ({w.channel})",
        "uid": w.service[:40],
        "tags": ["workbench", w.channel],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "description": f"{w.channel}: {w.version} ({w.digest}), {w.replicas} replicas",
        "panels": panels,
    }
