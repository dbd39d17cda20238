"""The project's signing keys: made by skopeo, the private one kept out of the project.

`workbench keys init` asks skopeo for a sigstore key pair (cosign's encrypted private key
format, so cosign and skopeo read it), puts the private key in the user's config folder
(`~/.config/workbench/keys/NAME/cosign.key`, or under XDG_CONFIG_HOME; folder 0700, file
0600), the public key in the project (`signing/NAME.pub`, to commit) and names it in
`workbench.yaml` (`signing.public_key`). The passphrase is the caller's (the environment's
`WORKBENCH_SIGNING_PASSPHRASE` or a prompt): it reaches skopeo in a 0600 file of a private
temporary folder, and is written nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workbench.kernel import skopeo
from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import config_dir
from workbench.kernel.yamlio import load_yaml, write_yaml_atomic
from workbench.project.manifest import Manifest

PASSPHRASE_VARIABLE = "WORKBENCH_SIGNING_PASSPHRASE"
MAKE_ONE = (
    "make a key pair with `workbench keys init` (the passphrase from "
    f"{PASSPHRASE_VARIABLE} or a prompt) and commit the public key it writes"
)


@dataclass(frozen=True)
class KeysMade:
    private: Path
    public: Path


def passphrase_from_environment() -> str | None:
    """The signing passphrase as the environment gives it (`WORKBENCH_SIGNING_PASSPHRASE`),
    or None: the CLI then asks on the terminal, the TUI in a masked field."""
    return os.environ.get(PASSPHRASE_VARIABLE) or None


def private_key_path(manifest: Manifest) -> Path:
    return config_dir() / "keys" / manifest.name / "cosign.key"


def public_key_path(manifest: Manifest) -> Path | None:
    """The project's public key as `signing.public_key` names it, or None when unnamed."""
    relative = manifest.signing.public_key
    return manifest.resolve(relative) if relative else None


def public_key_pem(manifest: Manifest) -> str | None:
    """The public key's PEM text; a named key that is missing or not a PEM public key is an
    error naming the file."""
    path = public_key_path(manifest)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkbenchError(
            f"{manifest.path}: `signing.public_key` names {manifest.signing.public_key}, which "
            f"cannot be read ({exc.strerror}).",
            fix=f"restore it from git, or {MAKE_ONE}.",
        ) from None
    if "-----BEGIN PUBLIC KEY-----" not in text:
        raise WorkbenchError(
            f"{manifest.signing.public_key} is not a PEM public key (no BEGIN PUBLIC KEY line).",
            fix=f"restore it from git, or {MAKE_ONE}.",
        )
    return text


def init_keys(manifest: Manifest, passphrase: str, *, force: bool = False) -> KeysMade:
    """Make the key pair, store both halves and name the public one in workbench.yaml."""
    private = private_key_path(manifest)
    public = manifest.root / "signing" / f"{manifest.name}.pub"
    if private.exists() and not force:
        raise WorkbenchError(
            f"a private signing key for {manifest.name} already exists ({private}); making "
            "another would leave the releases signed with it unverifiable by the new one.",
            fix="keep using it; or, to replace it on purpose, `workbench keys init --force` "
            "(then commit the new public key).",
        )
    private_pem, public_pem = skopeo.generate_key(passphrase)
    private.parent.mkdir(parents=True, exist_ok=True)
    for folder in (private.parent.parent, private.parent):
        folder.chmod(0o700)
    private.unlink(missing_ok=True)
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(private_pem)
    public.parent.mkdir(exist_ok=True)
    write_text_atomic(public, public_pem, within=manifest.root, what="the public key")
    _name_public_key(manifest, str(public.relative_to(manifest.root)))
    return KeysMade(private, public)


def _name_public_key(manifest: Manifest, relative: str) -> None:
    """`signing.public_key: RELATIVE` in workbench.yaml, its comments and layout kept."""
    from ruamel.yaml.comments import CommentedMap

    data = load_yaml(manifest.path, what="manifest")
    signing = data.get("signing")
    if not isinstance(signing, dict):
        signing = CommentedMap()
        data["signing"] = signing
    signing["public_key"] = relative
    write_yaml_atomic(manifest.path, data, within=manifest.root)


def signing_key(manifest: Manifest) -> Path | None:
    """The private key to sign with, when this user has one for the project."""
    path = private_key_path(manifest)
    return path if path.is_file() else None
