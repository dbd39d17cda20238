"""Step 4 checks: the release in git."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import msgspec

from workbench.checklist.checks import CheckContext, CheckResult, CheckSet, Inputs
from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest, sha256_text
from workbench.project.lockfile import LOCK_NAME
from workbench.project.records import Hashes, ReleaseRecord
from workbench.project.releases import (
    foreign_tags,
    load_release,
    releases,
    tag_name,
)
from workbench.project.semver import LEVELS, SemVer
from workbench.steps.shared import of_latest_release
from workbench.steps.tag.files import (
    content_fingerprint,
    dirty_files,
    files_not_in_git,
    not_in_git,
    package_relatives,
    release_files,
)
from workbench.steps.tag.regression import held_to, regression

checks = CheckSet()


def _git(ctx: CheckContext, *args: str) -> git.Outcome:
    return git.run(ctx.manifest.root, *args)


def _tree(ctx: CheckContext) -> str:
    """The project's content fingerprint, measured once per measuring of the inputs (six tag
    items depend on it; each measuring has its own context, so it is never stale)."""
    return str(ctx.memo("tag.tree", lambda: content_fingerprint(ctx.manifest)))


def _inputs(ctx: CheckContext) -> Inputs:
    # Content, not commits: the workbench's own release commits never make this stale.
    return {"tree": _tree(ctx)}


@checks.auto("tag.git-clean", inputs=_inputs)
def git_clean(ctx: CheckContext) -> CheckResult:
    inside = _git(ctx, "rev-parse", "--show-prefix")
    if inside.returncode != 0:
        return CheckResult.failed(
            f"{ctx.manifest.root} is not in a git repository", "run `git init` and commit it"
        )
    head = _git(ctx, "rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return CheckResult.failed("the repository has no commit yet")
    outside = files_not_in_git(ctx.manifest)
    dirty = [path for path in dirty_files(ctx.manifest) if path not in outside]
    problems = [f"{path} goes into the image but is {why}" for path, why in outside.items()]
    if dirty:
        problems += [f"{len(dirty)} uncommitted changes", *dirty[:20]]
    if problems:
        return CheckResult.failed(*problems)
    listed = len(release_files(ctx.manifest))
    return CheckResult.passed(
        f"clean at {head.stdout.strip()} (apart from the files the workbench writes)",
        f"git tracks each of the {listed} files a release is made of (the lock is committed "
        "with the release)",
    )


def _release_inputs(ctx: CheckContext) -> Inputs:
    """The releases as tagged (their manifests without the push record, which is step 5's),
    the tags' objects and the project's content: never the workbench's bookkeeping."""
    m = ctx.manifest
    described = []
    for version in releases(m):
        record = msgspec.to_builtins(load_release(m, version))
        record.pop("push", None)
        described.append(json.dumps(record, sort_keys=True))
    refs = ctx.memo(
        "tag.refs",
        lambda: _git(
            ctx,
            "for-each-ref",
            f"refs/tags/{m.release.tag_prefix}*",
            "--format=%(refname) %(objectname)",
        ),
    )
    return {
        "releases": sha256_text("\n".join(described)),
        "tags": sha256_text(refs.stdout if refs.ok else ""),
        "tree": _tree(ctx),
        "lock": file_digest(m.root / "environment.lock"),
        "request": file_digest(m.resolve(m.schema.request)),
        "response": file_digest(m.resolve(m.schema.response)),
    }


@checks.auto("tag.version-valid", inputs=_release_inputs)
def version_valid(ctx: CheckContext) -> CheckResult:
    known = releases(ctx.manifest)
    foreign = foreign_tags(ctx.manifest)
    not_ours = (
        [f"tags without a release manifest, not the workbench's, ignored: {', '.join(foreign)}"]
        if foreign
        else []
    )
    if not known:
        return CheckResult.skipped(
            "no release yet: `workbench tag` suggests the first version"
            + (f" ({not_ours[0]})" if not_ours else "")
        )
    latest = known[-1]
    earlier = known[:-1]
    record = load_release(ctx.manifest, latest)
    # The file's name orders the history; what it holds must say the same.
    if record.version != str(latest):
        return CheckResult.failed(f"releases/{latest}.yaml says it is version {record.version}")
    before = str(earlier[-1]) if earlier else None
    if record.previous != before:
        return CheckResult.failed(
            f"{latest} records {record.previous or 'no'} previous release, but the release "
            f"before it is {before or 'none'}"
        )
    if earlier and not latest > earlier[-1]:
        return CheckResult.failed(f"{latest} is not higher than {earlier[-1]}")
    return CheckResult.passed(
        f"{latest} is valid semver"
        + (f", higher than {earlier[-1]}" if earlier else ", the first release"),
        *not_ours,
    )


@checks.auto("tag.bump-sufficient", inputs=_release_inputs)
@of_latest_release()
def bump_sufficient(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    bump = document.bump
    if not document.previous:
        return CheckResult.passed(f"{version} is the first release")
    previous = SemVer.parse(document.previous)
    level = version.level_from(previous)
    needed = SemVer.parse(bump.suggested).level_from(previous)
    if LEVELS.index(level) < LEVELS.index(needed):
        return CheckResult.failed(
            f"{version} is a {level} bump; the contract needs {needed}", bump.reason
        )
    return CheckResult.passed(
        f"{version}: a {level} bump; the contract needs {needed}", bump.reason, *bump.changes[:10]
    )


def _quality_inputs(ctx: CheckContext) -> Inputs:
    """The releases, and the one section of the manifest the comparison reads (its metric and
    tolerance): setting `registry:` must not make it stale."""
    evaluation = ctx.manifest.evaluation
    said = json.dumps(dataclasses.asdict(evaluation) if evaluation else None, sort_keys=True)
    return {**_release_inputs(ctx), "evaluation": said}


@checks.auto("tag.no-regression", inputs=_quality_inputs)
@of_latest_release()
def no_regression(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    now = document.quality
    if now is None:
        return CheckResult.skipped(
            f"{version} recorded no quality (no `evaluation:` in workbench.yaml when it was tagged)"
        )
    measured = f"{version}: {now.metric} {now.value:.4g} on {now.n} held-out records"
    if not document.previous:
        return CheckResult.passed(f"{measured}; the first release, nothing to compare with")
    held = held_to(ctx.manifest, upto=version)
    if held is None:
        return CheckResult.passed(f"{measured}; {document.previous} recorded no quality")
    baseline, before, _ = held  # the best since the last accepted drop
    why = regression(ctx.manifest, before, now, baseline)
    compared = f"{baseline}: {before.metric} {before.value:.4g} on {before.n}"
    if why:
        waiver = document.waivers.get("tag.no-regression")
        note = f"released with the waiver of {waiver.by}: {waiver.reason}" if waiver else ""
        return CheckResult.failed(measured, compared, why, *([note] if note else []))
    return CheckResult.passed(measured, compared, "within the tolerance")


@checks.auto("tag.git-tag", inputs=_release_inputs)
@of_latest_release()
def git_tag(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    name = tag_name(ctx.manifest, version)
    kind = _git(ctx, "cat-file", "-t", name).stdout.strip()
    if kind != "tag":
        return CheckResult.failed(
            f"{name} is {'a lightweight tag' if kind else 'missing'}; "
            "releases need an annotated tag"
        )
    tagged = _git(ctx, "rev-list", "-n", "1", name).stdout.strip()
    released = document.git.revision
    contains = _git(ctx, "merge-base", "--is-ancestor", released, tagged).returncode == 0
    head = _git(ctx, "rev-parse", "HEAD").stdout.strip()
    at_head = _git(ctx, "merge-base", "--is-ancestor", tagged, head).returncode == 0
    if not contains:
        return CheckResult.failed(f"{name} does not contain the released revision {released}")
    evidence = [f"{name} is annotated, at {tagged[:12]}, containing {released[:12]}"]
    if not at_head:
        return CheckResult.failed(*evidence, "HEAD is not a descendant of the tag")
    return CheckResult.passed(*evidence, f"HEAD {head[:12]} descends from it")


def _recorded(ctx: CheckContext, hashes: Hashes) -> dict[str, str]:
    """Every hash the release recorded, by the project file it describes. The per-file
    list (`files`) names its paths; the older fields are the lock, the schemas named by
    workbench.yaml and the artifacts."""
    if hashes.files:  # every file by the path it had when released (schemas included)
        return {LOCK_NAME: hashes.lock, **hashes.files}
    m = ctx.manifest
    return {
        LOCK_NAME: hashes.lock,
        m.schema.request: hashes.request_schema,
        m.schema.response: hashes.response_schema,
        **hashes.artifacts,
    }


@checks.auto("tag.manifest-complete", inputs=_release_inputs)
@of_latest_release()
def manifest_complete(ctx: CheckContext, version: SemVer, document: ReleaseRecord) -> CheckResult:
    """Read back every recorded hash against the file in the tagged commit (`git cat-file
    blob TAG:PATH`): a file that is not there, or whose bytes hash differently, fails; so
    does a file that goes into the image but the release does not hash."""
    m = ctx.manifest
    tag = tag_name(m, version)
    if git.object_type(m.root, tag) == "":
        return CheckResult.failed(f"there is no git tag {tag}: the release's files cannot be read")
    recorded = _recorded(ctx, document.hashes)
    problems: list[str] = []
    for relative, digest in recorded.items():
        data = git.blob(m.root, tag, relative)
        if data is None:
            problems.append(f"{relative} cannot be read at {tag}: it is not in the tagged commit")
            continue
        at_tag = "sha256:" + hashlib.sha256(data).hexdigest()
        if at_tag != digest:
            problems.append(
                f"{relative}: the release recorded {digest[:19]}, "
                f"the file at {tag} is {at_tag[:19]}"
            )
    try:
        wanted = release_files(m)
    except WorkbenchError as exc:
        problems.append(f"the files that go into the image cannot be listed: {exc.message}")
        wanted = {}
    # What the image takes now, of the files that were in the tagged commit: a file added
    # (or moved) since the release was never in it, and is no gap of that release.
    unhashed = [r for r in wanted if r not in recorded and git.blob(m.root, tag, r) is not None]
    # A release made before the project's own packages' files were hashed hashes none of
    # them: a warning (below), not a failure of that release.
    own = package_relatives(m)
    gaps = [r for r in unhashed if not (own.isdisjoint(recorded) and r in own)]
    if gaps and document.hashes.files:
        problems += [
            f"{r} goes into the image but releases/{version}.yaml does not hash it" for r in gaps
        ]
    elif not document.hashes.files:
        # A manifest from before `files`: an image file git still ignores (or never had)
        # was in the image and in no commit when it was released, too.
        hidden = not_in_git(m, [r for r in wanted if r not in recorded])
        problems += [
            f"{r} goes into the image but cannot be read at {tag}: it is not in the tagged "
            f"commit ({why})"
            for r, why in hidden.items()
        ]
    if problems:
        return CheckResult.failed(*problems)
    evidence = [f"{len(recorded)} hashes compared with the files at {tag}: all equal"]
    if unhashed:  # a manifest written before releases hashed every file
        evidence.append(
            f"recorded before releases hashed every file: {len(unhashed)} files of the image "
            f"are not hashed ({', '.join(unhashed[:5])})"
        )
        return CheckResult.warned(*evidence)
    return CheckResult.passed(*evidence, *(f"{r} {d}" for r, d in recorded.items()))


def _advisory_inputs(ctx: CheckContext) -> Inputs:
    """The lock and the advisories (their files' sizes and times: a new export is new). The
    verdict also depends on the advisories' age in days: a result is kept one day at most
    (max_age), so a pass on a fresh export turns into the 30-day warning as it ages."""
    source = ctx.manifest.supply_chain.advisories
    path = ctx.manifest.resolve(source) if source else None
    listing = "none"
    if path is not None and path.exists():
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        listing = sha256_text(
            "\n".join(f"{f} {f.stat().st_size} {f.stat().st_mtime_ns}" for f in files)
        )
    lock = ctx.manifest.root / LOCK_NAME
    return {
        "lock": file_digest(lock) if lock.exists() else "none",
        "advisories": listing,
    }


@checks.auto("tag.vulnerabilities", inputs=_advisory_inputs, max_age=86400.0)
def vulnerabilities(ctx: CheckContext) -> CheckResult:
    from workbench.steps.tag.advisories import STALE_DAYS, describe, scan

    source = ctx.manifest.supply_chain.advisories
    if source is None:
        return CheckResult.warned(
            "no advisories configured: nothing says whether a locked version is vulnerable",
            "export the PyPA advisory database (OSV JSON) and set `supply_chain.advisories: "
            "PATH` in workbench.yaml",
        )
    found = scan(ctx.manifest, source)
    age = found.age_days
    dated = f"{found.advisories} advisories in {source}, newest modified " + (
        f"{age} days ago" if age is not None else "at an unknown date"
    )
    if found.hits:
        return CheckResult.failed(
            *(describe(h) for h in found.hits),
            dated,
            'waive only with a reason: `workbench waive tag.vulnerabilities --reason "why"`',
        )
    if age is None or age > STALE_DAYS:
        return CheckResult.warned(
            f"no locked version is named, but the advisories are older than {STALE_DAYS} "
            f"days: {dated}",
            "export them again",
        )
    return CheckResult.passed(f"no locked version is named by any of the {dated}")
