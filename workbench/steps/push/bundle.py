"""Air-gap bundles: `workbench export VERSION -o FILE.tar` and `workbench verify FILE.tar`.

The bundle is one tar: `image/`, the pushed image by digest with its sigstore signature,
as skopeo's `dir:` layout writes it (manifest, config and layers as files, the signature as
`signature-1`; skopeo's `oci:` layout keeps no signatures), and `release/`: the release
manifest, its SBOM, provenance and frozen checklist as the release's git tag holds them,
plus `bundle.json` naming the repository and digest; and, for a release attested in the
registry, `attached/att/` and `attached/sbom/`: its `sha256-<hex>.att` and `.sbom` images
(cosign's layout, `attestations.py`; from a registry with the referrers API, the artifacts
referring to the digest), copied the same way, and imported under the fallback tags.
Verifying it needs no registry and no network: skopeo checks the signature against the
project's public key (the key inside a bundle would prove nothing), and the workbench hashes
the manifest, SBOM and provenance against the release manifest, and reads the attached
statements as `verify` reads them in a registry. `import` pushes the image, its signature
and its attachments.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from workbench.kernel import skopeo
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import ImageRef, client_for
from workbench.project.manifest import Manifest
from workbench.project.records import ReleaseRecord
from workbench.project.releases import frozen_checklist_path, load_release, release_path
from workbench.steps.push.attestations import (
    FolderAttachments,
    attachment_tag,
    provenance_in_registry,
    sbom_in_registry,
)
from workbench.steps.push.documents import Finding, at_tag, provenance_finding, sbom_finding
from workbench.steps.push.keys import MAKE_ONE, public_key_pem
from workbench.steps.push.referrers import references
from workbench.steps.push.verify import Verdict, verify_scratch
from workbench.steps.tag.provenance import provenance_path
from workbench.steps.tag.sbom import sbom_path


class BundleInfo(msgspec.Struct):
    version: str
    repository: str
    digest: str
    image_id: str
    files: list[str]  # under release/, relative to the project
    attached: list[str] = []  # attachments under attached/: "att", "sbom"


@dataclass(frozen=True)
class Exported:
    path: Path
    size: int
    digest: str


def export_release(manifest: Manifest, version: str, out: Path) -> Exported:
    record = load_release(manifest, version)
    digest = record.push.digest
    if not manifest.registry or not record.push.pushed or not digest:
        raise WorkbenchError(
            f"release {version} is not pushed, so there is no signed image to bundle.",
            fix=f"run `workbench push {version}` first.",
        )
    if not record.push.signed:
        raise WorkbenchError(
            f"release {version} is not signed; a bundle without a signature cannot be "
            "verified where it goes.",
            fix=f"{MAKE_ONE}; then `workbench push {version}` signs it.",
        )
    ref = ImageRef.parse(manifest.registry)
    documents = _release_documents(manifest, record)
    with skopeo.thrown_away(verify_scratch(manifest)) as folder:
        folder.mkdir()
        copied = skopeo.copy_out(ref, digest, folder / "image")
        if not copied.ok:
            raise WorkbenchError(
                f"skopeo could not copy {ref.name}@{digest} out of the registry: {copied.said}.",
                fix="check that the registry is reachable, then export again.",
            )
        attached = _copy_attachments_out(ref, record, folder / "attached")
        info = BundleInfo(version, ref.name, digest, record.image.id, sorted(documents), attached)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        with tarfile.open(partial, "w") as bundle:
            _add(bundle, "bundle.json", msgspec.json.encode(info))
            for relative, text in documents.items():
                _add(bundle, f"release/{relative}", text.encode())
            bundle.add(str(folder / "image"), arcname="image")
            for kind in attached:
                bundle.add(str(folder / "attached" / kind), arcname=f"attached/{kind}")
        partial.replace(out)
    return Exported(out, out.stat().st_size, digest)


def _copy_attachments_out(ref: ImageRef, record: ReleaseRecord, into: Path) -> list[str]:
    """The release's `.att` and `.sbom` images copied out of the registry into `into`; the
    kinds copied (none for a release the push did not attest)."""
    digest = str(record.push.digest)
    if not record.push.attestations:
        return []
    registry = client_for(ref.name)
    kinds = []
    by = record.push.attached_by
    for kind in ("att", "sbom"):
        tag = attachment_tag(digest, kind)
        places, _ = references(registry, digest, kind, by)
        if by == "referrers":  # the artifacts referring to the digest: the recorded .att first
            places.sort(key=lambda place: place != record.push.attestations)
            stored = places[0] if places else None
        else:
            stored = registry.manifest_digest(tag)
        if stored is None:
            raise WorkbenchError(
                f"the registry holds no {tag if by != 'referrers' else kind + ' referrer'} of "
                f"{digest}, which the push of {record.version} attached.",
                fix=f"run `workbench push {record.version}` again (it attaches them), then export.",
            )
        into.mkdir(exist_ok=True)
        copied = skopeo.copy_out(ref, stored, into / kind)
        if not copied.ok:
            raise WorkbenchError(
                f"skopeo could not copy {ref.name}:{tag} out of the registry: {copied.said}.",
                fix="check that the registry is reachable, then export again.",
            )
        kinds.append(kind)
    return kinds


def bundled_attachments(folder: Path, info: BundleInfo) -> FolderAttachments:
    return FolderAttachments(
        {attachment_tag(info.digest, k): folder / "attached" / k for k in info.attached}
    )


def _add(bundle: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    entry = tarfile.TarInfo(name)
    entry.size = len(data)
    bundle.addfile(entry, io.BytesIO(data))


def _release_documents(manifest: Manifest, record: ReleaseRecord) -> dict[str, str]:
    """The release manifest (as committed now: it records the push) and, from its tag, the
    SBOM, provenance and frozen checklist."""
    root = manifest.root
    read = at_tag(manifest, record)
    committed = release_path(manifest, record.version)
    out = {str(committed.relative_to(root)): committed.read_text()}
    for path in (
        sbom_path(manifest, record.version),
        provenance_path(manifest, record.version),
        frozen_checklist_path(manifest, record.version),
    ):
        relative = str(path.relative_to(root))
        text, where = read(relative)
        if text is None:
            raise WorkbenchError(
                f"{relative} is not in {where}; the release is not whole.",
                fix="restore it from the tag, or release a new version.",
            )
        out[relative] = text
    return out


def _safe_members(bundle: tarfile.TarFile, into: Path) -> None:
    for member in bundle.getmembers():
        target = (into / member.name).resolve()
        if into.resolve() not in target.parents or not (member.isfile() or member.isdir()):
            raise WorkbenchError(
                f"the bundle holds {member.name!r}, which is not a plain file inside it.",
                fix="export the bundle again from the project.",
            )
    bundle.extractall(into, filter="data")


@contextmanager
def _opened(manifest: Manifest, path: Path) -> Iterator[tuple[Path, BundleInfo]]:
    """The bundle unpacked into a folder of the project's `.workbench/verify` (on the
    project's disk, not a small /tmp; removed afterwards), and what it names."""
    with skopeo.thrown_away(verify_scratch(manifest)) as folder:
        folder.mkdir()
        try:
            with tarfile.open(path) as bundle:
                _safe_members(bundle, folder)
            info = msgspec.json.decode((folder / "bundle.json").read_bytes(), type=BundleInfo)
            if not set(info.attached) <= {"att", "sbom"}:
                raise msgspec.DecodeError(f"unknown attachments {info.attached}")
        except (OSError, tarfile.TarError, msgspec.DecodeError) as exc:
            raise WorkbenchError(
                f"{path} is not a workbench bundle ({exc}).",
                fix="export it again with `workbench export VERSION -o FILE.tar`.",
            ) from None
        yield folder, info


def _key(manifest: Manifest) -> str:
    pem = public_key_pem(manifest)
    if pem is None:
        raise WorkbenchError(
            "no `signing.public_key` in workbench.yaml to verify the bundle with.",
            fix="verify it in the project that released it (its public key is committed).",
        )
    return pem


def verify_bundle(manifest: Manifest, path: Path) -> Verdict:
    """Verify a bundle with no registry and no network."""
    pem = _key(manifest)
    with _opened(manifest, path) as (folder, info):
        return _verify_opened(manifest, path, folder, info, pem)


def _verify_opened(
    manifest: Manifest, path: Path, folder: Path, info: BundleInfo, pem: str
) -> Verdict:
    record = _bundled_record(manifest, folder, info, path)

    def read(relative: str) -> tuple[str | None, str]:
        file = folder / "release" / relative
        return (file.read_text() if file.is_file() else None), f"the bundle {path.name}"

    findings = [
        _same_release(manifest, record),
        _manifest_digest(folder / "image", info, record),
        _signature(folder / "image", info.repository, pem, manifest),
    ]
    findings += [sbom_finding(manifest, record, read), provenance_finding(manifest, record, read)]
    if info.attached:  # the attached statements too, read as verify reads a registry's
        attachments = bundled_attachments(folder, info)
        findings += [
            dataclasses.replace(f, what=f"attached {f.what}")
            for f in (
                sbom_in_registry(manifest, attachments, record, info.digest, pem),
                provenance_in_registry(manifest, attachments, record, info.digest, pem, read),
            )
        ]
    return Verdict(info.version, f"{path.name}: {info.repository}@{info.digest}", tuple(findings))


def import_bundle(manifest: Manifest, path: Path, registry: str) -> Verdict:
    """Verify the bundle, push its image with its signature into `registry` (its digest
    kept), and verify it there: skopeo accepts the signature made for the original
    repository (a `remapIdentity` policy), and the registry serves the released digest."""
    pem = _key(manifest)
    target = ImageRef.parse(registry)
    with _opened(manifest, path) as (folder, info):
        before = _verify_opened(manifest, path, folder, info, pem)
        if not before.ok:
            raise WorkbenchError(
                f"{path.name} does not verify ({before.failures()}); nothing was imported.",
                fix="export the release again from the project that made it.",
            )
        copies = {info.version: folder / "image"} | {
            attachment_tag(info.digest, k): folder / "attached" / k for k in info.attached
        }
        for tag, source in copies.items():
            pushed = skopeo.copy_in(source, target, tag)
            if not pushed.ok:
                raise WorkbenchError(
                    f"skopeo could not push the bundle to {target.tagged(tag)}: {pushed.said}.",
                    fix="check the registry and your `docker login` to it, then import again.",
                )
        record = _bundled_record(manifest, folder, info, path)
    served = client_for(registry).manifest_digest(info.version)
    accepted = skopeo.verify(
        target, f":{info.version}", pem, verify_scratch(manifest), signed_repository=info.repository
    )
    policy = f"skopeo, sigstoreSigned policy with {manifest.signing.public_key}"
    findings = [
        Finding(
            "digest",
            served == info.digest,
            f"{target.tagged(info.version)} serves {served}; released {info.digest}",
        ),
        Finding(
            "signature",
            accepted.ok,
            f"{policy} (signed for {info.repository}): "
            + ("accepted" if accepted.ok else f"refused: {accepted.said}"),
        ),
    ]
    if info.attached:  # read back from the registry it went to
        client = client_for(registry)
        findings += [
            sbom_in_registry(manifest, client, record, info.digest, pem),
            provenance_in_registry(manifest, client, record, info.digest, pem),
        ]
    return Verdict(info.version, target.tagged(info.version), before.findings + tuple(findings))


def _bundled_record(
    manifest: Manifest, folder: Path, info: BundleInfo, path: Path
) -> ReleaseRecord:
    from workbench.project.records import read_record

    relative = release_path(manifest, info.version).relative_to(manifest.root)
    return read_record(
        folder / "release" / relative, ReleaseRecord, what=f"release manifest in {path.name}"
    )


def _same_release(manifest: Manifest, bundled: ReleaseRecord) -> Finding:
    """The bundle's release manifest is the project's own (hashes, image, push)."""
    try:
        own = load_release(manifest, bundled.version)
    except WorkbenchError:
        return Finding("release", False, f"this project has no release {bundled.version}")
    same = (own.hashes, own.image, own.push.digest) == (
        bundled.hashes,
        bundled.image,
        bundled.push.digest,
    )
    if not same:
        return Finding(
            "release",
            False,
            f"the bundle's manifest of {bundled.version} differs from the project's",
        )
    return Finding(
        "release", True, f"the bundle's manifest of {bundled.version} equals the project's"
    )


def _manifest_digest(image: Path, info: BundleInfo, record: ReleaseRecord) -> Finding:
    body = (image / "manifest.json").read_bytes()
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    config = str((json.loads(body).get("config") or {}).get("digest"))
    if digest != info.digest or digest != record.push.digest:
        return Finding(
            "digest", False, f"the bundle's manifest is {digest}; released {record.push.digest}"
        )
    if config != record.image.id:
        return Finding("digest", False, f"{digest} points at {config}, not {record.image.id}")
    return Finding(
        "digest", True, f"the bundle's manifest is {digest}, the released one, of {config}"
    )


def _signature(image: Path, repository: str, pem: str, manifest: Manifest) -> Finding:
    outcome = skopeo.verify_folder(image, repository, pem, verify_scratch(manifest))
    policy = f"skopeo, sigstoreSigned policy with {manifest.signing.public_key}, no registry"
    if outcome.ok:
        return Finding("signature", True, f"{policy}: accepted the bundle's image")
    return Finding("signature", False, f"{policy}: refused the bundle's image: {outcome.said}")


def is_bundle(target: str | None) -> bool:
    return bool(target) and str(target).endswith(".tar") and Path(str(target)).is_file()
