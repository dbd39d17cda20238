"""DSSE envelopes (the signed wrapper of in-toto attestations), signed with the project's
sigstore key and verified with its public key.

The private key is the one skopeo made (`generate-sigstore-key`): cosign's encrypted
format, a PEM block around JSON naming scrypt (N, r, p, salt) and a NaCl secretbox (nonce,
ciphertext) that holds the PKCS#8 key. It is opened in memory with the passphrase (scrypt
from the standard library, the secretbox from PyNaCl, the key from `cryptography`) and never
written anywhere. Envelopes are made and checked by securesystemslib (the Secure Systems
Lab's own DSSE implementation), with ECDSA P-256 over SHA-256, the signature DER-encoded as
cosign makes and reads it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from workbench.kernel.errors import WorkbenchError

IN_TOTO = "application/vnd.in-toto+json"


def _decrypt(path: Path, passphrase: str) -> Any:
    """The private key object of an encrypted cosign/sigstore key file."""
    import nacl.exceptions
    import nacl.secret
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        lines = path.read_text(encoding="utf-8").strip().splitlines()
        document = json.loads(base64.b64decode("".join(lines[1:-1])))
        kdf, cipher = document["kdf"], document["cipher"]
        params = kdf["params"]
        secret = hashlib.scrypt(
            passphrase.encode(),
            salt=base64.b64decode(kdf["salt"]),
            n=int(params["N"]),
            r=int(params["r"]),
            p=int(params["p"]),
            dklen=32,
            maxmem=256 * 1024 * 1024,
        )
        box = nacl.secret.SecretBox(secret)
        der = box.decrypt(
            base64.b64decode(document["ciphertext"]), base64.b64decode(cipher["nonce"])
        )
    except nacl.exceptions.CryptoError:
        raise WorkbenchError(
            f"the passphrase does not open the signing key {path}.",
            fix="set WORKBENCH_SIGNING_PASSPHRASE to the passphrase given to "
            "`workbench keys init` (or type it at the prompt).",
        ) from None
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise WorkbenchError(
            f"{path} is not an encrypted sigstore private key ({type(exc).__name__}).",
            fix="restore the key made by `workbench keys init`, or make a new pair.",
        ) from None
    return load_der_private_key(der, None)


def _public_key(pem: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey

    return SSlibKey.from_crypto(load_pem_public_key(pem.encode()))


def sign_statements(
    statements: list[bytes], private_key: Path, public_pem: str, passphrase: str
) -> list[bytes]:
    """DSSE envelopes (JSON) of in-toto statements, signed with the private key (opened
    once: scrypt is slow on purpose)."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    signer = CryptoSigner(_decrypt(private_key, passphrase), _public_key(public_pem))
    envelopes = []
    for statement in statements:
        envelope = Envelope(statement, IN_TOTO, {})
        envelope.sign(signer)
        envelopes.append(json.dumps(envelope.to_dict(), sort_keys=True).encode())
    return envelopes


def open_envelope(data: bytes, public_pem: str) -> tuple[dict[str, Any] | None, str]:
    """(the statement, how it was checked) when the envelope's signature is the public
    key's; (None, why not) otherwise."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError

    try:
        envelope = Envelope.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        return None, f"not a DSSE envelope ({type(exc).__name__})"
    if envelope.payload_type != IN_TOTO:
        return None, f"its payload type is {envelope.payload_type!r}, not {IN_TOTO}"
    try:
        envelope.verify([_public_key(public_pem)], 1)
    except VerificationError:
        return None, "its DSSE signature is not the project's key's"
    try:
        statement = json.loads(envelope.payload)
    except ValueError:
        return None, "its payload is not JSON"
    if not isinstance(statement, dict):
        return None, "its payload is not an in-toto statement"
    return statement, "its DSSE signature verifies with the project's public key"
