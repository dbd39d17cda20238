"""Probes of how the container runs: its user, capabilities and confinement, read back
from the engine's HostConfig and the process's own /proc/1/status, never assumed."""

from __future__ import annotations

import json
from typing import Any

from workbench.checklist.checks import CheckResult
from workbench.steps.serve.probing import Probing, exec_in

# What the serve test reads inside the container, in one `python3` run a session (each
# `docker exec` costs the engine some 50 ms of CPU before the command starts): PID 1's
# /proc/1/status (ids, capabilities, NoNewPrivs), what a write to / answers, and the installed
# distributions. None of them changes while the server runs (its root is read-only, PID 1's
# ids and capabilities are fixed); each part says its own failure.
INSIDE_PROBE = """\
import errno, json
said = {}
try:
    status = dict(l.split(':', 1) for l in open('/proc/1/status') if ':' in l)
    said['status'] = {k: status.get(k, '').strip() for k in
                      ('Uid', 'Gid', 'CapEff', 'CapPrm', 'CapBnd', 'NoNewPrivs')}
except Exception as e:
    said['status'] = repr(e)
try:
    open('/.workbench-write-probe', 'w').close()
    said['write'] = 'written'
except OSError as e:
    said['write'] = errno.errorcode.get(e.errno, str(e.errno))
try:
    import importlib.metadata as m
    said['packages'] = {d.metadata['Name']: d.version for d in m.distributions()}
except Exception as e:
    said['packages'] = repr(e)
print(json.dumps(said))
"""


def inside(p: Probing, part: str) -> Any:
    """One part of what INSIDE_PROBE read in the container (`status`, `write`, `packages`),
    read once a session; a string saying why when it could not be read (a failed run is
    not kept: the next item reads again)."""
    if p.inside is None:
        code, out = exec_in(p.live, ["python3", "-c", INSIDE_PROBE])
        # The engine mixes the probe's stderr into its output (a warning the image's
        # settings print): its answer is the last line that is a JSON object.
        line = next((x for x in reversed(out.splitlines()) if x.startswith("{")), "")
        try:
            said = json.loads(line) if code == 0 else None
        except json.JSONDecodeError:
            said = None
        if not isinstance(said, dict):
            return f"the probe in the container printed no answer (exit {code}): {out[-200:]}"
        p.inside = said
    return p.inside.get(part, f"the probe in the container said nothing of {part}")


def process_status(p: Probing) -> dict[str, str] | str:
    """The served process's own /proc/1/status lines (ids, capabilities, NoNewPrivs), read
    inside the container (`serve.non-root` and `serve.hardened` both report them); the
    error text when they could not be read."""
    status = inside(p, "status")
    if isinstance(status, dict):
        return status
    return f"could not read /proc/1/status in the container: {status}"


def _no_capabilities(mask: str) -> bool:
    return mask != "" and int(mask, 16) == 0


def non_root(p: Probing) -> CheckResult:
    status = process_status(p)
    if isinstance(status, str):
        return CheckResult.failed(status)
    uid, gid = status["Uid"].split()[:2], status["Gid"].split()[:1]
    effective = status["CapEff"]
    top = p.live.container.top(ps_args="-o uid,pid,comm")
    evidence = [
        f"/proc/1/status: uids {' '.join(uid)}, gid {' '.join(gid)}, CapEff {effective}",
        f"docker top: {top.get('Processes')}",
    ]
    problems = []
    if "0" in uid:
        problems.append("the server runs as root (uid 0)")
    if not _no_capabilities(effective):
        problems.append(f"the server holds capabilities (CapEff {effective}, expected 0)")
    if problems:
        return CheckResult.failed(*problems, *evidence)
    return CheckResult.passed(f"uid {uid[0]}, no effective capabilities", *evidence)


def hardened(p: Probing) -> CheckResult:
    """What the serve test asked of the container, read back from the engine's HostConfig
    and the process's own status: never assumed from what we meant to start."""
    p.live.container.reload()
    host = p.live.container.attrs.get("HostConfig") or {}
    status = process_status(p)
    if isinstance(status, str):
        return CheckResult.failed(status)
    wrote = str(inside(p, "write") or "nothing (no output)")
    limit = int(host.get("Memory") or 0)
    wanted = p.manifest.serve.memory_bytes
    checks = [
        (
            bool(host.get("ReadonlyRootfs")) and wrote == "EROFS",
            f"read-only root: HostConfig.ReadonlyRootfs {bool(host.get('ReadonlyRootfs'))}, "
            f"a write to / answered {wrote}",
        ),
        (
            "ALL" in [c.upper() for c in host.get("CapDrop") or []]
            and not host.get("CapAdd")
            and _no_capabilities(status["CapEff"])
            and _no_capabilities(status["CapPrm"]),
            f"capabilities: CapDrop {host.get('CapDrop')}, CapAdd {host.get('CapAdd')}, "
            f"CapEff {status['CapEff']}, CapPrm {status['CapPrm']}",
        ),
        (
            status["NoNewPrivs"] == "1",
            f"no-new-privileges: NoNewPrivs {status['NoNewPrivs'] or '(absent)'}, "
            f"SecurityOpt {host.get('SecurityOpt')}",
        ),
        (
            limit == wanted,
            f"memory limit: HostConfig.Memory {limit} bytes, serve.memory_limit "
            f"{p.manifest.serve.memory_limit} is {wanted}",
        ),
        (
            "0" not in status["Uid"].split(),
            f"user: uids {' '.join(status['Uid'].split())}",
        ),
    ]
    missing = [said for ok, said in checks if not ok]
    if missing:
        return CheckResult.failed(
            f"{len(missing)} of {len(checks)} protections missing: "
            + "; ".join(said.split(":")[0] for said in missing),
            *missing,
            *(said for ok, said in checks if ok),
        )
    return CheckResult.passed(
        f"{len(checks)} protections read back from the running container", *(s for _, s in checks)
    )
