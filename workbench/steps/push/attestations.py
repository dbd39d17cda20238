"""The release's SBOM and provenance attached to the pushed digest in the registry, where
cosign puts them, and read back from there.

Registries without the OCI referrers API (Debian's `docker-registry`) keep a manifest's
attachments under fallback tags named after its digest, as cosign does:

- `sha256-<hex>.att`: one OCI image whose layers are DSSE envelopes
  (`application/vnd.dsse.envelope.v1+json`, annotated with their `predicateType`), each an
  in-toto Statement v1 whose subject is the pushed digest, signed with the project's key:
  the SLSA v1 provenance predicate of the tagged provenance, and the CycloneDX SBOM
  (`https://cyclonedx.org/bom`). `cosign verify-attestation --key signing/NAME.pub` reads
  them.
- `sha256-<hex>.sbom`: the SBOM's bytes as committed at the tag, one layer of
  `application/vnd.cyclonedx+json` (`cosign attach sbom`'s layout), so its blob digest is the
  hash the release manifest records.

Registries with the OCI referrers API get the same two images as artifacts whose `subject`
is the pushed digest, by digest and with no tag (`referrers.py`); verify reads them from
the referrers list.

The blobs and manifests go through the distribution API (`kernel/oci.py`), the envelopes
through securesystemslib (`kernel/dsse.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from workbench.kernel import dsse
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import RegistryClient
from workbench.project.manifest import Manifest
from workbench.project.records import ReleaseRecord
from workbench.steps.push.documents import Finding, Reader, at_tag, tagged_document
from workbench.steps.push.referrers import (
    attachment_tag,
    put_artifact,
    references,
    subject_of,
)
from workbench.steps.tag.provenance import provenance_path
from workbench.steps.tag.sbom import sbom_path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DSSE_LAYER = "application/vnd.dsse.envelope.v1+json"
SBOM_LAYER = "application/vnd.cyclonedx+json"
CYCLONEDX = "https://cyclonedx.org/bom"
STATEMENT = "https://in-toto.io/Statement/v1"


class Attachments(Protocol):
    """Where attachments are read from: the registry, or the folders of a bundle."""

    def get_manifest(self, reference: str) -> tuple[bytes, str, str]: ...

    def get_blob(self, digest: str) -> bytes: ...

    def referrers(self, digest: str) -> tuple[list[dict[str, Any]] | None, str]: ...


@dataclass(frozen=True)
class FolderAttachments:
    """Attachments copied into skopeo `dir:` folders (a bundle's), by their tag: each
    folder's `manifest.json`, and its blobs as files named by their hex digest."""

    folders: dict[str, Path]

    def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        folder = self.folders.get(reference)
        if folder is None or not (folder / "manifest.json").is_file():
            raise WorkbenchError(f"the bundle holds no {reference}")
        return (folder / "manifest.json").read_bytes(), "", ""

    def get_blob(self, digest: str) -> bytes:
        for folder in self.folders.values():
            path = folder / digest.split(":", 1)[-1]
            if path.is_file():
                return path.read_bytes()
        raise WorkbenchError(f"the bundle holds no blob {digest}")

    def referrers(self, digest: str) -> tuple[list[dict[str, Any]] | None, str]:
        return None, "a bundle keeps its attachments by their fallback tags"


__all__ = ["Attachments", "FolderAttachments", "attach", "attachment_tag", "recorded"]


def _relative(manifest: Manifest, path: Path) -> str:
    return str(path.relative_to(manifest.root))


def recorded(manifest: Manifest, record: ReleaseRecord) -> bool:
    """Whether the release manifest hashes both an SBOM and a provenance (releases made
    before the workbench attested releases do not, and have nothing to attach)."""
    files = (sbom_path(manifest, record.version), provenance_path(manifest, record.version))
    return all(_relative(manifest, f) in record.hashes.files for f in files)


def _statement(name: str, digest: str, predicate_type: str, predicate: Any) -> bytes:
    subject = [{"name": name, "digest": {"sha256": digest.split(":", 1)[1]}}]
    statement = {
        "_type": STATEMENT,
        "subject": subject,
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    return json.dumps(statement, sort_keys=True).encode()


def _put_image(
    registry: RegistryClient,
    tag: str,
    layers: list[tuple[bytes, str, str]],
    subject: dict[str, Any] | None = None,
) -> str:
    """An OCI image of `layers` (data, media type, predicate type or "") tagged `tag`, or,
    with `subject`, put as the artifact of `tag`'s kind referring to it; the digest the
    registry serves for it afterwards."""
    descriptors: list[dict[str, Any]] = []
    for data, media_type, predicate_type in layers:
        descriptor: dict[str, Any] = {
            "mediaType": media_type,
            "size": len(data),
            "digest": registry.put_blob(data),
        }
        if predicate_type:
            descriptor["annotations"] = {
                "dev.cosignproject.cosign/signature": "",
                "predicateType": predicate_type,
            }
        descriptors.append(descriptor)
    rootfs = {"type": "layers", "diff_ids": [d["digest"] for d in descriptors]}
    config = json.dumps(
        {"architecture": "", "os": "", "config": {}, "rootfs": rootfs}, sort_keys=True
    ).encode()
    stored = registry.put_blob(config)
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": stored},
        "layers": descriptors,
    }
    if subject is not None:
        return put_artifact(registry, body, subject, tag.rsplit(".", 1)[1])
    registry.put_manifest(tag, json.dumps(body).encode(), OCI_MANIFEST)
    served = registry.manifest_digest(tag)
    if served is None:
        raise WorkbenchError(
            f"the registry took {registry.ref.tagged(tag)} but does not serve it; the release "
            "is not marked pushed.",
            fix="check that the registry accepts pushes of new tags, then push again.",
        )
    return served


def attach(
    manifest: Manifest,
    registry: RegistryClient,
    record: ReleaseRecord,
    digest: str,
    signing: tuple[Path, str, str],
    by: str = "tags",
) -> dict[str, str]:
    """Attach the tagged SBOM and provenance to `digest`, signed with `signing` (private
    key, its passphrase, the public key's PEM), under the fallback tags or (`by`
    "referrers") as artifacts referring to it; the digests the registry serves ("att",
    "sbom"), none for a release made before releases had both (nothing to attach)."""
    read = at_tag(manifest, record)
    files = (sbom_path(manifest, record.version), provenance_path(manifest, record.version))
    sbom, provenance = (tagged_document(record, _relative(manifest, f), read)[0] for f in files)
    if sbom is None or provenance is None:
        return {}
    predicate = json.loads(provenance)
    kinds = [(predicate["predicateType"], predicate["predicate"]), (CYCLONEDX, json.loads(sbom))]
    statements = [_statement(registry.ref.name, digest, kind, body) for kind, body in kinds]
    private_key, passphrase, pem = signing
    signed = dsse.sign_statements(statements, private_key, pem, passphrase)
    envelopes = [(e, DSSE_LAYER, kind) for e, (kind, _) in zip(signed, kinds, strict=True)]
    subject = subject_of(registry, digest) if by == "referrers" else None
    attestations = _put_image(registry, attachment_tag(digest, "att"), envelopes, subject)
    sbom_layers = [(sbom.encode(), SBOM_LAYER, "")]
    return {
        "att": attestations,
        "sbom": _put_image(registry, attachment_tag(digest, "sbom"), sbom_layers, subject),
    }


def _layers(registry: Attachments, tag: str) -> tuple[list[tuple[dict[str, Any], bytes]], str]:
    """The layers of the image `tag` with their bytes, each checked against its digest; an
    empty list and why when it cannot be read."""
    try:
        body, _, _ = registry.get_manifest(tag)
        descriptors = json.loads(body).get("layers") or []
        layers = [(d, registry.get_blob(str(d["digest"]))) for d in descriptors]
    except (WorkbenchError, ValueError, KeyError, TypeError, AttributeError):
        return [], f"no readable {tag} (the registry's or the bundle's)"
    for descriptor, data in layers:
        found = "sha256:" + hashlib.sha256(data).hexdigest()
        if found != descriptor["digest"]:
            return [], f"a layer of {tag} hashes {found}, not {descriptor['digest']}"
    return layers, f"read {tag}"


Found = tuple[Any, str]  # (what was read, or None; the evidence)


def _first_good(
    registry: Attachments, digest: str, kind: str, by: str | None, read: Callable[[str], Found]
) -> Found:
    """`read` of each place the `kind` attachment of `digest` is (one fallback tag, or each
    referrer of its artifactType: one another pusher added cannot hide ours): the first
    that reads well, else the last failure."""
    places, where = references(registry, digest, kind, by)
    if not places:
        return None, f"no readable {kind} attachment of {digest}: none {where}"
    outcome: Found = None, ""
    for place in places:
        shown = place if by != "referrers" else f"the referrer {place} ({where})"
        value, said = read(place)
        outcome = value, said.replace(place, shown, 1)
        if value is not None:
            return outcome
    return outcome


def _attested(
    registry: Attachments, digest: str, pem: str, kind: str, by: str | None = None
) -> Found:
    """The predicate of the signed `kind` attestation of `digest` in its `.att` (or its
    attestation referrers), or None and why not."""
    return _first_good(
        registry, digest, "att", by, lambda place: _statement_in(registry, place, digest, pem, kind)
    )


def _statement_in(registry: Attachments, tag: str, digest: str, pem: str, kind: str) -> Found:
    layers, said = _layers(registry, tag)
    if not layers:
        return None, said
    for descriptor, data in layers:
        if (descriptor.get("annotations") or {}).get("predicateType") != kind:
            continue
        statement, how = dsse.open_envelope(data, pem)
        if statement is None:
            return None, f"the {kind} attestation in {tag}: {how}"
        subjects = statement.get("subject")
        named = [
            (s.get("digest") or {}).get("sha256")
            for s in (subjects if isinstance(subjects, list) else [])
            if isinstance(s, dict)
        ]
        if digest.split(":", 1)[1] not in named or statement.get("predicateType") != kind:
            return None, f"the {kind} attestation in {tag} names {named}, not the pushed {digest}"
        return statement.get("predicate"), f"{tag}: a {kind} statement of {digest}; {how}"
    return None, f"{tag} holds no {kind} attestation"


def sbom_in_registry(
    manifest: Manifest,
    registry: Attachments,
    record: ReleaseRecord,
    digest: str,
    pem: str,
    by: str | None = None,
) -> Finding:
    """The `.sbom` blob (or SBOM referrer's) hashes as the release manifest records, names
    the tested image, and the signed CycloneDX attestation carries that same SBOM."""

    def read(place: str) -> Found:
        finding = _sbom_at(manifest, registry, record, digest, pem, place, by)
        return (finding if finding.ok else None), finding.evidence

    found, evidence = _first_good(registry, digest, "sbom", by, read)
    return Finding("sbom", found is not None, evidence)


def _sbom_at(
    manifest: Manifest,
    registry: Attachments,
    record: ReleaseRecord,
    digest: str,
    pem: str,
    tag: str,
    by: str | None,
) -> Finding:
    relative = _relative(manifest, sbom_path(manifest, record.version))
    wanted = record.hashes.files.get(relative)
    layers, said = _layers(registry, tag)
    if not layers:
        return Finding("sbom", False, said)
    found = str(layers[0][0]["digest"])
    if found != wanted:
        return Finding("sbom", False, f"{tag} holds an SBOM hashing {found}; released {wanted}")
    document = json.loads(layers[0][1])
    component = document.get("metadata", {}).get("component", {})
    named = {p.get("name"): p.get("value") for p in component.get("properties", [])}
    image = named.get("io.workbench.image-id")
    if image != record.image.id:
        return Finding("sbom", False, f"{tag} hashes as released but names the image {image}")
    predicate, how = _attested(registry, digest, pem, CYCLONEDX, by)
    if predicate != document:
        detail = how if predicate is None else f"{how}, but it carries another SBOM"
        return Finding("sbom", False, detail)
    return Finding(
        "sbom",
        True,
        f"{tag} holds {relative} hashing {found} as the release manifest records, naming the "
        f"image {image}; {how}, carrying that SBOM",
    )


def provenance_in_registry(
    manifest: Manifest,
    registry: Attachments,
    record: ReleaseRecord,
    digest: str,
    pem: str,
    read: Reader | None = None,
    by: str | None = None,
) -> Finding:
    """The signed SLSA attestation of `digest` carries the predicate of the provenance the
    release's tag (or `read`: a bundle) holds, hashed as the release manifest records."""
    relative = _relative(manifest, provenance_path(manifest, record.version))
    text, said = tagged_document(record, relative, read or at_tag(manifest, record))
    if text is None:
        return Finding("provenance", False, said)
    tagged = json.loads(text)
    predicate, how = _attested(registry, digest, pem, str(tagged.get("predicateType")), by)
    if predicate is None:
        return Finding("provenance", False, how)
    if predicate != tagged.get("predicate"):
        return Finding("provenance", False, f"{how}, but its predicate is not {relative}'s")
    return Finding("provenance", True, f"{how}; its predicate is that of {relative} ({said})")
