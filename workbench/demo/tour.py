"""The demo: the iris example through all five steps, on real parts.

`prepare` makes the real parts available (engine, base image, a registry on
loopback), copies the example into a git repository and creates its own
environment; `run_headless` then takes it through the steps without a person:
snapshot, the checks of steps 1-3 (the serve test builds and tests the real
image), a release, a verified push and a promotion to `production`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from workbench.checklist.checks import CheckContext
from workbench.checklist.engine import Checklist, ItemFinished, ItemView
from workbench.demo import parts
from workbench.kernel.git import git
from workbench.project import scaffold
from workbench.project.manifest import MANIFEST_NAME, Manifest, load_manifest
from workbench.steps import open_checklist
from workbench.steps.push import publish
from workbench.steps.snapshot.take import Log, SnapshotResult, Stage, take_snapshot
from workbench.steps.tag import release as tagging

Progress = Callable[[str], None]
DEMO_USER = ("workbench demo", "demo@example.invalid")


def prepare(dest: Path, progress: Progress) -> Manifest:
    progress("checking the Docker engine")
    parts.ensure_engine(progress)
    progress(f"checking the base image {parts.DEFAULT_BASE_IMAGE}")
    parts.ensure_base_image(parts.DEFAULT_BASE_IMAGE, progress)
    if not (dest / MANIFEST_NAME).exists():
        progress(f"copying the iris example to {dest}")
        scaffold.copy_example("iris", dest)
    progress("creating the example's own environment (.venv)")
    scaffold.make_example_env(dest)
    if not (dest / ".git").exists():
        progress("making it a git repository")
        git(dest, "init", "-q", "-b", "main")
        git(dest, "config", "user.name", DEMO_USER[0])
        git(dest, "config", "user.email", DEMO_USER[1])
        git(dest, "add", ".")
        git(dest, "commit", "-q", "-m", "the iris example")
    return load_manifest(dest)


def use_registry(manifest: Manifest, registry: parts.Registry) -> Manifest:
    """Point the demo project at this run's loopback registry (committed)."""
    scaffold.set_registry(manifest.root, f"{registry.host}/demo/{manifest.name}")
    if git(manifest.root, "status", "--porcelain", MANIFEST_NAME):
        git(manifest.root, "commit", "-q", "-m", "demo: this run's registry", "--", MANIFEST_NAME)
    return load_manifest(manifest.root)


def run_headless(manifest: Manifest) -> Iterator[str]:
    yield f"project {manifest.name} at {manifest.root} (python {manifest.interpreter()})"
    yield "1. Snapshot"
    for snap in take_snapshot(manifest):
        if isinstance(snap, Stage):
            yield f"   · {snap.text}"
        elif isinstance(snap, Log) and snap.text.startswith("runtime set"):
            yield f"     {snap.text}"
        elif isinstance(snap, SnapshotResult):
            yield (
                f"   environment.lock: {len(snap.runtime)} runtime packages + "
                f"{len(snap.serving)} for the serving runtime"
            )
    checklist = open_checklist(manifest, user="workbench demo")
    checklist.tick(
        "snapshot.packages-expected",
        "yes",
        note="ticked by the demo script: scikit-learn and its requirements only",
    )
    ctx = CheckContext(manifest)
    for number, step in ((1, "snapshot"), (2, "schema"), (3, "serve")):
        if step != "snapshot":
            yield f"{number}. {step.title()}" + (
                " (builds, runs and tests the image)" if step == "serve" else ""
            )
        for view in _finished(checklist, checklist.auto_ids(step), ctx):
            first = view.evidence[0] if view.evidence else ""
            yield f"   {view.status.value:7} {view.item.id}: {first[:90]}"
        summary = checklist.summary(step)
        yield f"   {int(summary.fraction * 100 + 1e-9)}% ({summary.score:g} of {summary.max_score})"
    yield "4. Tag (tests the release candidate image, then releases that very image)"
    release = tagging.create_release(checklist)
    yield (
        f"   released {release.version}: git tag {release.tag}, image {release.image_ref} "
        f"= tested image {release.image_id[:19]}"
    )
    yield "5. Push"
    for pushed in publish.push_release(manifest):
        if isinstance(pushed, publish.Pushed):
            yield f"   pushed and verified {pushed.digest}"
    digest = publish.promote(manifest, str(release.version), "production", "workbench demo")
    yield f"   production -> {release.version} ({digest})"
    checklist.refresh()
    for view in _finished(checklist, checklist.auto_ids("tag") + checklist.auto_ids("push"), ctx):
        yield f"   {view.status.value:7} {view.item.id}"
    standing = checklist.standing()
    if standing.headline:
        yield standing.headline
    yield (
        f"readiness {standing.readiness_said}; "
        + ", ".join(f"{s.title} {int(s.fraction * 100 + 1e-9)}%" for s in standing.summaries)
    )
    yield "   (the lowest step's share of its maximum: a check the tool verified counts 1,"
    yield "   an answer by a person with a note 0.5, what is not run or answered 0)"
    move = standing.move
    yield "next: " + ("nothing left" if move.action == "none" else move.line)


def _finished(checklist: Checklist, ids: list[str], ctx: CheckContext) -> Iterator[ItemView]:
    """Run `ids`; each item as it finishes."""
    for event in checklist.run(ids, ctx):
        if isinstance(event, ItemFinished):
            yield event.view
