"""Issue 26 end to end on the real engine, registry and git: keys, a release with its SBOM
and SLSA provenance, a push signed by skopeo (sigstore format, the `.sig` fallback tag of a
registry without the referrers API), accepted by skopeo itself under a `sigstoreSigned`
policy written here by hand (the independent verifier, not the workbench's own code); then
another image pushed under the release's tag: `workbench verify`, skopeo and `promote`
refuse it, and `promote --unverified-reason` goes ahead with the reason recorded. A planted
passphrase and the private key are searched for in every project file, the git history,
the logs and the argv of every process that ran during the push."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from tests.doubler import ready_to_release
from tests.helpers import git, remove_image
from workbench.demo import parts as harness
from workbench.kernel.docker import docker_client
from workbench.kernel.hashing import sha256_text
from workbench.kernel.oci import client_for
from workbench.project.lockfile import LOCK_NAME, read_lock
from workbench.project.manifest import load_manifest
from workbench.project.releases import load_channels, load_deployments, load_release

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
WORKBENCH = str(Path(sys.executable).parent / "workbench")
PLANTED = "planted-Passphrase-" + os.urandom(6).hex()
RUN = f"supply-{time.time_ns()}"


def workbench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WORKBENCH, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def skopeo_accepts(reference: str, public_key: Path, folder: Path) -> subprocess.CompletedProcess:
    """skopeo's own verdict, under a policy written by hand: only images of the repository
    signed (sigstore) by this key are accepted; signatures are read from `.sig` tags."""
    (folder / "registries.d").mkdir(parents=True, exist_ok=True)
    (folder / "registries.d" / "default.yaml").write_text(
        "default-docker:\n  use-sigstore-attachments: true\n"
    )
    repository = (
        reference.split("@")[0].rsplit(":", 1)[0]
        if "@" not in reference
        else (reference.split("@")[0])
    )
    policy = {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                repository: [
                    {
                        "type": "sigstoreSigned",
                        "keyPath": str(public_key),
                        "signedIdentity": {"type": "matchRepoDigestOrExact"},
                    }
                ]
            }
        },
    }
    (folder / "policy.json").write_text(json.dumps(policy))
    out = folder / f"copy-{time.time_ns()}"
    return subprocess.run(
        ["skopeo", "--policy", str(folder / "policy.json"), "--registries.d",
         str(folder / "registries.d"), "copy", "--src-tls-verify=false",
         f"docker://{reference}", f"dir:{out}"],
        capture_output=True, text=True,
    )  # fmt: skip


class ArgvWatcher:
    """Every process command line seen while it runs (read from /proc every 10 ms)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        raw = (entry / "cmdline").read_bytes()
                    except OSError:
                        continue
                    self.seen.add(raw.replace(b"\0", b" ").decode(errors="replace"))
            time.sleep(0.01)

    def __enter__(self) -> ArgvWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def push_another_image(target: str) -> str:
    """A tiny image of our own pushed as `target` (labelled); its id, to remove it."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        tar.add(str(Path("/usr/bin/true").resolve()), arcname="bin/true")
    client = docker_client()
    repository, _, tag = target.rpartition(":")
    client.api.import_image_from_data(
        data.getvalue(), repository=repository, tag=tag, changes=[f"LABEL io.workbench.test={RUN}"]
    )
    for line in client.api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in line, line
    return str(client.images.get(target).id)


def sigstore_js_says(
    sigstore_js: tuple[str, Path], envelope: bytes, public_key: Path, folder: Path
) -> subprocess.CompletedProcess[str]:
    """sigstore-js's verdict on one DSSE envelope with this public key (offline)."""
    node, modules = sigstore_js
    path = folder / f"envelope-{os.urandom(4).hex()}.json"
    path.write_bytes(envelope)
    script = ROOT / "tests" / "sigstore_js" / "verify-dsse.js"
    return subprocess.run(
        [node, str(script), str(path), str(public_key)],
        env={**os.environ, "NODE_PATH": str(modules)}, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def another_public_key(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    path = folder / "another.pub"
    path.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def texts_under(folder: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts
    }


def test_a_signed_release_is_accepted_by_skopeo_and_refused_once_another_image_takes_its_tag(
    tmp_path: Path,
    registry: harness.Registry,
    base_image: str,
    sigstore_js: tuple[str, Path],
) -> None:
    project, recorded = ready_to_release(tmp_path)
    target = f"{registry.host}/supply/doubler"
    config = tmp_path / "config"
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_CONFIG_DIR"}
    env |= {"XDG_CONFIG_HOME": str(config), "WORKBENCH_SIGNING_PASSPHRASE": PLANTED}

    with (project / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write(f"registry: {target}\n")
    git(project, "commit", "-q", "-am", "the registry")

    # Tag: the release carries its provenance, hashed in its manifest.
    tagged = subprocess.run(
        [sys.executable, "-m", "tests.release_driver", str(project), "1.0.0", str(recorded)],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    manifest = load_manifest(project)
    record = load_release(manifest, "1.0.0")
    text = git(project, "show", "v1.0.0:releases/1.0.0.provenance.json") + "\n"
    assert record.hashes.files["releases/1.0.0.provenance.json"] == sha256_text(text)
    statement = json.loads(text)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"][0]["digest"]["sha256"] == record.image.id.removeprefix("sha256:")
    assert statement["subject"][0]["name"] == f"{target}:1.0.0"
    inputs = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    digests = {d["digest"].get("sha256") or d["digest"].get("gitCommit") for d in inputs}
    assert record.git.revision in digests and record.hashes.lock.removeprefix("sha256:") in digests
    assert record.base_image.id.removeprefix("sha256:") in digests
    for entry in read_lock(project / LOCK_NAME).values():
        assert {h.removeprefix("sha256:") for h in entry.hashes} <= digests
    builder = statement["predicate"]["runDetails"]["builder"]
    assert builder["id"].startswith("urn:workbench:builder:workbench@")

    # A push without a key: pushed unsigned, and push says how to make one.
    unsigned = workbench(env, "push", "-p", str(project))
    assert unsigned.returncode == 0, unsigned.stdout + unsigned.stderr
    assert "not signed" in unsigned.stdout and "workbench keys init" in " ".join(
        unsigned.stdout.split()
    )
    assert not load_release(manifest, "1.0.0").push.signed

    # Keys: private in the user's config (0700 / 0600), public committed and named.
    made = workbench(env, "keys", "init", "-p", str(project))
    assert made.returncode == 0, made.stderr
    private = config / "workbench" / "keys" / "doubler" / "cosign.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    assert "BEGIN ENCRYPTED COSIGN PRIVATE KEY" in private.read_text()  # cosign's format
    public = project / "signing" / "doubler.pub"
    assert load_manifest(project).signing.public_key == "signing/doubler.pub"
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "signing key")

    # Push again: the release pushed before the key existed is signed now.
    with ArgvWatcher() as watcher:
        pushed = workbench(env, "push", "-p", str(project))
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "1.0.0 was already verified" in pushed.stdout
    record = load_release(manifest, "1.0.0")
    digest = str(record.push.digest)
    signature_tag = digest.replace(":", "-") + ".sig"
    assert record.push.signed
    assert record.push.signature == client_for(target).manifest_digest(signature_tag)
    assert f"signed (sigstore): the registry holds its signature {record.push.signature}" in (
        " ".join(pushed.stdout.split())
    )
    assert any("skopeo" in line and "--sign-passphrase-file" in line for line in watcher.seen)
    # The SBOM and provenance attached to the digest where cosign puts them, read back.
    attached = digest.replace(":", "-")
    assert record.push.attestations == client_for(target).manifest_digest(attached + ".att")
    sbom_blob = json.loads(client_for(target).get_manifest(attached + ".sbom")[0])["layers"][0]
    assert sbom_blob["digest"] == record.hashes.files["releases/1.0.0.sbom.cdx.json"]
    assert f"attested (SBOM, provenance): {attached}.att" in " ".join(pushed.stdout.split())
    # Debian's registry has no OCI referrers API: the fallback tags, chosen, recorded, said.
    asked = f"GET /v2/supply/doubler/referrers/{digest}"
    assert client_for(target).referrers(digest) == (None, f"{asked} answered 404")
    no_api = f"fallback tags: the registry has no referrers API ({asked} answered 404)"
    assert (record.push.attached_by, record.push.attached_why) == ("tags", no_api)
    assert no_api in " ".join(pushed.stdout.split())

    # skopeo itself accepts it, by tag and by digest; so does `workbench verify`.
    for reference in (f"{target}:1.0.0", f"{target}@{digest}"):
        accepted = skopeo_accepts(reference, public, tmp_path / "policy")
        assert accepted.returncode == 0, accepted.stderr
    verified = workbench(env, "verify", "1.0.0", "--json", "-p", str(project))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    verdict = json.loads(verified.stdout)
    assert {f["what"]: f["ok"] for f in verdict["findings"]} == dict.fromkeys(
        ("digest", "image", "signature", "sbom", "provenance"), True
    )
    evidence = {f["what"]: f["evidence"] for f in verdict["findings"]}
    assert f"{attached}.sbom holds releases/1.0.0.sbom.cdx.json" in evidence["sbom"]
    assert (
        f"{attached}.att: a https://slsa.dev/provenance/v1 statement of {digest}"
        in (evidence["provenance"])
    )
    # sigstore-js, a second verifier the workbench did not write, accepts each DSSE envelope
    # of the .att with the project's public key, and refuses another key and an edited one.
    att = json.loads(client_for(target).get_manifest(attached + ".att")[0])
    envelopes = [client_for(target).get_blob(layer["digest"]) for layer in att["layers"]]
    assert len(envelopes) == 2  # the provenance and the SBOM statements
    for envelope in envelopes:
        said = sigstore_js_says(sigstore_js, envelope, public, tmp_path)
        assert (said.returncode, said.stdout.strip()) == (0, "verified"), said.stderr
    other_key = another_public_key(tmp_path)
    foreign = sigstore_js_says(sigstore_js, envelopes[0], other_key, tmp_path)
    assert (foreign.returncode, foreign.stdout.strip()) == (
        1,
        "refused: signature verification failed",
    )
    edited = json.loads(envelopes[0])
    statement = base64.b64decode(edited["payload"])
    hexed = digest.removeprefix("sha256:").encode()
    assert hexed in statement  # the subject: another digest in its place
    edited["payload"] = base64.b64encode(statement.replace(hexed, b"0" * 64)).decode()
    tampered_att = sigstore_js_says(sigstore_js, json.dumps(edited).encode(), public, tmp_path)
    assert tampered_att.stdout.strip() == "refused: signature verification failed"
    # The .att replaced in the registry: verify refuses, and the next push attaches again.
    registry_api = client_for(target)
    body, media_type, _ = registry_api.get_manifest(attached + ".sbom")
    registry_api.put_manifest(attached + ".att", body, media_type)  # no statement in it
    broken = workbench(env, "verify", "1.0.0", "--json", "-p", str(project))
    assert broken.returncode == 1, broken.stdout
    found = {f["what"]: f for f in json.loads(broken.stdout)["findings"]}
    assert not found["provenance"]["ok"]
    assert (
        f"{attached}.att holds no https://slsa.dev/provenance/v1"
        in (found["provenance"]["evidence"])
    )
    again = workbench(env, "push", "-p", str(project))
    assert again.returncode == 0, again.stdout + again.stderr
    reattached = load_release(manifest, "1.0.0").push.attestations
    assert reattached == registry_api.manifest_digest(attached + ".att")
    assert reattached != record.push.attestations
    assert workbench(env, "verify", "1.0.0", "-p", str(project)).returncode == 0
    # An air-gap bundle, verified with no network at all (a namespace without one).
    bundle = tmp_path / "doubler-1.0.0.tar"
    exported = workbench(env, "export", "1.0.0", "-o", str(bundle), "-p", str(project))
    assert exported.returncode == 0, exported.stderr
    offline = subprocess.run(
        ["unshare", "-n", WORKBENCH, "verify", str(bundle), "--json", "-p", str(project)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert offline.returncode == 0, offline.stdout + offline.stderr
    findings = {f["what"]: f["ok"] for f in json.loads(offline.stdout)["findings"]}
    bundled = ("release", "digest", "signature", "sbom", "provenance")
    attached_in_bundle = ("attached sbom", "attached provenance")  # its .att and .sbom
    assert findings == dict.fromkeys((*bundled, *attached_in_bundle), True)
    tampered = tmp_path / "tampered.tar"
    with tarfile.open(bundle) as source, tarfile.open(tampered, "w") as copy:
        for member in source.getmembers():
            data = source.extractfile(member) if member.isfile() else None
            if member.name.endswith(".sbom.cdx.json") and data is not None:
                changed = data.read().replace(b'"doubler"', b'"tripler"', 1)
                member.size = len(changed)
                copy.addfile(member, io.BytesIO(changed))
            else:
                copy.addfile(member, data)
    refused_bundle = workbench(env, "verify", str(tampered), "--json", "-p", str(project))
    assert refused_bundle.returncode == 1
    sbom = next(f for f in json.loads(refused_bundle.stdout)["findings"] if f["what"] == "sbom")
    assert not sbom["ok"] and "hashes" in sbom["evidence"], sbom

    # Imported into a second registry with its signature, and verified there.
    second = harness.start_registry()
    try:
        mirror = f"{second.host}/mirror/doubler"
        imported = workbench(env, "import", str(bundle), "--registry", mirror, "-p", str(project))
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert "imported and verified" in imported.stdout
        assert client_for(mirror).manifest_digest("1.0.0") == digest  # the same bytes
        assert client_for(mirror).manifest_digest(signature_tag) is not None
        assert client_for(mirror).manifest_digest(attached + ".att") == reattached
        said = " ".join(imported.stdout.split())
        assert f"ok sbom: {attached}.sbom holds" in said  # read back in the mirror
        assert f"ok provenance: {attached}.att: a https://slsa.dev/provenance/v1" in said
    finally:
        second.stop()

    promoted = workbench(env, "promote", "1.0.0", "-c", "production", "-p", str(project))
    assert promoted.returncode == 0, promoted.stderr
    assert "verified: signed" in " ".join(promoted.stdout.split())
    by_channel = workbench(env, "verify", f"{target}:production", "--json", "-p", str(project))
    assert by_channel.returncode == 0, by_channel.stdout + by_channel.stderr  # signed as 1.0.0

    # Another image under the release's tag: skopeo, verify and promote refuse it.
    other = push_another_image(f"{target}:1.0.0")
    try:
        refused = skopeo_accepts(f"{target}:1.0.0", public, tmp_path / "policy")
        assert refused.returncode != 0
        assert "A signature was required, but no signature exists" in refused.stderr
        failed = workbench(env, "verify", "1.0.0", "-p", str(project))
        assert failed.returncode == 1
        said = " ".join(failed.stdout.split())
        assert f"released {digest}" in said and "does not verify" in said
        assert "no signature exists" in said  # skopeo's own words, read back
        blocked = workbench(env, "promote", "1.0.0", "-c", "staging", "-p", str(project))
        assert blocked.returncode == 1
        assert "release 1.0.0 does not verify" in " ".join(blocked.stderr.split())
        assert "staging" not in load_channels(manifest)
        forced = workbench(
            env, "promote", "1.0.0", "-c", "staging", "--unverified-reason", "incident 42",
            "-p", str(project),
        )  # fmt: skip
        assert forced.returncode == 0, forced.stderr
        move = load_channels(manifest)["staging"].history[-1]
        assert move.unverified_reason and move.unverified_reason.startswith("incident 42")
        kubernetes = ("deploy", "-c", "production", "--target", "kubernetes", "-p", str(project))
        undeployed = workbench(env, *kubernetes)
        assert undeployed.returncode == 1
        assert "release 1.0.0 does not verify" in " ".join(undeployed.stderr.split())
        assert not (project / "deploy").exists()  # nothing written
        deployed = workbench(env, *kubernetes, "--unverified-reason", "drill")
        assert deployed.returncode == 0, deployed.stderr
        (deployment,) = load_deployments(manifest)
        assert deployment.unverified_reason and deployment.unverified_reason.startswith("drill")
    finally:
        remove_image(docker_client(), other, force=True)

    # An advisory naming a locked version blocks the next tag (offline, OSV format).
    name, entry = sorted(read_lock(project / LOCK_NAME).items())[0]
    (project / "advisories").mkdir()
    modified = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    advisory = {
        "id": "GHSA-supply-0001",
        "modified": modified,
        "affected": [{"package": {"ecosystem": "PyPI", "name": name}, "versions": [entry.version]}],
    }
    (project / "advisories" / "GHSA-supply-0001.json").write_text(json.dumps(advisory))
    with (project / "workbench.yaml").open("a") as manifest_file:
        manifest_file.write("supply_chain:\n  advisories: advisories\n")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "advisories")
    blocked_tag = subprocess.run(
        [sys.executable, "-m", "tests.release_driver", str(project), "1.0.1", str(recorded)],
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert blocked_tag.returncode != 0
    said = " ".join(blocked_tag.stderr.split())
    assert f"{name} {entry.version} is named by GHSA-supply-0001" in said, said[-2000:]
    assert not (project / "releases" / "1.0.1.yaml").exists()

    # No secret anywhere: project files, logs, git history, argv.
    key_body = "".join(private.read_text().splitlines()[1:-1])
    files = texts_under(project)
    assert any("/.workbench/" in name for name in files)  # the logs are searched too
    for name, content in files.items():
        assert PLANTED.encode() not in content, name
        assert key_body[:40].encode() not in content, name
    history = git(project, "log", "-p", "--all")
    assert PLANTED not in history and key_body[:40] not in history
    assert public.read_text() in git(project, "show", "HEAD:signing/doubler.pub") + "\n"
    assert not [line for line in watcher.seen if PLANTED in line]
