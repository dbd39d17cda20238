"""The monitoring files of a deployed channel on disk (deploy/monitoring/<channel>/:
prometheus.yml, rules.yml, rules.test.yml, dashboard.json), and promtool's verdict on
them: `check config` (the scrape configuration and its rules), `test rules` (the rules
against the series their tests write), and every dashboard query parsed as a rule.

The drift reference is read back from the deployed image itself (/app/serving.json of a
running task on this engine): the bins the rules compare against are the ones the
replicas count into, whatever the project's data says today."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.yamlio import dump_own_yaml, read_own_yaml
from workbench.project.manifest import Manifest
from workbench.steps.push.alerting import (
    ALERTS,
    DIGEST_LABEL,
    FILES,
    Watched,
    folder_of,
    rule_tests,
    rules,
    scrape_config,
)
from workbench.steps.push.dashboard import dashboard

PROMTOOL_TIMEOUT = 120
INSTALL = (
    "promtool is not installed: nothing verified; install it (Debian: `apt-get install prometheus`)"
)


def write(manifest: Manifest, w: Watched) -> list[Path]:
    folder = folder_of(manifest, w.channel)
    folder.mkdir(parents=True, exist_ok=True)
    head = f"# Written by `workbench deploy` for {w.channel} ({w.version}, {w.digest}).\n"
    texts = {
        "prometheus.yml": head + dump_own_yaml(scrape_config(w)),
        "rules.yml": head + dump_own_yaml(rules(w)),
        "rules.test.yml": head
        + "# `promtool test rules rules.test.yml`\n"
        + dump_own_yaml(rule_tests(w)),
        "dashboard.json": json.dumps(dashboard(w), indent=2) + "\n",
    }
    written = []
    for name in FILES:
        write_text_atomic(folder / name, texts[name], within=manifest.root)
        written.append(folder / name)
    return written


def image_reference(client: Any, service: str) -> dict[str, Any] | None:
    """The drift reference of a running task's image (its /app/serving.json), or None when
    no task of the service runs on this engine or its image counts no drift."""
    containers = client.containers.list(
        ignore_removed=True,
        filters={"label": f"com.docker.swarm.service.name={service}", "status": "running"},
    )
    for container in containers:
        try:
            stream, _ = container.get_archive("/app/serving.json")
        except Exception:  # a task on its way out: the next one
            continue
        with tarfile.open(fileobj=BytesIO(b"".join(stream))) as archive:
            member = archive.extractfile("serving.json")
            if member is None:
                continue
            config = json.loads(member.read())
        reference = (config.get("monitoring") or {}).get("reference")
        return reference if isinstance(reference, dict) else None
    return None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    said: list[str]


def _promtool(*args: str, cwd: Path) -> tuple[bool, str]:
    tool = shutil.which("promtool")
    assert tool is not None  # verify() asked first
    try:
        done = subprocess.run(
            [tool, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=PROMTOOL_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"promtool {args[0]} {args[1]} did not finish in {PROMTOOL_TIMEOUT} s"
    text = " ".join((done.stdout + done.stderr).split())
    return done.returncode == 0, text


def verify(manifest: Manifest, channel: str, digest: str) -> Verdict:
    """The channel's files exist, watch its digest, and pass promtool: what
    `push.alerts-exist` and deploy say."""
    folder = folder_of(manifest, channel)
    where = folder.relative_to(manifest.root).as_posix()
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        return Verdict(False, [f"{channel}: {where} has no {', '.join(missing)}"])
    if shutil.which("promtool") is None:
        return Verdict(False, [f"{channel}: {INSTALL}"])
    document = read_own_yaml(folder / "rules.yml", what="alert rules", within=manifest.root)
    alerts = {
        rule.get("alert"): rule
        for group in (document or {}).get("groups") or []
        for rule in group.get("rules") or []
        if isinstance(rule, dict) and rule.get("alert")
    }
    drift = "workbench:drift_bin:reference" in (folder / "rules.yml").read_text()
    absent = [name for name in ALERTS if name not in alerts and (drift or name != ALERTS[2])]
    if absent:
        return Verdict(False, [f"{channel}: {where}/rules.yml has no alert {', '.join(absent)}"])
    watches = (alerts[ALERTS[4]].get("labels") or {}).get(DIGEST_LABEL)
    if watches != digest:
        return Verdict(
            False,
            [f"{channel}: {where}/rules.yml watches {watches}, the channel is at {digest}"],
        )
    said = []
    for args in (("check", "config", "prometheus.yml"), ("test", "rules", "rules.test.yml")):
        ok, text = _promtool(*args, cwd=folder)
        if not ok:
            return Verdict(False, [f"{channel}: promtool {' '.join(args)} failed: {text[:600]}"])
        said.append(f"promtool {' '.join(args)}: {text[:160]}")
    ok, text = _dashboard_queries(folder)
    if not ok:
        return Verdict(False, [f"{channel}: {where}/dashboard.json: {text[:600]}"])
    tests = len((read_own_yaml(folder / "rules.test.yml", within=manifest.root) or {})["tests"])
    return Verdict(
        True,
        [
            f"{channel}: {where} holds {len(alerts)} alerts watching {digest[:19]}; "
            f"{tests} rule tests pass"
            + ("" if drift else " (the image has no drift reference: no drift alert)"),
            *said,
        ],
    )


def _dashboard_queries(folder: Path) -> tuple[bool, str]:
    """Every query of dashboard.json parsed by promtool (as a recording rule)."""
    document = json.loads((folder / "dashboard.json").read_text())
    expressions = [t["expr"] for p in document.get("panels", []) for t in p.get("targets", [])]
    group = {
        "name": "dashboard",
        "rules": [{"record": f"dashboard:query{n}", "expr": e} for n, e in enumerate(expressions)],
    }
    with tempfile.TemporaryDirectory(prefix="workbench-dashboard-") as scratch:
        path = Path(scratch) / "queries.yml"
        path.write_text(dump_own_yaml({"groups": [group]}))
        ok, text = _promtool("check", "rules", str(path), cwd=Path(scratch))
    return ok, text if not ok else f"{len(expressions)} queries parse"
