"""A small client of the OCI distribution API, and the user's registry credentials.

Credentials come from the Docker configuration (`$DOCKER_CONFIG/config.json`:
`auths`, `credHelpers`, `credsStore`), exactly where `docker login` put them.
They are sent to the registry and nowhere else: never printed, logged or
written by us, and no error message contains them.

A registry that answers 401 names a token service (its `realm`); whoever runs the
registry, or sits between us and a plain-HTTP one, chooses that URL. Credentials go
to a realm only over HTTPS on the registry's own host, over plain HTTP only to the
very loopback registry the user named (same host and port), or to a host the user
listed in `WORKBENCH_TRUSTED_REALMS` (comma-separated, e.g. `auth.docker.io`);
anywhere else they are not sent, and the error names the realm and why.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import Response, request

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MAX_REFERRER_PAGES = 20  # pages of a referrers list followed through `Link` (spec 1.1)


@dataclass(frozen=True)
class ImageRef:
    host: str
    repository: str

    @classmethod
    def parse(cls, registry: str) -> ImageRef:
        host, _, repository = registry.partition("/")
        return cls(host, repository)

    def tagged(self, tag: str) -> str:
        return f"{self.host}/{self.repository}:{tag}"

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}"

    @property
    def base_url(self) -> str:
        plain = self.host.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
        return f"{'http' if plain else 'https'}://{self.host}"


TRUSTED_REALMS_VARIABLE = "WORKBENCH_TRUSTED_REALMS"


def realm_refusal(ref: ImageRef, realm: str) -> str | None:
    """Why credentials for `ref`'s registry must not go to the token service `realm`, or
    None when they may."""
    parts = urllib.parse.urlsplit(realm)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL"
    registry = urllib.parse.urlsplit(ref.base_url)
    trusted = {
        host.strip().lower()
        for host in os.environ.get(TRUSTED_REALMS_VARIABLE, "").split(",")
        if host.strip()
    }
    realm_host = parts.hostname.lower()
    if parts.scheme == "http":
        if registry.scheme == "http" and parts.netloc.lower() == registry.netloc.lower():
            return None  # the loopback registry the user named, on the same port
        return "plain HTTP to a host other than the loopback registry itself"
    if realm_host == (registry.hostname or "").lower():
        return None
    if realm_host in trusted or parts.netloc.lower() in trusted:
        return None
    return f"another host than the registry's ({ref.host}), not in {TRUSTED_REALMS_VARIABLE}"


def docker_config_path() -> Path:
    return Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"


def credentials(host: str) -> tuple[str, str] | None:
    """(username, password) for `host` from the Docker configuration, or None.

    Read through the docker SDK's own auth helpers (`auths`, `credHelpers`,
    `credsStore`), so a credential helper works exactly as it does for `docker push`.
    An unreadable configuration or a failing helper is an error naming it, never
    mistaken for "no credentials"."""
    from docker import auth  # the SDK only when a registry is used
    from docker.errors import DockerException

    path = docker_config_path()
    if not path.exists():
        return None
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise WorkbenchError(
            f"{path}: the Docker configuration cannot be read ({type(exc).__name__}), so the "
            f"credentials for {host} are unknown.",
            fix="repair or remove that file, then `docker login` again.",
        ) from None
    try:
        entry = auth.load_config(str(path)).resolve_authconfig(host)
    except DockerException as exc:
        raise WorkbenchError(
            f"the credential helper named in {path} for {host} failed "
            f"({str(exc).splitlines()[0][:200]}).",
            fix="install that docker-credential-* helper or fix its entry (`credsStore` / "
            "`credHelpers`), then `docker login` again.",
        ) from None
    if not entry:
        return None
    user = entry.get("username") or entry.get("Username")
    secret = entry.get("password") or entry.get("Password") or entry.get("IdentityToken")
    return (str(user or ""), str(secret)) if secret else None


@dataclass
class RegistryClient:
    ref: ImageRef
    auth: tuple[str, str] | None = field(default=None, repr=False)
    _token: str | None = field(default=None, repr=False)

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Response:
        url = f"{self.ref.base_url}{path}"
        all_headers = dict(headers or {})
        if self._token:
            all_headers["Authorization"] = f"Bearer {self._token}"
        try:
            answer = request(
                method,
                url,
                headers=all_headers,
                body=body,
                auth=None if self._token else self.auth,
                timeout=30,
            )
            if answer.status == 401 and not self._token:
                challenge = answer.header("www-authenticate") or ""
                if challenge.lower().startswith("bearer") and self._fetch_token(challenge):
                    all_headers["Authorization"] = f"Bearer {self._token}"
                    answer = request(method, url, headers=all_headers, body=body, timeout=30)
        except OSError as exc:
            raise WorkbenchError(
                f"the registry {self.ref.host} cannot be reached ({type(exc).__name__}: "
                f"{getattr(exc, 'reason', exc)}).",
                fix="check `registry:` in workbench.yaml and that the registry is running.",
            ) from None
        if answer.status == 401:
            raise WorkbenchError(
                f"the registry {self.ref.host} refused "
                + (
                    "the credentials from the Docker configuration."
                    if self.auth
                    else "anonymous access: it needs credentials."
                ),
                fix=f"log in with `docker login {self.ref.host}` (the workbench reads the "
                "credentials Docker keeps; it never stores them itself).",
            )
        return answer

    def _fetch_token(self, challenge: str) -> bool:
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = params.pop("realm", None)
        if not realm:
            return False
        params.setdefault("scope", f"repository:{self.ref.repository}:pull,push")
        refusal = realm_refusal(self.ref, realm) if self.auth else None
        if refusal:
            shown = urllib.parse.urlsplit(realm)._replace(query="", fragment="").geturl()
            raise WorkbenchError(
                f"the registry {self.ref.host} asks for your credentials to be sent to the "
                f"token service {shown}, which is {refusal}; they were not sent.",
                fix="if you trust that service, add its host to "
                f"{TRUSTED_REALMS_VARIABLE} (comma-separated) in your environment; otherwise "
                "check `registry:` in workbench.yaml (a registry should not send your "
                "credentials elsewhere).",
            )
        answer = request(
            "GET", f"{realm}?{urllib.parse.urlencode(params)}", auth=self.auth, timeout=30
        )
        if answer.status != 200:
            return False
        data = answer.json()
        self._token = data.get("token") or data.get("access_token")
        return bool(self._token)

    def check(self) -> int:
        """The status of GET /v2/ (raises for unreachable or refused)."""
        return self._send("GET", "/v2/").status

    def manifest_digest(self, tag: str) -> str | None:
        answer = self._send(
            "HEAD", f"/v2/{self.ref.repository}/manifests/{tag}", {"Accept": MANIFEST_TYPES}
        )
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise WorkbenchError(
                f"the registry answered {answer.status} for {self.ref.tagged(tag)}."
            )
        return answer.header("docker-content-digest")

    def get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        answer = self._send(
            "GET", f"/v2/{self.ref.repository}/manifests/{reference}", {"Accept": MANIFEST_TYPES}
        )
        if answer.status != 200:
            raise WorkbenchError(
                f"{self.ref.name}@{reference} is not in the registry (HTTP {answer.status})."
            )
        return (
            answer.body,
            answer.header("content-type") or "",
            answer.header("docker-content-digest") or "",
        )

    def put_manifest(self, tag: str, body: bytes, media_type: str) -> str:
        answer = self._send(
            "PUT", f"/v2/{self.ref.repository}/manifests/{tag}", {"Content-Type": media_type}, body
        )
        if answer.status not in (200, 201):
            raise WorkbenchError(
                f"the registry refused to tag {self.ref.tagged(tag)} "
                f"(HTTP {answer.status}: {answer.body[:200].decode()})."
            )
        return answer.header("docker-content-digest") or ""

    def referrers(self, digest: str) -> tuple[list[dict[str, Any]] | None, str]:
        """The descriptors the OCI referrers API (distribution spec 1.1) lists for the
        manifest `digest`, following its `Link` pages (at most MAX_REFERRER_PAGES); None when
        the registry has no such API (Debian's registry answers 404). With what it answered."""
        path = f"/v2/{self.ref.repository}/referrers/{digest}"
        asked = f"GET {path}"
        found: list[dict[str, Any]] = []
        for _ in range(MAX_REFERRER_PAGES):
            answer = self._send("GET", path, {"Accept": OCI_INDEX})
            if answer.status != 200:
                return None, f"{asked} answered {answer.status}"
            try:
                index = json.loads(answer.body)
            except ValueError:
                index = None
            listed = index.get("manifests") if isinstance(index, dict) else None
            if not isinstance(index, dict) or index.get("mediaType") != OCI_INDEX:
                return None, f"{asked} answered 200, but not with an OCI image index"
            if not isinstance(listed, list):
                return None, f"{asked} answered an OCI image index without `manifests`"
            found += [d for d in listed if isinstance(d, dict)]
            following = _next_page(answer.header("link"))
            if following is None:
                said = f"{asked} answered an OCI image index ({len(found)} referrers)"
                return found, said
            path = following
        raise WorkbenchError(
            f"the registry {self.ref.host} lists more than {MAX_REFERRER_PAGES} pages of "
            f"referrers of {digest}; they were not all read.",
            fix="remove the stray referrers of that image from the registry.",
        )

    def put_blob(self, data: bytes) -> str:
        """Upload `data` as a blob (one monolithic upload) unless the registry has it; its
        digest."""
        import hashlib

        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs = f"/v2/{self.ref.repository}/blobs"
        if self._send("HEAD", f"{blobs}/{digest}").status == 200:
            return digest
        started = self._send("POST", f"{blobs}/uploads/")
        location = urllib.parse.urlsplit(started.header("location") or "")
        if started.status != 202 or not location.path:
            raise WorkbenchError(
                f"the registry {self.ref.host} refused a blob upload (HTTP {started.status})."
            )
        query = f"{location.query}&" if location.query else ""
        target = f"{location.path}?{query}digest={urllib.parse.quote(digest)}"
        headers = {"Content-Type": "application/octet-stream"}
        answer = self._send("PUT", target, headers, data)
        if answer.status not in (200, 201):
            raise WorkbenchError(
                f"the registry {self.ref.host} refused the blob {digest} (HTTP {answer.status})."
            )
        return digest

    def get_blob(self, digest: str) -> bytes:
        answer = self._send("GET", f"/v2/{self.ref.repository}/blobs/{digest}")
        if answer.status != 200:
            raise WorkbenchError(
                f"the blob {digest} is not in {self.ref.name} (HTTP {answer.status})."
            )
        return answer.body


def _next_page(link: str | None) -> str | None:
    """The path (and query) of the `rel="next"` page a `Link` header names; only the path is
    kept, so a page is always asked of the same registry."""
    if not link:
        return None
    for part in link.split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
            url = urllib.parse.urlsplit(target.strip()[1:].rstrip(">"))
            return url.path + (f"?{url.query}" if url.query else "")
    return None


def client_for(registry: str) -> RegistryClient:
    ref = ImageRef.parse(registry)
    return RegistryClient(ref, credentials(ref.host))
