"""`workbench verify`: is what the registry serves the release, signed by the project's key,
and do its SBOM and provenance name it?

Each finding says what was read back: the registry's digest for the release's tag against
the recorded one; the image config that manifest points at against the tested image's id;
skopeo's own verdict on a `sigstoreSigned` policy holding the project's public key (the
verifier people already run, so the workbench is not the judge of its own signatures); the
SBOM and the provenance attached to the pushed digest in the registry (`attestations.py`):
hashed against the release manifest, signed by the project's key, naming that digest.
`promote`, `rollback` and `deploy` ask `require_verified` first, and refuse unless a
written reason is given (recorded where the move is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workbench.kernel import skopeo
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import RegistryClient, client_for
from workbench.kernel.paths import scratch_dir
from workbench.project.manifest import Manifest
from workbench.project.releases import load_channels, load_release, releases
from workbench.project.semver import SemVer
from workbench.steps.push.attestations import provenance_in_registry, sbom_in_registry
from workbench.steps.push.documents import Finding, provenance_finding, sbom_finding
from workbench.steps.push.keys import MAKE_ONE, public_key_pem


@dataclass(frozen=True)
class Verdict:
    version: str
    reference: str  # what was verified: REPOSITORY:TAG or REPOSITORY@DIGEST
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def failures(self) -> str:
        return "; ".join(f"{f.what}: {f.evidence}" for f in self.findings if not f.ok)


def _release_of(manifest: Manifest, target: str | None) -> tuple[str, str]:
    """(version, the reference to check: `:TAG` or `@DIGEST`) for a version, an image
    reference of the project's repository (by tag, channel or digest), or the latest."""
    known = [str(v) for v in releases(manifest)]
    if not known:
        raise WorkbenchError("there is no release yet.", fix="tag one with `workbench tag`.")
    if target is None or ("/" not in target and "@" not in target):
        version = target or known[-1]
        SemVer.parse(version)
        return version, f":{version}"
    name, at, digest = target.partition("@")
    repository, _, tag = name.rpartition(":") if not at else (name, "", "")
    if repository != manifest.registry:
        raise WorkbenchError(
            f"{target} is not an image of this project's repository ({manifest.registry}).",
            fix="name a version, or an image REGISTRY:TAG / REGISTRY@DIGEST of `registry:`.",
        )
    if at:
        for version in known:
            if load_release(manifest, version).push.digest == digest:
                return version, f"@{digest}"
        raise WorkbenchError(
            f"no release of {manifest.name} was pushed as {digest}.",
            fix="name a version (`workbench releases` lists them) or a digest one recorded.",
        )
    channel = load_channels(manifest).get(tag)
    if channel is not None and channel.current:
        return channel.current, f":{tag}"
    if tag in known:
        return tag, f":{tag}"
    raise WorkbenchError(
        f"{tag} is neither a release nor a channel of {manifest.name}.",
        fix="name a version (`workbench releases`) or a channel of releases/channels.yaml.",
    )


def verify_release(manifest: Manifest, target: str | None = None) -> Verdict:
    version, reference = _release_of(manifest, target)
    record = load_release(manifest, version)
    if not manifest.registry:
        raise WorkbenchError(
            "`registry:` is not set in workbench.yaml; there is nothing to verify against.",
            fix="set it and push the release.",
        )
    registry = client_for(manifest.registry)
    shown = f"{registry.ref.name}{reference}"
    recorded = record.push.digest
    if not record.push.pushed or not recorded:
        finding = Finding("digest", False, f"release {version} is not pushed (`workbench push`)")
        return Verdict(version, shown, (finding,))
    pem = public_key_pem(manifest)
    # A channel's tag is signed as its version's: skopeo is asked about the recorded digest,
    # which the digest finding shows the channel serves.
    by_tag = reference.startswith(":") and reference[1:] == version
    findings = [
        _digest(registry, reference, recorded),
        _image(registry, recorded, record.image.id),
        _signature(manifest, registry, reference if by_tag else f"@{recorded}", pem),
    ]
    if pem is None:  # nothing in the registry can be checked: the tagged files are
        findings += [sbom_finding(manifest, record), provenance_finding(manifest, record)]
    else:
        by = record.push.attached_by  # the referrers API, or the fallback tags (None: tags)
        findings += [
            sbom_in_registry(manifest, registry, record, recorded, pem, by),
            provenance_in_registry(manifest, registry, record, recorded, pem, by=by),
        ]
    return Verdict(version, shown, tuple(findings))


def _digest(registry: RegistryClient, reference: str, recorded: str) -> Finding:
    served = reference[1:] if reference.startswith("@") else None
    if served is None:
        served = registry.manifest_digest(reference[1:])
    where = f"{registry.ref.name}{reference}"
    if served != recorded:
        return Finding(
            "digest", False, f"the registry serves {served} for {where}; released {recorded}"
        )
    return Finding("digest", True, f"the registry serves {served} for {where}: the released one")


def _image(registry: RegistryClient, digest: str, image_id: str) -> Finding:
    try:
        body, _, _ = registry.get_manifest(digest)
        config = str((json.loads(body).get("config") or {}).get("digest"))
    except (WorkbenchError, ValueError) as exc:
        return Finding("image", False, f"{digest} cannot be read from the registry ({exc})")
    if config != image_id:
        return Finding("image", False, f"{digest} points at {config}, not the tested {image_id}")
    return Finding("image", True, f"{digest} points at the tested image {config}")


def _signature(
    manifest: Manifest, registry: RegistryClient, reference: str, pem: str | None
) -> Finding:
    if pem is None:
        return Finding("signature", False, f"no `signing.public_key` in workbench.yaml: {MAKE_ONE}")
    ref = registry.ref
    outcome = skopeo.verify(ref, reference, pem, verify_scratch(manifest))
    policy = (
        f"skopeo, sigstoreSigned policy with {manifest.signing.public_key} (its copy of the "
        "image made in .workbench/verify and removed)"
    )
    if outcome.ok:
        return Finding("signature", True, f"{policy}: accepted {ref.name}{reference}")
    return Finding("signature", False, f"{policy}: refused {ref.name}{reference}: {outcome.said}")


def verify_scratch(manifest: Manifest) -> Path:
    """Where skopeo's copy of an image it accepts goes (removed after each verify)."""
    return scratch_dir(manifest.root, "verify", what="the verify scratch")


def signs(manifest: Manifest) -> bool:
    """Whether the project opted into signing: its releases are verified before they move."""
    return bool(manifest.signing.public_key or manifest.signing.required)


def require_verified(manifest: Manifest, version: str, unverified_reason: str | None) -> str | None:
    """Refuse to move or deploy a release that does not verify, unless a reason is given;
    the reason to record with the move (None: it verified, or the project signs nothing).

    A project that has not opted into signing (no `signing.public_key`, signing not
    required) is not verified here: its commands say so, and `workbench keys init` opts in."""
    if not signs(manifest):
        return None
    if unverified_reason is not None and not unverified_reason.strip():
        raise WorkbenchError(
            "--unverified-reason is empty.", fix="say why the unverified image may go out."
        )
    verdict = verify_release(manifest, version)
    if verdict.ok:
        return None
    if unverified_reason:
        return f"{unverified_reason.strip()} (failed: {verdict.failures()})"
    raise WorkbenchError(
        f"release {version} does not verify ({verdict.reference}): {verdict.failures()}; "
        "nothing was moved or deployed.",
        fix="push the release again (`workbench push` signs it), restore the registry's "
        "tag, or fix what is named; to go ahead regardless, give "
        '`--unverified-reason "why"` (it is recorded with the move).',
    )
