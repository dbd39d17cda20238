"""Which version a release gets: semver suggested from the contract's changes, and checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import Manifest
from workbench.project.releases import releases, tag_name
from workbench.project.semver import LEVELS, SemVer
from workbench.steps.schema.diff import Change, required_bump, schema_changes


@dataclass
class Suggestion:
    previous: SemVer | None
    version: SemVer
    level: str
    reason: str
    changes: list[Change] = field(default_factory=list)


def suggest(manifest: Manifest) -> Suggestion:
    known = releases(manifest)
    if not known:
        return Suggestion(None, SemVer(1, 0, 0), "major", "the first release")
    previous = known[-1]
    changes = schema_changes(manifest, previous)
    level = required_bump(changes)
    if level == "major":
        breaking = [f"{c.where} {c.path}: {c.what}" for c in changes if c.kind == "breaking"]
        reason = "breaking contract changes: " + "; ".join(breaking[:4])
    elif level == "minor":
        additive = [f"{c.where} {c.path}: {c.what}" for c in changes if c.kind == "additive"]
        reason = "additive contract changes: " + "; ".join(additive[:4])
    elif changes:  # descriptions and the like: the contract accepts and answers the same
        cosmetic = [f"{c.where} {c.path}: {c.what}" for c in changes]
        reason = "cosmetic contract changes only: " + "; ".join(cosmetic[:4])
    else:
        reason = "no contract change: a new model or environment only"
    return Suggestion(previous, previous.bump(level), level, reason, changes)


def validate_version(
    manifest: Manifest,
    text: str,
    suggestion: Suggestion,
    registry_tags: Callable[[str], str | None] | None = None,
) -> SemVer:
    version = SemVer.parse(text)
    if suggestion.previous is not None and not version > suggestion.previous:
        raise WorkbenchError(
            f"{version} is not higher than the last release {suggestion.previous}.",
            fix=f"use {suggestion.version} or higher.",
        )
    if git.tags(manifest.root, tag_name(manifest, version)):
        raise WorkbenchError(
            f"the git tag {tag_name(manifest, version)} already exists.",
            fix="choose another version; release tags are never moved.",
        )
    if suggestion.previous is not None and LEVELS.index(
        version.level_from(suggestion.previous)
    ) < LEVELS.index(suggestion.level):
        raise WorkbenchError(
            f"{version} is a {version.level_from(suggestion.previous)} bump, but the contract "
            f"changes need a {suggestion.level} one ({suggestion.reason}).",
            fix=f"use {suggestion.version}.",
        )
    if registry_tags is not None and registry_tags(str(version)):
        raise WorkbenchError(
            f"the registry already holds version {version}.",
            fix="choose another version; release tags are immutable.",
        )
    return version
