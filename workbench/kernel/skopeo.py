"""skopeo, the verifier people already run: sigstore keys, signing and policy checks.

Every call gets a private temporary folder (0700) holding what it needs and nothing of
the project: the passphrase in a 0600 file (`--sign-passphrase-file`, never argv or the
environment of the child), a `registries.d` that stores sigstore signatures as
attachments in the registry (`sha256-<hex>.sig`, the fallback tag scheme of registries
without the referrers API, Debian's included), and a `policy.json`. The folder is
removed when the call ends, whatever happens. skopeo reads registry credentials from the
Docker configuration (`config.json`), like Docker; a loopback registry is spoken to over
plain HTTP, as the rest of the workbench does.

Debian 12's skopeo (1.9.3) is built with sigstore disabled; `.ci/provision` installs
Debian 13's (1.18). `WORKBENCH_SKOPEO` names another binary.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workbench.kernel import commands
from workbench.kernel.environ import without_secrets
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.oci import ImageRef, docker_config_path

REGISTRIES_D = "default-docker:\n  use-sigstore-attachments: true\n"
ACCEPT_ANYTHING = {"default": [{"type": "insecureAcceptAnything"}]}
TIMEOUT = 600  # seconds: a copy of a large image through a slow registry
INSTALL = (
    "install skopeo >= 1.13 built with sigstore (Debian 13's `skopeo`; on Debian 12 "
    "`bash .ci/provision` unpacks it), or point WORKBENCH_SKOPEO at one."
)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    said: str  # skopeo's last line of output: its verdict, in its own words


def binary() -> str:
    found = os.environ.get("WORKBENCH_SKOPEO") or shutil.which("skopeo")
    if not found:
        raise WorkbenchError(
            "skopeo is not installed, so nothing can be signed or verified.", fix=INSTALL
        )
    return found


@contextmanager
def private_folder() -> Iterator[Path]:
    """A folder only this user can read, removed afterwards (even on Ctrl-C)."""
    folder = Path(tempfile.mkdtemp(prefix="workbench-skopeo-"))
    try:
        folder.chmod(0o700)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _secret_file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    said = lines[-1] if lines else ""
    if 'msg="' in said:  # logrus: time=... level=fatal msg="..."
        said = said.split('msg="', 1)[1].rstrip('"')
    return said.replace('\\"', '"')


def _run(argv: list[str], what: str) -> Outcome:
    # argv holds paths of secret files and references, never a secret (those are in files)
    line, began = shlex.join(["skopeo", *argv]), time.monotonic()
    try:
        outcome = _run_skopeo(argv, what)
    except WorkbenchError as exc:
        commands.record(line, False, f"failed: {exc.message}", time.monotonic() - began)
        raise
    said = "ok" if outcome.ok else f"failed: {outcome.said}"
    commands.record(line, outcome.ok, said, time.monotonic() - began)
    return outcome


def _run_skopeo(argv: list[str], what: str) -> Outcome:
    try:
        done = subprocess.run(
            [binary(), *argv],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            stdin=subprocess.DEVNULL,
            # the passphrase goes in a 0600 file, never in skopeo's environment
            env=without_secrets(),
        )
    except subprocess.TimeoutExpired:
        raise WorkbenchError(
            f"skopeo took over {TIMEOUT} s to {what}; it was stopped.",
            fix="check the registry, then try again.",
        ) from None
    said = _last_line(done.stderr) or _last_line(done.stdout)
    if "sigstore disabled" in said or "unknown command" in said:
        raise WorkbenchError(
            f"this skopeo ({binary()}) cannot {what}: it says {said!r}.", fix=INSTALL
        )
    return Outcome(done.returncode == 0, said)


def _tls(ref: ImageRef, flag: str) -> list[str]:
    """Plain HTTP to a loopback registry only (as `ImageRef.base_url`)."""
    return [f"--{flag}=false"] if ref.base_url.startswith("http://") else []


def _auth(flag: str) -> list[str]:
    config = docker_config_path()
    return [f"--{flag}", str(config)] if config.exists() else []


def generate_key(passphrase: str) -> tuple[str, str]:
    """A new sigstore key pair from `skopeo generate-sigstore-key`: the private key (cosign's
    encrypted format, scrypt + secretbox) and the public key (PEM)."""
    if not passphrase:
        raise WorkbenchError(
            "an empty passphrase would leave the private key unprotected.",
            fix="set WORKBENCH_SIGNING_PASSPHRASE or type a passphrase at the prompt.",
        )
    with private_folder() as folder:
        secret = _secret_file(folder, "passphrase", passphrase)
        prefix = folder / "key"
        outcome = _run(
            [
                "generate-sigstore-key",
                "--output-prefix",
                str(prefix),
                "--passphrase-file",
                str(secret),
            ],
            "make a sigstore key",
        )
        if not outcome.ok:
            raise WorkbenchError(f"skopeo could not make a key pair: {outcome.said}.", fix=INSTALL)
        return (folder / "key.private").read_text(), (folder / "key.pub").read_text()


def _copy(
    source: str,
    destination: str,
    flags: list[str],
    what: str,
    sign_with: tuple[Path, str] | None = None,
) -> Outcome:
    """`skopeo copy --preserve-digests` under a policy that accepts anything (what is copied
    is the workbench's own, verified elsewhere), sigstore signatures carried as attachments;
    with `sign_with` (private key, passphrase), the destination is signed too."""
    with private_folder() as private:
        (private / "registries.d").mkdir()
        (private / "registries.d" / "default.yaml").write_text(REGISTRIES_D)
        (private / "policy.json").write_text(json.dumps(ACCEPT_ANYTHING))
        signing: list[str] = []
        if sign_with is not None:
            secret = _secret_file(private, "passphrase", sign_with[1])
            signing = [
                "--sign-by-sigstore-private-key",
                str(sign_with[0]),
                "--sign-passphrase-file",
                str(secret),
            ]
        return _run(
            [
                "--policy", str(private / "policy.json"),
                "--registries.d", str(private / "registries.d"),
                "copy", "--quiet", "--preserve-digests", *flags, *signing, source, destination,
            ],
            what,
        )  # fmt: skip


def sign(ref: ImageRef, digest: str, tag: str, private_key: Path, passphrase: str) -> Outcome:
    """Sign the manifest `digest` in the registry as `ref:tag` (sigstore format): skopeo
    copies the image onto itself by digest (`--preserve-digests`: nothing is rewritten; the
    registry already holds every blob) and stores the signature as `sha256-<hex>.sig`."""
    flags = [*_tls(ref, "src-tls-verify"), *_tls(ref, "dest-tls-verify"),
             *_auth("src-authfile"), *_auth("dest-authfile")]  # fmt: skip
    return _copy(
        f"docker://{ref.name}@{digest}",
        f"docker://{ref.tagged(tag)}",
        flags,
        "sign in the sigstore format",
        sign_with=(private_key, passphrase),
    )


def copy_out(ref: ImageRef, digest: str, folder: Path) -> Outcome:
    """Copy `ref@digest` with its sigstore signatures into `folder` (skopeo's `dir:` layout:
    the manifest, config and layers as files, each signature as `signature-N`)."""
    return _copy(
        f"docker://{ref.name}@{digest}",
        f"dir:{folder}",
        [*_tls(ref, "src-tls-verify"), *_auth("src-authfile")],
        "copy the image and its signature out of the registry",
    )


def copy_in(folder: Path, ref: ImageRef, tag: str) -> Outcome:
    """Push an image of a `dir:` folder, with its sigstore signatures, as `ref:tag` (its
    digest kept)."""
    return _copy(
        f"dir:{folder}",
        f"docker://{ref.tagged(tag)}",
        [*_tls(ref, "dest-tls-verify"), *_auth("dest-authfile")],
        "push the bundle's image and its signature",
    )


def policy_for(
    ref: ImageRef, public_key: Path, signed_repository: str | None = None
) -> dict[str, object]:
    """A policy that accepts only images of `ref`'s repository signed by `public_key`; with
    `signed_repository`, signatures made for that repository (an image imported from it)."""
    identity: dict[str, str] = {"type": "matchRepoDigestOrExact"}
    if signed_repository:
        identity = {"type": "remapIdentity", "prefix": ref.name, "signedPrefix": signed_repository}
    return {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                ref.name: [
                    {
                        "type": "sigstoreSigned",
                        "keyPath": str(public_key),
                        "signedIdentity": identity,
                    }
                ]
            }
        },
    }


@contextmanager
def thrown_away(scratch: Path) -> Iterator[Path]:
    """A fresh folder inside `scratch` (the project's `.workbench/verify`, on the project's
    disk rather than a small /tmp) for the copy skopeo makes when it accepts an image,
    removed afterwards (even on Ctrl-C)."""
    folder = Path(tempfile.mkdtemp(prefix="image-", dir=scratch))
    try:
        yield folder / "image"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def verify(
    ref: ImageRef,
    reference: str,
    public_key_pem: str,
    scratch: Path,
    signed_repository: str | None = None,
) -> Outcome:
    """Ask skopeo whether `ref` at `reference` (`@sha256:...` or `:tag`) satisfies a
    `sigstoreSigned` policy with this public key: it refuses before copying any layer when
    the signature is missing or wrong, and when it accepts copies the image (which is how
    skopeo enforces a policy) into a folder of `scratch` that is removed afterwards."""
    with private_folder() as folder, thrown_away(scratch) as image:
        key = folder / "key.pub"
        key.write_text(public_key_pem)
        (folder / "registries.d").mkdir()
        (folder / "registries.d" / "default.yaml").write_text(REGISTRIES_D)
        policy = folder / "policy.json"
        policy.write_text(json.dumps(policy_for(ref, key, signed_repository)))
        source = f"docker://{ref.name}{reference}"
        return _run(
            [
                "--policy", str(policy), "--registries.d", str(folder / "registries.d"),
                "copy", "--quiet", *_tls(ref, "src-tls-verify"), *_auth("src-authfile"),
                source, f"dir:{image}",
            ],
            "verify a sigstore signature",
        )  # fmt: skip


def verify_folder(folder: Path, repository: str, public_key_pem: str, scratch: Path) -> Outcome:
    """skopeo's verdict on an image in a `dir:` folder (no registry, no network): signed by
    this key for `repository` (`exactRepository`: the folder itself names no repository);
    its copy goes into a folder of `scratch`, removed afterwards."""
    with private_folder() as private, thrown_away(scratch) as image:
        key = private / "key.pub"
        key.write_text(public_key_pem)
        requirement = {
            "type": "sigstoreSigned",
            "keyPath": str(key),
            "signedIdentity": {"type": "exactRepository", "dockerRepository": repository},
        }
        policy = {"default": [{"type": "reject"}], "transports": {"dir": {"": [requirement]}}}
        (private / "policy.json").write_text(json.dumps(policy))
        return _run(
            ["--policy", str(private / "policy.json"), "copy", "--quiet", f"dir:{folder}",
             f"dir:{image}"],
            "verify a sigstore signature",
        )  # fmt: skip
