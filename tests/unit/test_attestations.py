"""The SBOM and provenance attached where cosign puts them (`sha256-<hex>.att` / `.sbom`), read
back and refused for each way they can be wrong; a registry in memory, a key in cosign's
encrypted format made here (scrypt with a small N, so the test is quick)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import hand_made_release
from workbench.kernel import dsse
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import sha256_text
from workbench.kernel.oci import ImageRef
from workbench.project.manifest import load_manifest
from workbench.project.records import ReleaseRecord
from workbench.project.releases import load_release, save_release
from workbench.project.scaffold import copy_example
from workbench.steps.push import attestations
from workbench.steps.push.attestations import (
    attach,
    attachment_tag,
    provenance_in_registry,
    sbom_in_registry,
)

PASSPHRASE = "unit-passphrase"
DIGEST = "sha256:" + "d1" * 32
IMAGE = "sha256:i"
SBOM = "releases/1.0.0.sbom.cdx.json"
PROVENANCE = "releases/1.0.0.provenance.json"


class MemoryRegistry:
    """The distribution API's blobs and manifests, in memory."""

    def __init__(self) -> None:
        self.ref = ImageRef.parse("127.0.0.1:5000/unit/iris")
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, bytes] = {}

    def put_blob(self, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return digest

    def get_blob(self, digest: str) -> bytes:
        if digest not in self.blobs:
            raise WorkbenchError(f"no blob {digest}")
        return self.blobs[digest]

    def put_manifest(self, tag: str, body: bytes, media_type: str) -> str:
        self.manifests[tag] = body
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def manifest_digest(self, tag: str) -> str | None:
        body = self.manifests.get(tag)
        return None if body is None else "sha256:" + hashlib.sha256(body).hexdigest()

    def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        if reference not in self.manifests:
            raise WorkbenchError(f"no {reference}")
        return self.manifests[reference], "", ""


def _key_pair(folder: Path) -> tuple[Path, str]:
    """An encrypted private key in cosign's format and its public PEM."""
    import nacl.secret
    import nacl.utils
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    salt, nonce = os.urandom(32), nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    secret = hashlib.scrypt(PASSPHRASE.encode(), salt=salt, n=1024, r=8, p=1, dklen=32)
    sealed = nacl.secret.SecretBox(secret).encrypt(der, nonce).ciphertext
    document = {
        "kdf": {"name": "scrypt", "params": {"N": 1024, "r": 8, "p": 1}, "salt": _b64(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": _b64(nonce)},
        "ciphertext": _b64(sealed),
    }
    path = folder / f"key-{os.urandom(4).hex()}.private"
    body = base64.b64encode(json.dumps(document).encode()).decode()
    path.write_text(
        f"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{body}\n"
        "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public.decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _documents(image: str = IMAGE) -> dict[str, str]:
    sbom = {
        "bomFormat": "CycloneDX",
        "metadata": {
            "component": {"properties": [{"name": "io.workbench.image-id", "value": image}]}
        },
    }
    provenance = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": image.split(":")[1]}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "workbench"}, "runDetails": {}},
    }
    return {SBOM: json.dumps(sbom), PROVENANCE: json.dumps(provenance)}


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ReleaseRecord]:
    """Release 1.0.0 whose manifest hashes its SBOM and provenance, read "at its tag" from
    memory; pushed as DIGEST."""
    folder = copy_example("iris", tmp_path / "iris")
    manifest = load_manifest(folder)
    hand_made_release(manifest, "1.0.0", [])
    record = load_release(manifest, "1.0.0")
    texts = _documents()
    record.hashes.files.update({k: sha256_text(v) for k, v in texts.items()})
    record.push.pushed, record.push.digest = True, DIGEST
    save_release(manifest, record)

    def at_tag(_manifest: Any, _record: ReleaseRecord) -> Any:
        return lambda relative: (texts.get(relative), "the tagged commit v1.0.0")

    monkeypatch.setattr(attestations, "at_tag", at_tag)
    return manifest, record


def _findings(manifest: Any, registry: MemoryRegistry, record: ReleaseRecord, pem: str) -> Any:
    return (
        sbom_in_registry(manifest, registry, record, DIGEST, pem),  # type: ignore[arg-type]
        provenance_in_registry(manifest, registry, record, DIGEST, pem),  # type: ignore[arg-type]
    )


def test_attached_attestations_read_back_in_cosigns_layout(
    release: tuple[Any, ReleaseRecord], tmp_path: Path
) -> None:
    manifest, record = release
    registry = MemoryRegistry()
    key, pem = _key_pair(tmp_path)
    made = attach(manifest, registry, record, DIGEST, (key, PASSPHRASE, pem))  # type: ignore[arg-type]
    assert made["att"] == registry.manifest_digest(attachment_tag(DIGEST, "att"))
    assert made["sbom"] == registry.manifest_digest(attachment_tag(DIGEST, "sbom"))
    att = json.loads(registry.manifests[attachment_tag(DIGEST, "att")])
    kinds = [layer["annotations"]["predicateType"] for layer in att["layers"]]
    assert kinds == ["https://slsa.dev/provenance/v1", "https://cyclonedx.org/bom"]
    assert {layer["mediaType"] for layer in att["layers"]} == {
        "application/vnd.dsse.envelope.v1+json"
    }
    sbom_layer = json.loads(registry.manifests[attachment_tag(DIGEST, "sbom")])["layers"][0]
    assert sbom_layer["mediaType"] == "application/vnd.cyclonedx+json"
    assert sbom_layer["digest"] == record.hashes.files[SBOM]  # the committed bytes
    sbom, provenance = _findings(manifest, registry, record, pem)
    assert sbom.ok and provenance.ok, (sbom, provenance)
    assert "hashing " + record.hashes.files[SBOM] in sbom.evidence
    assert "DSSE signature verifies" in provenance.evidence


def test_each_wrong_attachment_is_refused_for_its_cause(
    release: tuple[Any, ReleaseRecord], tmp_path: Path
) -> None:
    manifest, record = release
    key, pem = _key_pair(tmp_path)
    other_key, other_pem = _key_pair(tmp_path)

    nothing = MemoryRegistry()
    sbom, provenance = _findings(manifest, nothing, record, pem)
    assert not sbom.ok and "no readable sha256-" in sbom.evidence
    assert not provenance.ok and "no readable sha256-" in provenance.evidence

    another_key = MemoryRegistry()
    attach(manifest, another_key, record, DIGEST, (other_key, PASSPHRASE, other_pem))  # type: ignore[arg-type]
    _, provenance = _findings(manifest, another_key, record, pem)
    assert "not the project's key's" in provenance.evidence

    another_digest = MemoryRegistry()  # attestations of another image moved under this tag
    other = "sha256:" + "e2" * 32
    attach(manifest, another_digest, record, other, (key, PASSPHRASE, pem))  # type: ignore[arg-type]
    for kind in ("att", "sbom"):
        another_digest.manifests[attachment_tag(DIGEST, kind)] = another_digest.manifests[
            attachment_tag(other, kind)
        ]
    sbom, provenance = _findings(manifest, another_digest, record, pem)
    assert not sbom.ok and f"not the pushed {DIGEST}" in sbom.evidence
    assert not provenance.ok and f"not the pushed {DIGEST}" in provenance.evidence

    edited = MemoryRegistry()  # an SBOM swapped in the registry after the push
    attach(manifest, edited, record, DIGEST, (key, PASSPHRASE, pem))  # type: ignore[arg-type]
    swapped = _documents(image="sha256:other")[SBOM].encode()
    layer = {"mediaType": "application/vnd.cyclonedx+json", "digest": edited.put_blob(swapped)}
    edited.manifests[attachment_tag(DIGEST, "sbom")] = json.dumps({"layers": [layer]}).encode()
    sbom, _ = _findings(manifest, edited, record, pem)
    assert not sbom.ok and f"released {record.hashes.files[SBOM]}" in sbom.evidence


def test_a_wrong_passphrase_is_named_and_never_shown(tmp_path: Path) -> None:
    key, pem = _key_pair(tmp_path)
    with pytest.raises(WorkbenchError) as refused:
        dsse.sign_statements([b"{}"], key, pem, "not-the-passphrase")
    assert "does not open the signing key" in str(refused.value)
    assert "not-the-passphrase" not in str(refused.value)
