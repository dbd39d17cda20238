"""The release's SBOM and provenance as its git tag holds them: each file hashed against
the release manifest and read for the image it names. `verify FILE.tar` reads them from a
bundle instead (a `Reader`), and the registry's attestations are compared with them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from workbench.kernel import git
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_text
from workbench.project.manifest import Manifest
from workbench.project.records import ReleaseRecord
from workbench.steps.tag.provenance import provenance_path, read_provenance
from workbench.steps.tag.sbom import sbom_path


@dataclass(frozen=True)
class Finding:
    what: str  # digest, image, signature, sbom, provenance
    ok: bool
    evidence: str


Reader = Callable[[str], tuple[str | None, str]]  # relative path -> (its text, where from)


def at_tag(manifest: Manifest, record: ReleaseRecord) -> Reader:
    """Files as the release's git tag holds them."""

    def read(relative: str) -> tuple[str | None, str]:
        spec = f"{record.git.tag}:{git.prefix(manifest.root)}{relative}"
        shown = git.run(manifest.root, "cat-file", "blob", spec, strip=False)
        return (shown.stdout if shown.ok else None), f"the tagged commit {record.git.tag}"

    return read


def tagged_document(record: ReleaseRecord, relative: str, read: Reader) -> tuple[str | None, str]:
    """The file's text when its hash is the release manifest's; else why not."""
    text, where = read(relative)
    wanted = record.hashes.files.get(relative)
    if text is None:
        return None, f"{relative} is not in {where}"
    if wanted is None:
        return None, f"the release manifest has no hash of {relative}"
    if sha256_text(text) != wanted:
        return None, f"{relative} in {where} hashes {sha256_text(text)}, not {wanted}"
    return text, f"{relative} in {where} hashes {wanted} as recorded"


def sbom_finding(manifest: Manifest, record: ReleaseRecord, read: Reader | None = None) -> Finding:
    relative = str(sbom_path(manifest, record.version).relative_to(manifest.root))
    text, said = tagged_document(record, relative, read or at_tag(manifest, record))
    if text is None:
        return Finding("sbom", False, said)
    component = json.loads(text).get("metadata", {}).get("component", {})
    named = {p.get("name"): p.get("value") for p in component.get("properties", [])}
    image = named.get("io.workbench.image-id")
    if image != record.image.id:
        return Finding("sbom", False, f"{said}, but it names the image {image}")
    return Finding("sbom", True, f"{said}; it names the image {image}")


def provenance_finding(
    manifest: Manifest, record: ReleaseRecord, read: Reader | None = None
) -> Finding:
    relative = str(provenance_path(manifest, record.version).relative_to(manifest.root))
    text, said = tagged_document(record, relative, read or at_tag(manifest, record))
    if text is None:
        return Finding("provenance", False, said)
    try:
        image = read_provenance(text, relative).image_id
    except WorkbenchError as exc:
        return Finding("provenance", False, exc.message)
    if image != record.image.id:
        return Finding("provenance", False, f"{said}, but its subject is the image {image}")
    return Finding("provenance", True, f"{said}; its subject is the image {image}")
