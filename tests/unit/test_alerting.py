"""The monitoring files deploy writes (deploy/monitoring/<channel>/): the rules pass their
own tests under promtool, and every alert's tests fail once its rule is broken (a rule
test that cannot fail proves nothing); the scrape configuration finds the channel's
tasks on its network; the dashboard's queries parse."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from workbench.steps.push import alerting, prometheus
from workbench.steps.push.alerting import ALERTS, Watched
from workbench.steps.serve.drift import bins_for

DIGEST = "sha256:" + "ab" * 32


def watched(**changes: Any) -> Watched:
    reference = {
        "features": {
            "petal_length": bins_for([n / 10 for n in range(100)]),
            "colour": bins_for(["red"] * 70 + ["blue"] * 30),
        },
        "prediction": bins_for(["setosa"] * 30 + ["virginica"] * 70),
    }
    fields: dict[str, Any] = {
        "service": "iris-production",
        "channel": "production",
        "version": "1.0.0",
        "digest": DIGEST,
        "replicas": 2,
        "network": "workbench-iris-net",
        "port": 8080,
        "p99_ms": 1000.0,
        "error_rate": 0.01,
        "reference": reference,
    }
    return Watched(**(fields | changes))


def written(tmp_path: Path, w: Watched) -> tuple[Any, Path]:
    project = SimpleNamespace(root=tmp_path)
    prometheus.write(project, w)  # type: ignore[arg-type]
    return project, tmp_path / "deploy" / "monitoring" / w.channel


def test_the_scrape_configuration_finds_the_channels_tasks_on_its_network() -> None:
    config = alerting.scrape_config(watched())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "iris-production"
    (discovery,) = job["dockerswarm_sd_configs"]
    assert discovery["role"] == "tasks" and discovery["port"] == 8080
    assert {"name": "service", "values": ["iris-production"]} in discovery["filters"]
    keep = job["relabel_configs"][0]
    assert keep["action"] == "keep" and keep["regex"] == "workbench-iris-net"
    targets = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"replica", "task_state", "digest", "version", "channel"} <= targets


def test_the_rules_pass_their_tests_and_name_the_channels_digest(
    tmp_path: Path, promtool: str
) -> None:
    project, folder = written(tmp_path, watched())
    verdict = prometheus.verify(project, "production", DIGEST)
    assert verdict.ok, verdict.said
    assert "promtool test rules rules.test.yml: Unit Testing: rules.test.yml SUCCESS" in " ".join(
        verdict.said
    )
    tests = yaml.safe_load((folder / "rules.test.yml").read_text())["tests"]
    tested = {t["alertname"] for group in tests for t in group["alert_rule_test"]}
    assert tested == set(ALERTS)
    firing = {t["alertname"] for g in tests for t in g["alert_rule_test"] if t["exp_alerts"]}
    assert firing == set(ALERTS)  # each alert is seen firing on some series
    dashboard = json.loads((folder / "dashboard.json").read_text())
    assert len(dashboard["panels"]) == 5


def test_rules_for_another_digest_are_not_the_channels(tmp_path: Path, promtool: str) -> None:
    project, _ = written(tmp_path, watched())
    other = "sha256:" + "cd" * 32
    verdict = prometheus.verify(project, "production", other)
    assert not verdict.ok
    assert f"rules.yml watches {DIGEST}, the channel is at {other}" in verdict.said[0]


BREAKS = {
    # each alert's rule, broken as a hand edit would: its own tests must then fail
    ALERTS[0]: ("> 0.01", "> 0.5"),
    ALERTS[1]: ("* 1000 > 1000.0", "* 1000 > 100000.0"),
    ALERTS[2]: (">= 100", ">= 1000000"),
    ALERTS[3]: ("or vector(0)) < 2", "or vector(0)) < 1"),
    ALERTS[4]: ('digest!="sha256', 'digest="sha256'),
}


@pytest.mark.parametrize("alert", ALERTS)
def test_a_broken_rule_fails_its_tests(tmp_path: Path, promtool: str, alert: str) -> None:
    project, folder = written(tmp_path, watched())
    old, new = BREAKS[alert]
    rules = folder / "rules.yml"
    text = rules.read_text()
    assert text.count(old) == 1, old
    rules.write_text(text.replace(old, new))
    verdict = prometheus.verify(project, "production", DIGEST)
    assert not verdict.ok
    assert f"FAILED: alertname: {alert}" in verdict.said[0], verdict.said


def test_too_few_observations_is_no_drift_verdict_in_the_rules(
    tmp_path: Path, promtool: str
) -> None:
    """The drift tests put every observation in one bin: one short of the minimum says
    nothing, the minimum fires; a rule without the minimum fails the first."""
    project, folder = written(tmp_path, watched(min_observations=40))
    rules = folder / "rules.yml"
    text = rules.read_text()
    rules.write_text(
        text.replace(
            " and on(service, what) workbench:drift:observations",
            " or on(service, what) workbench:drift:observations",
        )
    )
    verdict = prometheus.verify(project, "production", DIGEST)
    assert not verdict.ok and "WorkbenchFieldDrifted" in verdict.said[0], verdict.said


@pytest.mark.parametrize(
    ("p99_ms", "error_rate"), [(0.5, 0.0), (1000.0, 0.0), (2400.0, 0.5), (5000.0, 1.0)]
)
def test_budgets_at_the_edges_still_give_tests_that_pass(
    tmp_path: Path, promtool: str, p99_ms: float, error_rate: float
) -> None:
    project, _ = written(tmp_path, watched(p99_ms=p99_ms, error_rate=error_rate))
    verdict = prometheus.verify(project, "production", DIGEST)
    assert verdict.ok, verdict.said


def test_no_reference_no_drift_rules_but_the_other_alerts(tmp_path: Path, promtool: str) -> None:
    project, folder = written(tmp_path, watched(reference=None))
    verdict = prometheus.verify(project, "production", DIGEST)
    assert verdict.ok, verdict.said
    assert "(the image has no drift reference: no drift alert)" in verdict.said[0]
    text = (folder / "rules.yml").read_text()
    assert "workbench:drift" not in text and ALERTS[2] not in text
    assert all(name in text for name in ALERTS if name != ALERTS[2])


def test_missing_files_are_named(tmp_path: Path) -> None:
    project, folder = written(tmp_path, watched())
    (folder / "rules.test.yml").unlink()
    verdict = prometheus.verify(project, "production", DIGEST)
    assert not verdict.ok
    assert verdict.said == ["production: deploy/monitoring/production has no rules.test.yml"]
