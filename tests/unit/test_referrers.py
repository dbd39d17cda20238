"""The OCI referrers API where the registry has it, cosign's fallback tags where it does not:
the push's choice, the artifacts it puts (subject and artifactType), and verify reading them
back through the referrers list. No registry with the referrers API runs on this machine
(Debian's answers 404; zot is not packaged), so a small registry double on loopback speaks
the distribution API's manifests, blobs and `GET /v2/<name>/referrers/<digest>` (spec 1.1,
paged with `Link`); the real `RegistryClient` talks to it over HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.unit.test_attestations import PASSPHRASE, _key_pair, release  # noqa: F401
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import MAX_REFERRER_PAGES, ImageRef, RegistryClient
from workbench.project.manifest import load_manifest
from workbench.project.records import ReleaseRecord
from workbench.steps.push import signing
from workbench.steps.push.attestations import (
    attach,
    attachment_tag,
    provenance_in_registry,
    sbom_in_registry,
)
from workbench.steps.push.referrers import (
    ARTIFACT_TYPES,
    choose,
    confirm_listed,
    still_attached,
)

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryDouble:
    """Manifests, blobs and (unless `referrers` is False) the referrers API of one loopback
    registry; `page` referrers per page, `endless` pages that always name a next one."""

    def __init__(self, referrers: bool = True, page: int = 2, endless: bool = False) -> None:
        self.manifests: dict[str, bytes] = {}  # by digest
        self.tags: dict[str, str] = {}  # tag -> digest
        self.blobs: dict[str, bytes] = {}
        self.asked: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                double.answer(self, "HEAD")

            def do_GET(self) -> None:
                double.answer(self, "GET")

            def do_PUT(self) -> None:
                double.answer(self, "PUT")

            def do_POST(self) -> None:
                double.answer(self, "POST")

            def log_message(self, *_: object) -> None:
                pass

        self.referrers, self.page, self.endless = referrers, page, endless
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.ref = ImageRef.parse(f"127.0.0.1:{self.httpd.server_address[1]}/unit/iris")
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def client(self) -> RegistryClient:
        return RegistryClient(self.ref)

    def answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        self.asked.append(f"{method} {url.path}")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        parts = url.path.split("/")  # "", "v2", "unit", "iris", kind, reference...
        kind, reference = (parts[4], "/".join(parts[5:])) if len(parts) > 5 else ("", "")
        status, data, headers = 200, b"", {}
        if kind == "manifests":
            status, data, headers = self._manifest(method, reference, body)
        elif kind == "blobs" and reference.startswith("uploads"):
            status, headers = 202, {"Location": f"/v2/unit/iris/blobs/uploads/{uuid.uuid4()}"}
            if method == "PUT":
                self.blobs[parse_qs(url.query)["digest"][0]] = body
                status = 201
        elif kind == "blobs":
            status, data = (200, self.blobs[reference]) if reference in self.blobs else (404, b"")
        elif kind == "referrers":
            status, data, headers = self._referrers(reference, parse_qs(url.query))
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)

    def _manifest(
        self, method: str, reference: str, body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        if method == "PUT":
            digest = _digest(body)
            self.manifests[digest] = body
            if not reference.startswith("sha256:"):
                self.tags[reference] = digest
            return 201, b"", {"Docker-Content-Digest": digest}
        digest = self.tags.get(reference, reference)
        if digest not in self.manifests:
            return 404, b"", {}
        data = self.manifests[digest]
        media_type = json.loads(data).get("mediaType", MANIFEST)
        return 200, data, {"Docker-Content-Digest": digest, "Content-Type": media_type}

    def _referrers(
        self, digest: str, query: dict[str, list[str]]
    ) -> tuple[int, bytes, dict[str, str]]:
        if not self.referrers:
            return 404, b'{"errors":[{"code":"UNSUPPORTED"}]}', {}
        listed = []
        for stored, body in self.manifests.items():
            document = json.loads(body)
            if (document.get("subject") or {}).get("digest") == digest:
                listed.append(
                    {
                        "mediaType": MANIFEST,
                        "digest": stored,
                        "size": len(body),
                        "artifactType": document.get("artifactType"),
                    }
                )
        start = int(query.get("last", ["0"])[0])
        shown = listed[start : start + self.page]
        headers = {"Content-Type": INDEX}
        if self.endless or start + self.page < len(listed):
            following = start if self.endless else start + self.page
            path = f"/v2/unit/iris/referrers/{digest}?last={following}"
            headers["Link"] = f'<http://elsewhere.example{path}>; rel="next"'
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": shown}
        return 200, json.dumps(index).encode(), headers


@pytest.fixture
def doubles() -> Iterator[list[RegistryDouble]]:
    made: list[RegistryDouble] = []
    yield made
    for double in made:
        double.stop()


def _pushed_image(client: RegistryClient) -> str:
    """A tiny image manifest tagged 1.0.0; its digest."""
    config = client.put_blob(b'{"architecture":"amd64","os":"linux"}')
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config},
        "layers": [],
    }
    client.put_manifest("1.0.0", json.dumps(body).encode(), MANIFEST)
    digest = client.manifest_digest("1.0.0")
    assert digest is not None
    return digest


def _sign_with_a_fake_skopeo(monkeypatch: pytest.MonkeyPatch, key: Path, pem: str) -> None:
    """skopeo's signing replaced by what it leaves in a registry: a `.sig` image."""

    def sign_pushed(_m: Any, registry: RegistryClient, _v: str, digest: str, _p: str) -> str:
        layer = registry.put_blob(b'{"critical":{}}')
        body = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": layer},
            "layers": [
                {
                    "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": layer,
                    "annotations": {"dev.cosignproject.cosign/signature": "MEUC"},
                }
            ],
        }
        tag = attachment_tag(digest, "sig")
        registry.put_manifest(tag, json.dumps(body).encode(), MANIFEST)
        return str(registry.manifest_digest(tag))

    monkeypatch.setattr(signing, "sign_pushed", sign_pushed)
    monkeypatch.setattr(signing, "signing_key", lambda _m: key)
    monkeypatch.setattr(signing, "public_key_pem", lambda _m: pem)


def test_a_registry_without_the_api_gets_the_fallback_tags_and_says_why(
    doubles: list[RegistryDouble],
    release: tuple[Any, ReleaseRecord],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manifest, record = release
    double = RegistryDouble(referrers=False)
    doubles.append(double)
    client = double.client()
    digest = _pushed_image(client)
    placement = choose(client, digest)
    assert placement.by == "tags"
    assert placement.said == (
        "fallback tags: the registry has no referrers API "
        f"(GET /v2/unit/iris/referrers/{digest} answered 404)"
    )
    key, pem = _key_pair(tmp_path)
    _sign_with_a_fake_skopeo(monkeypatch, key, pem)
    record.push.digest = digest
    signed = signing.sign_and_attest(manifest, client, record, digest, PASSPHRASE)
    assert signed.placement.by == "tags"
    hexed = digest.replace(":", "-")
    assert {f"{hexed}.sig", f"{hexed}.att", f"{hexed}.sbom"} <= set(double.tags)
    assert signed.attestations == double.tags[f"{hexed}.att"]
    assert not any("subject" in json.loads(body) for body in double.manifests.values())


def test_a_registry_with_the_api_gets_artifacts_that_verify_reads_from_its_list(
    doubles: list[RegistryDouble],
    release: tuple[Any, ReleaseRecord],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    manifest, record = release
    double = RegistryDouble(page=2)  # three referrers: two pages, the second through `Link`
    doubles.append(double)
    client = double.client()
    digest = _pushed_image(client)
    assert choose(client, digest).said == (
        f"referrers API (GET /v2/unit/iris/referrers/{digest} answered an OCI image index "
        "(0 referrers))"
    )
    key, pem = _key_pair(tmp_path)
    _sign_with_a_fake_skopeo(monkeypatch, key, pem)
    record.push.digest = digest
    signed = signing.sign_and_attest(manifest, client, record, digest, PASSPHRASE)
    assert signed.placement.by == "referrers"
    hexed = digest.replace(":", "-")
    assert set(double.tags) == {"1.0.0", f"{hexed}.sig"}  # skopeo's .sig; nothing else tagged
    listed, said = client.referrers(digest)
    assert listed is not None and "(3 referrers)" in said
    image = double.manifests[digest]
    for kind, artifact_type in ARTIFACT_TYPES.items():
        (descriptor,) = [d for d in listed if d["artifactType"] == artifact_type]
        artifact = json.loads(double.manifests[descriptor["digest"]])
        assert artifact["artifactType"] == artifact_type, kind
        assert artifact["subject"] == {"mediaType": MANIFEST, "digest": digest, "size": len(image)}
    sig = next(d for d in listed if d["artifactType"] == ARTIFACT_TYPES["sig"])
    by_tag = json.loads(double.manifests[double.tags[f"{hexed}.sig"]])
    assert json.loads(double.manifests[sig["digest"]])["layers"] == by_tag["layers"]
    assert signed.attestations == next(
        d["digest"] for d in listed if d["artifactType"] == ARTIFACT_TYPES["att"]
    )
    assert still_attached(client, digest, "referrers", signed.attestations)

    sbom = sbom_in_registry(manifest, client, record, digest, pem, "referrers")
    provenance = provenance_in_registry(manifest, client, record, digest, pem, by="referrers")
    assert sbom.ok and provenance.ok, (sbom, provenance)
    assert f"the referrer {signed.attestations} (listed by the referrers API as " in (
        provenance.evidence
    )
    assert "application/vnd.dev.cosign.artifact.att.v1+json)" in provenance.evidence
    assert "application/vnd.dev.cosign.artifact.sbom.v1+json) holds" in sbom.evidence
    # Read by the fallback tags, the same registry holds none: the choice is what is read.
    by_tags = sbom_in_registry(manifest, client, record, digest, pem, "tags")
    assert not by_tags.ok and f"no readable {hexed}.sbom" in by_tags.evidence


def test_a_referrer_signed_by_another_key_neither_passes_nor_hides_ours(
    doubles: list[RegistryDouble],
    release: tuple[Any, ReleaseRecord],  # noqa: F811
    tmp_path: Path,
) -> None:
    manifest, record = release
    double = RegistryDouble(page=10)
    doubles.append(double)
    client = double.client()
    digest = _pushed_image(client)
    key, pem = _key_pair(tmp_path)
    other_key, other_pem = _key_pair(tmp_path)

    nothing = provenance_in_registry(manifest, client, record, digest, pem, by="referrers")
    assert not nothing.ok
    assert nothing.evidence == (
        f"no readable att attachment of {digest}: none listed by the referrers API as "
        "application/vnd.dev.cosign.artifact.att.v1+json"
    )
    attach(manifest, client, record, digest, (other_key, PASSPHRASE, other_pem), "referrers")
    foreign = provenance_in_registry(manifest, client, record, digest, pem, by="referrers")
    assert not foreign.ok and "its DSSE signature is not the project's key's" in foreign.evidence
    ours = attach(manifest, client, record, digest, (key, PASSPHRASE, pem), "referrers")
    both = provenance_in_registry(manifest, client, record, digest, pem, by="referrers")
    assert both.ok and f"the referrer {ours['att']}" in both.evidence
    assert sbom_in_registry(manifest, client, record, digest, pem, "referrers").ok
    assert not still_attached(client, digest, "referrers", "sha256:" + "0" * 64)


def test_an_artifact_the_registry_does_not_list_is_refused(
    doubles: list[RegistryDouble],
) -> None:
    double = RegistryDouble()
    doubles.append(double)
    client = double.client()
    digest = _pushed_image(client)
    with pytest.raises(WorkbenchError) as refused:
        confirm_listed(client, digest, {"att": "sha256:" + "a" * 64})
    assert f"the registry took the att artifacts of {digest}, but its referrers list" in str(
        refused.value
    )


def test_a_referrers_list_that_never_ends_is_read_a_bounded_number_of_pages(
    doubles: list[RegistryDouble],
) -> None:
    double = RegistryDouble(endless=True)
    doubles.append(double)
    client = double.client()
    digest = _pushed_image(client)
    with pytest.raises(WorkbenchError) as refused:
        client.referrers(digest)
    assert f"more than {MAX_REFERRER_PAGES} pages of referrers" in str(refused.value)
    pages = [a for a in double.asked if a.startswith("GET /v2/unit/iris/referrers/")]
    assert len(pages) == MAX_REFERRER_PAGES  # and every page asked of the registry itself


def test_an_answer_that_is_not_an_oci_index_means_no_api() -> None:
    from workbench.kernel import oci
    from workbench.kernel.http import Response

    client = RegistryClient(ImageRef.parse("127.0.0.1:1/unit/iris"))
    for body in (b"<html>", b'{"manifests": []}', b'{"mediaType": "%s"}' % INDEX.encode()):
        answer = Response(200, {"content-type": "application/json"}, body)
        client._send = lambda *_a, _answer=answer, **_k: _answer  # type: ignore[method-assign]
        listed, said = client.referrers("sha256:" + "1" * 64)
        assert listed is None and "answered" in said, body
    assert oci._next_page('<http://x/v2/a/referrers/d?n=1&last=2>; rel="next"') == (
        "/v2/a/referrers/d?n=1&last=2"
    )


def test_verify_reads_a_release_pushed_through_the_referrers_api_from_its_list(
    doubles: list[RegistryDouble],
    release: tuple[Any, ReleaseRecord],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`workbench verify` on a release whose push recorded `attached_by: referrers`: the SBOM
    and provenance are found in the referrers list (skopeo's verdict on the `.sig` stubbed:
    it needs a real registry and is tested in the functional supply-chain test)."""
    from workbench.kernel import skopeo
    from workbench.project.releases import save_release
    from workbench.steps.push import verify

    manifest, record = release
    double = RegistryDouble()
    doubles.append(double)
    client = double.client()
    digest = _pushed_image(client)
    key, pem = _key_pair(tmp_path)
    _sign_with_a_fake_skopeo(monkeypatch, key, pem)
    record.push.digest = digest
    signed = signing.sign_and_attest(manifest, client, record, digest, PASSPHRASE)
    record.push.signed, record.push.signature = True, signed.signature
    record.push.attestations, record.push.attached_by = signed.attestations, "referrers"
    save_release(manifest, record)
    with manifest.path.open("a") as manifest_file:
        manifest_file.write(f"registry: {double.ref.name}\n")
    manifest = load_manifest(manifest.root)
    monkeypatch.setattr(verify, "client_for", lambda _registry: client)
    monkeypatch.setattr(verify, "public_key_pem", lambda _m: pem)
    monkeypatch.setattr(skopeo, "verify", lambda *_a, **_k: skopeo.Outcome(True, "ok"))
    verdict = verify.verify_release(manifest, "1.0.0")
    found = {f.what: f.ok for f in verdict.findings}
    # the double's image config is not the fixture's image id (its SBOM names `sha256:i`)
    assert found == {"digest": True, "image": False, "signature": True, "sbom": True,
                     "provenance": True}  # fmt: skip
    evidence = {f.what: f.evidence for f in verdict.findings}
    assert (
        f"the referrer {signed.attestations} (listed by the referrers API"
        in (evidence["provenance"])
    )
    record.push.attached_by = "tags"  # read where the push did not put them: refused
    save_release(manifest, record)
    refused = verify.verify_release(manifest, "1.0.0")
    failed = {f.what for f in refused.findings if not f.ok}
    assert failed == {"image", "sbom", "provenance"}
    assert "provenance: no readable sha256-" in refused.failures()
