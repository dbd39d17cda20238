"""Where a release's signature, SBOM and provenance go in the registry: through the OCI
referrers API (distribution spec 1.1) where the registry has it, under cosign's fallback
tags (`sha256-<hex>.sig` / `.att` / `.sbom`) where it does not (Debian's `docker-registry`
answers 404).

The push asks the registry for the referrers of the pushed digest: only an OCI image index
in answer means the API is there. The choice is recorded with the push
(`push.attached_by`, and what the registry answered) and said in its output. With the API,
each attachment is an OCI artifact manifest whose `subject` is the pushed image and whose
`artifactType` is cosign's (`application/vnd.dev.cosign.artifact.{sig,att,sbom}.v1+json`),
put by its own digest with no tag; `verify` finds them in the referrers list by that type.
skopeo reads and writes sigstore signatures only under the `.sig` tag, so the signature
stays there too (skopeo is the independent verifier) and is also put as a referrer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from workbench.kernel.errors import WorkbenchError

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPES = {
    "sig": "application/vnd.dev.cosign.artifact.sig.v1+json",
    "att": "application/vnd.dev.cosign.artifact.att.v1+json",
    "sbom": "application/vnd.dev.cosign.artifact.sbom.v1+json",
}
AttachedBy = Literal["referrers", "tags"]


class Listing(Protocol):
    """What lists a manifest's referrers: a registry client, or a bundle (which has none)."""

    def referrers(self, digest: str) -> tuple[list[dict[str, Any]] | None, str]: ...


class Registry(Listing, Protocol):
    def get_manifest(self, reference: str) -> tuple[bytes, str, str]: ...

    def put_manifest(self, tag: str, body: bytes, media_type: str) -> str: ...

    def manifest_digest(self, tag: str) -> str | None: ...


@dataclass(frozen=True)
class Placement:
    by: AttachedBy
    said: str  # why: what the registry answered when asked for the referrers


def attachment_tag(digest: str, kind: str) -> str:
    """cosign's fallback tag for an attachment of `digest`: `sha256-<hex>.att|.sbom|.sig`."""
    return digest.replace(":", "-", 1) + "." + kind


def choose(registry: Listing, digest: str) -> Placement:
    """The referrers API when the registry lists `digest`'s referrers as an OCI image index;
    the fallback tags otherwise."""
    listed, answered = registry.referrers(digest)
    if listed is None:
        return Placement("tags", f"fallback tags: the registry has no referrers API ({answered})")
    return Placement("referrers", f"referrers API ({answered})")


def subject_of(registry: Registry, digest: str) -> dict[str, Any]:
    """The descriptor of the pushed manifest, as an artifact's `subject` names it."""
    body, media_type, _ = registry.get_manifest(digest)
    if not media_type:
        media_type = str(json.loads(body).get("mediaType") or OCI_MANIFEST)
    return {"mediaType": media_type.split(";")[0], "digest": digest, "size": len(body)}


def put_artifact(
    registry: Registry, body: dict[str, Any], subject: dict[str, Any], kind: str
) -> str:
    """`body` (an image manifest) put by its own digest as an artifact of `kind` whose
    subject is `subject`; the digest the registry serves for it afterwards."""
    document = {**body, "artifactType": ARTIFACT_TYPES[kind], "subject": subject}
    data = json.dumps(document).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    registry.put_manifest(digest, data, OCI_MANIFEST)
    if registry.manifest_digest(digest) != digest:
        raise WorkbenchError(
            f"the registry took the {kind} artifact {digest} of {subject['digest']} but does "
            "not serve it; the release is not marked pushed.",
            fix="check that the registry accepts OCI artifacts, then push again.",
        )
    return digest


def mirror_signature(registry: Registry, digest: str, signature: str) -> str:
    """The `.sig` manifest skopeo wrote, put again as a referrer of `digest` (the same
    layers: the same signature); its digest."""
    body, _, _ = registry.get_manifest(signature)
    document = {k: v for k, v in json.loads(body).items() if k not in ("subject", "artifactType")}
    return put_artifact(registry, document, subject_of(registry, digest), "sig")


def confirm_listed(registry: Listing, digest: str, put: dict[str, str]) -> None:
    """Every artifact put (kind -> digest) is in the registry's referrers list of `digest`
    with its artifactType: read back, never assumed."""
    listed, answered = registry.referrers(digest)
    pairs = {(str(d.get("artifactType")), str(d.get("digest"))) for d in listed or []}
    missing = [k for k, d in put.items() if (ARTIFACT_TYPES[k], d) not in pairs]
    if missing:
        raise WorkbenchError(
            f"the registry took the {', '.join(missing)} artifacts of {digest}, but its "
            f"referrers list does not name them ({answered}); the release is not marked "
            "pushed.",
            fix="check the registry's referrers API, then push again.",
        )


def references(registry: Listing, digest: str, kind: str, by: str | None) -> tuple[list[str], str]:
    """Where to read the `kind` attachment of `digest`: its fallback tag (`by` "tags" or
    unrecorded), or each referrer listed with its artifactType; and where that was found."""
    if by != "referrers":
        return [attachment_tag(digest, kind)], "under its fallback tag"
    listed, answered = registry.referrers(digest)
    if listed is None:
        return [], f"attached through the referrers API, but now {answered}"
    wanted = ARTIFACT_TYPES[kind]
    found = [str(d["digest"]) for d in listed if d.get("artifactType") == wanted and "digest" in d]
    return found, f"listed by the referrers API as {wanted}"


def still_attached(registry: Registry, digest: str, by: str | None, attached: str) -> bool:
    """Whether the registry still holds the `.att` the push recorded (a tag moved or a
    referrer gone: the next push attaches again)."""
    if by == "referrers":
        return attached in references(registry, digest, "att", by)[0]
    return registry.manifest_digest(attachment_tag(digest, "att")) == attached
