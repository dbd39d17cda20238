"""Signing a pushed release: skopeo signs the verified manifest digest in the sigstore
format, and the signature is read back from the registry before the release says so.

skopeo keeps the signature under the fallback tag `sha256-<hex>.sig` (the private
`registries.d` it is given says `use-sigstore-attachments: true`), where skopeo and cosign
read it; on a registry with the OCI referrers API it is also put as a referrer of the
digest, with the SBOM and provenance (`referrers.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.kernel import skopeo
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import RegistryClient
from workbench.project.manifest import Manifest
from workbench.project.records import ReleaseRecord
from workbench.steps.push.attestations import attach, attachment_tag
from workbench.steps.push.keys import MAKE_ONE, public_key_path, public_key_pem, signing_key
from workbench.steps.push.referrers import Placement, choose, confirm_listed, mirror_signature


def signature_tag(digest: str) -> str:
    """The fallback tag of a manifest's sigstore signature: `sha256-<hex>.sig`."""
    return attachment_tag(digest, "sig")


def key_to_sign_with(manifest: Manifest) -> Path | None:
    """This user's private key for the project, or None; a project that requires signing
    and cannot sign is refused before anything is pushed."""
    key = signing_key(manifest)
    if public_key_path(manifest) is None and not manifest.signing.required:
        # A project that does not sign is never signed with a key that happens to sit under
        # its name (another project of the same name), nor asks for that key's passphrase.
        return None
    if manifest.signing.required and (key is None or public_key_path(manifest) is None):
        missing = (
            "no private key in your config folder"
            if key is None
            else ("no `signing.public_key` in workbench.yaml")
        )
        raise WorkbenchError(
            f"{manifest.path} says `signing.required: true`, and there is {missing}; an "
            "unsigned release would be refused by every verify, promote and deploy, so "
            "nothing was pushed.",
            fix=f"{MAKE_ONE}; or get the project's private key from whoever made it.",
        )
    return key


def sign_pushed(
    manifest: Manifest, registry: RegistryClient, version: str, digest: str, passphrase: str
) -> str:
    """Sign `digest` (the registry's for `version`, verified) with the project's key; the
    digest of the signature manifest the registry then serves."""
    key = signing_key(manifest)
    if key is None:
        raise WorkbenchError(
            f"there is no private signing key for {manifest.name}.", fix=MAKE_ONE + "."
        )
    outcome = skopeo.sign(registry.ref, digest, version, key, passphrase)
    if not outcome.ok:
        raise WorkbenchError(
            f"skopeo could not sign {registry.ref.name}@{digest}: {outcome.said}; the release "
            "is in the registry but stays marked not pushed.",
            fix="check the passphrase (WORKBENCH_SIGNING_PASSPHRASE) and the key "
            f"({key}), then run `workbench push` again: it signs what it pushed.",
        )
    after = registry.manifest_digest(version)
    if after != digest:
        raise WorkbenchError(
            f"after signing, the registry's {registry.ref.tagged(version)} is {after}, not "
            f"the pushed {digest}; the release is not marked pushed.",
            fix="remove that tag from the registry and push again.",
        )
    signature = registry.manifest_digest(signature_tag(digest))
    if signature is None:
        raise WorkbenchError(
            f"skopeo said it signed {digest}, but the registry holds no "
            f"{signature_tag(digest)}; the release is not marked pushed.",
            fix="check that the registry accepts pushes of new tags, then push again.",
        )
    return signature


@dataclass(frozen=True)
class Signed:
    signature: str  # the `.sig` manifest's digest, read back
    attestations: str | None  # the `.att` (or attestation artifact's) digest; None: none
    placement: Placement  # the referrers API or the fallback tags, and why


def sign_and_attest(
    manifest: Manifest,
    registry: RegistryClient,
    record: ReleaseRecord,
    digest: str,
    passphrase: str,
) -> Signed:
    """Sign `digest` (skopeo), then attach the release's SBOM and provenance to it as signed
    attestations, through the referrers API where the registry has it and under the fallback
    tags where it does not. A release already signed is not signed again."""
    placement = choose(registry, digest)
    signature = record.push.signature if record.push.signed else None
    if signature is None:
        signature = sign_pushed(manifest, registry, record.version, digest, passphrase)
    key, pem = signing_key(manifest), public_key_pem(manifest)
    put: dict[str, str] = {}
    if placement.by == "referrers":
        put["sig"] = mirror_signature(registry, digest, signature)
    if key is not None and pem is not None:
        put |= attach(manifest, registry, record, digest, (key, passphrase, pem), placement.by)
    if placement.by == "referrers":
        confirm_listed(registry, digest, put)
    return Signed(signature, put.get("att"), placement)
