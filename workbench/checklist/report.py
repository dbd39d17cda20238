"""Production-readiness reports a reviewer reads: JSON, Markdown, HTML.

Two kinds. The working state (`build`): every item as it stands, readiness, and,
when a release exists, what changed since it. A release (`frozen`): the
checklist exactly as it stood when that release was tagged, read from the
frozen file committed with it, so its report reads the same forever.
"""

from __future__ import annotations

import html
from typing import Any

import msgspec

from workbench import __version__
from workbench.checklist.engine import Checklist
from workbench.checklist.frozen import ItemRecord, ReadinessRecord, StepRecord
from workbench.checklist.scoring import ItemView, Readiness, StepSummary
from workbench.checklist.state import SignOff
from workbench.kernel.clock import now
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.releases import changed_since, read_frozen_checklist, releases

ICONS = {
    "pass": "✅",
    "fail": "❌",
    "warn": "⚠️",
    "skipped": "⏭️",
    "pending": "⏳",
    "stale": "♻️",
    "waived": "🟨",
}
PASSING = ("pass", "warn", "skipped")


def shown(item: dict[str, Any]) -> str:
    """An item record as a reader sees it: `waived` for a waived item that does not pass
    (frozen checklists of older releases have no `shown` field: it is worked out)."""
    if "shown" in item:
        return str(item["shown"])
    return "waived" if item.get("waiver") and item["status"] not in PASSING else item["status"]


def item_record(view: ItemView, fingerprint: str | None = None) -> dict[str, Any]:
    return dict(msgspec.to_builtins(ItemRecord.of(view, fingerprint)))


def readiness_record(readiness: Readiness) -> dict[str, Any]:
    return dict(msgspec.to_builtins(ReadinessRecord.of(readiness)))


def step_record(s: StepSummary) -> dict[str, Any]:
    return dict(msgspec.to_builtins(StepRecord.of(s)))


def frozen(manifest: Manifest, version: str) -> dict[str, Any]:
    data, _ = read_frozen_checklist(manifest, version)
    return data


def signoff_status(manifest: Manifest, signoff: SignOff, latest: str | None) -> str:
    """Whether a sign-off still approves what it names: its release, frozen as it was."""
    if not signoff.release:
        return "not bound to a release (recorded before sign-offs named one)"
    try:
        _, digest = read_frozen_checklist(manifest, signoff.release)
    except WorkbenchError as exc:
        return f"no longer matches: {exc.message}"
    if digest != signoff.checklist_sha256:
        return f"no longer matches: the frozen checklist of {signoff.release} is not the one signed"
    if latest is not None and signoff.release != latest:
        return f"no longer matches the latest release: {signoff.release} signed, {latest} is out"
    return f"matches release {signoff.release}"


def build(checklist: Checklist) -> dict[str, Any]:
    """The working state, and what changed since the last release."""
    manifest = checklist.manifest
    summaries = checklist.summaries()
    known = releases(manifest)
    latest = str(known[-1]) if known else None
    views = checklist.views()
    outlook = checklist.standing()
    report: dict[str, Any] = {
        "project": manifest.name,
        "generated_at": now(),
        "workbench": __version__,
        "readiness": {**readiness_record(checklist.readiness(summaries)), "limits": outlook.limits},
        "next": "" if outlook.move.action == "none" else outlook.move.line,
        "released": outlook.headline,
        "steps": [step_record(s) for s in summaries],
        "items": [
            item_record(v, checklist.current_fingerprint(v.item.id) if v.item.is_auto else None)
            for v in views
        ],
        "waivers": {k: msgspec.to_builtins(v) for k, v in checklist.state.waivers.items()},
        "signoffs": [
            {**msgspec.to_builtins(s), "status": signoff_status(manifest, s, latest)}
            for s in checklist.state.signoffs
        ],
    }
    if latest is not None:
        report["since_release"] = since_release(checklist, latest, views)
    return report


def since_release(checklist: Checklist, version: str, views: list[ItemView]) -> dict[str, Any]:
    """What differs from release `version`: files changed since its tag, items whose inputs or
    status are not what the frozen checklist recorded."""
    manifest = checklist.manifest
    out: dict[str, Any] = {"version": version, "files": changed_since(manifest, version)}
    try:
        before = {i["id"]: i for i in frozen(manifest, version)["items"]}
    except WorkbenchError as exc:
        out["items"] = []
        out["note"] = exc.message
        return out
    changed = []
    for view in views:
        old = before.get(view.item.id)
        if old is None:
            continue
        reasons = []
        fingerprint = old.get("fingerprint")
        auto = view.item.is_auto and fingerprint
        if auto and checklist.current_fingerprint(view.item.id) != fingerprint:
            reasons.append("its inputs changed")
        if view.status.value != old["status"]:
            reasons.append(f"{old['status']} at the release, {view.status.value} now")
        if reasons:
            changed.append({"id": view.item.id, "why": "; ".join(reasons)})
    out["items"] = changed
    return out


# --- rendering -----------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _title(report: dict[str, Any]) -> str:
    release = report.get("release")
    if release:
        return f"Release {release['version']} of {report['project']}"
    return f"Production readiness: {report['project']}"


def _intro(report: dict[str, Any]) -> list[str]:
    readiness = report["readiness"]["text"]
    release = report.get("release")
    if release:
        return [
            f"Frozen when {release['version']} was tagged ({release['created']}, by "
            f"{release['by']}), at git revision {release['revision']}; image {release['image']}.",
            f"It holds the steps that gate a release ({', '.join(report['scope'])}). "
            f"Readiness of those steps: **{readiness}** (the lowest step's share of its "
            "maximum).",
        ]
    limits = report["readiness"].get("limits")
    released = f"{report['released']}. " if report.get("released") else ""
    return [
        f"{released}Readiness **{readiness}**"
        + (f" ({limits})" if limits else "")
        + f" (the lowest step's share of its maximum). Next: {report['next'] or 'nothing left'}"
    ]


def _since_lines(report: dict[str, Any]) -> list[str]:
    since = report.get("since_release")
    if not since:
        return []
    lines = ["", f"## Changed since release {since['version']}", ""]
    if not since["files"] and not since["items"]:
        return [*lines, "- nothing: the working state is the released one"]
    lines += [f"- file `{f}`" for f in since["files"][:40]]
    lines += [f"- item `{i['id']}`: {i['why']}" for i in since["items"]]
    if since.get("note"):
        lines.append(f"- {since['note']}")
    return lines


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# {_title(report)}",
        "",
        *_intro(report),
        "",
        "| step | status | score | blockers |",
        "|---|---|---|---|",
    ]
    for s in report["steps"]:
        lines.append(
            f"| {s['title']} | {ICONS[s['status']]} {s['status']} | {s['percent']}% "
            f"({s['score']:g} of {s['max_score']}) | {', '.join(s['blockers']) or '-'} |"
        )
    lines += _since_lines(report)
    for step in report["steps"]:
        lines += [
            "",
            f"## {step['title']}",
            "",
            "| | item | kind | status | evidence / who |",
            "|---|---|---|---|---|",
        ]
        for item in (i for i in report["items"] if i["step"] == step["step"]):
            gate = " (gate)" if item["gate"] else ""
            detail = "; ".join(item["evidence"][:3])
            status = shown(item)
            if item.get("waiver"):
                w = item["waiver"]
                detail = (
                    f"**waived** by {w['by']}: {w['reason']} (the check: {item['status']}) "
                    + detail
                )
            detail = f"{detail} ({item['remark']})" if item["remark"] else detail
            lines.append(
                f"| {ICONS[status]} | `{item['id']}`{gate}: "
                f"{_md_cell(item['summary'])} | {item['kind']} | {status} | "
                f"{_md_cell(detail)} |"
            )
    if "signoffs" in report:
        lines += ["", "## Sign-offs", ""]
        lines += [_signoff_line(s) for s in report["signoffs"]] or ["- none yet"]
    lines += [
        "",
        f"_Generated by workbench {report['workbench']} at {report['generated_at']}._",
        "",
    ]
    return "\n".join(lines)


def _signoff_line(s: dict[str, Any]) -> str:
    what = f"release {s['release']}" if s.get("release") else "the working state"
    text = f"- {s['by']}: **{s['decision']}** of {what} at {s['at']} ({s['status']})"
    if s.get("despite"):
        text += f"; approved despite: {s['despite']}"
    return text + (f": {s['note']}" if s.get("note") else "")


def to_html(report: dict[str, Any]) -> str:
    esc = html.escape
    rows = []
    for step in report["steps"]:
        rows.append(
            f"<h2>{esc(step['title'])}: {esc(step['status'])} {step['percent']}% "
            f"({step['score']:g} of {step['max_score']})</h2><table>"
            "<tr><th></th><th>item</th><th>kind</th><th>status</th><th>evidence</th></tr>"
        )
        for item in (i for i in report["items"] if i["step"] == step["step"]):
            evidence = "<br>".join(esc(e) for e in item["evidence"][:5])
            status = shown(item)
            if item.get("waiver"):
                evidence = (
                    f"<b>waived</b> by {esc(item['waiver']['by'])}: "
                    f"{esc(item['waiver']['reason'])} (the check: {esc(item['status'])})<br>"
                    + evidence
                )
            rows.append(
                f"<tr class='{esc(status)}'><td>{ICONS[status]}</td>"
                f"<td><code>{esc(item['id'])}</code>{' (gate)' if item['gate'] else ''}<br>"
                f"{esc(item['summary'])}</td><td>{esc(item['kind'])}</td>"
                f"<td>{esc(status)}</td><td>{evidence}<br><i>{esc(item['remark'])}</i>"
                "</td></tr>"
            )
        rows.append("</table>")
    since = "".join(f"<li>{esc(line[2:])}</li>" for line in _since_lines(report)[3:])
    if since:
        since = (
            f"<h2>Changed since release {esc(report['since_release']['version'])}</h2>"
            f"<ul>{since}</ul>"
        )
    signoffs = ""
    if "signoffs" in report:
        listed = "".join(f"<li>{esc(_signoff_line(s)[2:])}</li>" for s in report["signoffs"])
        signoffs = f"<h2>Sign-offs</h2><ul>{listed or '<li>none yet</li>'}</ul>"
    intro = "".join(f"<p>{esc(p).replace('**', '')}</p>" for p in _intro(report))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{esc(_title(report))}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}"
        ".fail{background:#fee}.stale{background:#ffd}.pass{background:#efe}"
        ".waived{background:#ffc}</style></head><body>"
        f"<h1>{esc(_title(report))}</h1>{intro}{since}"
        + "".join(rows)
        + signoffs
        + f"<p><i>Generated by workbench {esc(report['workbench'])} at "
        f"{esc(report['generated_at'])}.</i></p></body></html>\n"
    )
