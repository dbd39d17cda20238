"""Step 4 checks: the release in git."""

from __future__ import annotations

import hashlib
import subprocess

from workbench.checklist.registry import CheckContext, CheckResult, Inputs, auto_check

# Files the workbench itself writes; they may be uncommitted when tagging (tag commits them).
WORKBENCH_FILES = ("checklist.yaml", "snapshot.yaml", "environment.lock", "releases/")


def _git(ctx: CheckContext, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=ctx.manifest.root,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _inputs(ctx: CheckContext) -> Inputs:
    head = _git(ctx, "rev-parse", "HEAD").stdout.strip()
    status = _git(ctx, "status", "--porcelain", "--untracked-files=all", ".").stdout
    return {"head": head or "none", "status": hashlib.sha256(status.encode()).hexdigest()}


@auto_check("tag.git-clean", inputs=_inputs)
def git_clean(ctx: CheckContext) -> CheckResult:
    inside = _git(ctx, "rev-parse", "--show-prefix")
    if inside.returncode != 0:
        return CheckResult.failed(
            f"{ctx.manifest.root} is not in a git repository",
            "run `git init` and commit the project",
        )
    prefix = inside.stdout.strip()
    head = _git(ctx, "rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return CheckResult.failed("the repository has no commit yet")
    dirty = []
    for line in _git(
        ctx, "status", "--porcelain", "--untracked-files=all", "."
    ).stdout.splitlines():
        path = line[3:].strip().strip('"')
        relative = path[len(prefix) :] if prefix and path.startswith(prefix) else path
        if not relative.startswith(WORKBENCH_FILES):
            dirty.append(f"{line[:2].strip()} {relative}")
    if dirty:
        return CheckResult.failed(f"{len(dirty)} uncommitted changes", *dirty[:20])
    return CheckResult.passed(f"clean at {head.stdout.strip()}")
