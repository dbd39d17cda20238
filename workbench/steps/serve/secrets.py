"""What would be sent into the image, scanned for secrets before anything is sent.

Two detectors: Yelp's detect-secrets (maintained; its vendor-token plugins, on text
files) and the project's own rules (on every byte of every file, in overlapping chunks,
not just the first megabytes). Compressed model files are opened (joblib and pickle
files are often zlib, gzip, bz2 or xz streams) and scanned inside, zip archives (numpy's
.npz too) are opened member by member (bounded in count and size), the strings of a
pickle are read out of it with `pickletools` (never unpickled) and scanned one by one,
so a pickle's length bytes cannot hide a token's start; and the schemas are scanned too
(their descriptions are served at /openapi.json). A finding names the file, the line
or archive member where there is one, and what it looks like; never the secret.

detect-secrets' entropy and keyword plugins are left out: they flag the hashes and
parameter names model code is full of, and a false alarm refuses a correct build.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import pickletools
import re
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import IO

CHUNK = 1 << 20
OVERLAP = 4096  # a secret split across two chunks is still seen whole
MAX_INFLATED = 512 << 20  # a decompressed model is scanned up to this much
MAX_MEMBERS = 10_000  # zip members opened per archive; the rest are said to be unscanned
MAX_PICKLE_STRINGS = 64 << 20  # bytes of strings read out of one pickle
MAX_PICKLE_BYTES = 128 << 20  # bytes of one pickle read by pickletools (in memory at most)

SECRET_NAMES = re.compile(
    r"(^\.env(\..*)?$|\.env$|^id_(rsa|dsa|ecdsa|ed25519)$|\.pem$|\.key$|\.p12$|\.pfx$|"
    r"^\.netrc$|^\.pypirc$|^\.npmrc$|^\.git-credentials$|^credentials(\.json)?$|"
    r"^\.htpasswd$|^service[-_]account.*\.json$|^secrets?\.(ya?ml|json|toml)$)",
    re.IGNORECASE,
)
SECRET_CONTENT = [
    ("a private key", re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("an AWS access key id", re.compile(rb"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("an AWS secret access key", re.compile(rb"aws_secret_access_key\s*[=:]", re.IGNORECASE)),
    ("a GitHub token", re.compile(rb"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a Slack token", re.compile(rb"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Google API key", re.compile(rb"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Stripe secret key", re.compile(rb"\b[rs]k_live_[0-9A-Za-z]{16,}\b")),
    ("a Docker registry auth", re.compile(rb'"auths"\s*:\s*\{')),
    (
        "a Slack webhook URL",
        re.compile(
            rb"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_]+/[A-Za-z0-9_/]{8,}"
        ),
    ),
    (
        "a JSON web token",
        re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ),
    (
        "an Azure storage key or connection string",
        re.compile(rb"(?i)(?:AccountKey|SharedAccessKey)\s*=\s*[A-Za-z0-9+/]{30,}={0,2}"),
    ),
    ("a Hugging Face token", re.compile(rb"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{34}")),
    (
        "a password or key assigned in an environment file",
        re.compile(
            rb"""(?m)(?<![^\s;])(?:export[ \t]+)?(?:[A-Z][A-Z0-9]*_)*
            (?:PASS|PASSWD|PASSWORD|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY)(?:_[A-Z0-9_]*)?
            =["']?(?!os\.|getenv|\$|\{\{|<)[^\s"'`$;]{6,}""",
            re.VERBOSE,
        ),
    ),
    (
        "a password or key as a plain YAML value",
        re.compile(
            rb"""(?im)^[ \t-]*[\w.-]*(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?key|
            access[_-]?token|auth[_-]?token|private[_-]?key)[\w.-]*[ \t]*:[ \t]+
            (?=[A-Za-z0-9_+/=!@%^&*~-]*[0-9])(?=[A-Za-z0-9_+/=!@%^&*~-]*[A-Za-z])
            [A-Za-z0-9_+/=!@%^&*~-]{8,}[ \t]*(?:\#.*)?\r?$""",
            re.VERBOSE,
        ),
    ),
    (
        "a database or broker URL with a password",
        re.compile(
            rb"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql)"
            rb"(?:\+\w+)?://[^:/@\s\"']+:[^@/\s\"']+@"
        ),
    ),
    (
        "a password or token assigned in code",
        re.compile(
            rb"""(?ix)\b\w*(?:password|passwd|_pass\b|secret|api[_-]?key|access[_-]?token|auth[_-]?token)
            \s*[:=]\s*["'](?![\s"']*$)(?!\{\{)(?!<)(?!\$\{)(?!os\.environ)[^"'\s]{6,}["']"""
        ),
    ),
]
_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x78\x01", "zlib"),
    (b"\x78\x5e", "zlib"),
    (b"\x78\x9c", "zlib"),
    (b"\x78\xda", "zlib"),
    (b"\x5d\x00\x00", "lzma"),  # the "alone" format of joblib's compress='lzma'
)
# Compressions the scanner cannot open (no library for them here): said unscanned.
_UNOPENED = ((b"\x04\x22\x4d\x18", "lz4"), (b"\x28\xb5\x2f\xfd", "zstd"))


def _chunks(read: Iterator[bytes]) -> Iterator[tuple[int, bytes]]:
    """(offset, chunk with the tail of the previous one) over a stream of blocks."""
    tail = b""
    offset = 0
    for block in read:
        yield offset - len(tail), tail + block
        offset += len(block)
        tail = block[-OVERLAP:]


def _file_blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            yield block


def _inflated_blocks(path: Path, kind: str, cut: list[bool] | None = None) -> Iterator[bytes]:
    """The decompressed stream of a compressed file, bounded; nothing when it is not one.
    Stopped at the bound, it says so in `cut`."""
    total = 0
    try:
        if kind == "zlib":
            inflater = zlib.decompressobj()
            for block in _file_blocks(path):
                data = inflater.decompress(block, CHUNK)
                while data:
                    total += len(data)
                    yield data
                    if total > MAX_INFLATED:
                        if cut is not None:
                            cut.append(True)
                        return
                    data = inflater.decompress(inflater.unconsumed_tail, CHUNK)
            return
        openers: dict[str, Callable[[Path, str], IO[bytes]]] = {
            "gzip": gzip.open,  # type: ignore[dict-item]
            "bz2": bz2.open,  # type: ignore[dict-item]
            "xz": lzma.open,  # type: ignore[dict-item]
            "lzma": lzma.open,  # type: ignore[dict-item]
        }
        with openers[kind](path, "rb") as handle:
            while (block := handle.read(CHUNK)) and total <= MAX_INFLATED:
                total += len(block)
                yield block
            if total > MAX_INFLATED and cut is not None:
                cut.append(True)
    except (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError):
        return  # not really compressed: the raw bytes were scanned anyway


def _matches(blocks: Iterator[bytes]) -> Iterator[tuple[str, int]]:
    """(what, byte offset) of the first match of each kind."""
    seen: set[str] = set()
    for offset, chunk in _chunks(blocks):
        for what, pattern in SECRET_CONTENT:
            if what in seen:
                continue
            match = pattern.search(chunk)
            if match:
                seen.add(what)
                yield what, offset + match.start()


def _line_of(path: Path, offset: int) -> int:
    return _line_in(_file_blocks(path), offset)


def _line_in(blocks: Iterator[bytes], offset: int) -> int:
    count = 1
    done = 0
    for block in blocks:
        if done + len(block) >= offset:
            return count + block[: offset - done].count(b"\n")
        count += block.count(b"\n")
        done += len(block)
    return count


class _Blocks:
    """A stream of blocks as the readable file `pickletools.genops` wants (`read`,
    `readline`, and no `tell`), ending after `cap` bytes."""

    def __init__(self, blocks: Iterator[bytes], cap: int) -> None:
        self._blocks = blocks
        self._buffer = bytearray()
        self._left = cap

    def _fill(self, size: int, stop: bytes | None = None) -> None:
        while len(self._buffer) < size and self._left > 0:
            if stop is not None and stop in self._buffer:
                return
            block = next(self._blocks, b"")[: self._left]
            if not block:
                self._left = 0
                return
            self._left -= len(block)
            self._buffer += block

    def read(self, size: int) -> bytes:
        self._fill(size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def readline(self) -> bytes:
        self._fill(MAX_PICKLE_BYTES, b"\n")
        end = self._buffer.find(b"\n")
        size = end + 1 if end >= 0 else len(self._buffer)
        return self.read(size)


def _pickle_strings(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Each string and bytes value of a pickle (protocol 2+) as its own line, read with
    `pickletools.genops` (nothing is unpickled); nothing when it is not a pickle."""
    first = next(blocks, b"")
    if not (first[:1] == b"\x80" and first[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")):
        return
    stream = _Blocks(_chain(first, blocks), MAX_PICKLE_BYTES)
    total = 0
    try:
        for _, arg, _ in pickletools.genops(stream):  # type: ignore[arg-type]
            if isinstance(arg, str):
                data = arg.encode("utf-8", "surrogatepass")
            elif isinstance(arg, bytes | bytearray):
                data = bytes(arg)
            else:
                continue
            if len(data) >= 8:
                total += len(data)
                if total > MAX_PICKLE_STRINGS:
                    return
                yield b"\n" + data + b"\n"
    except Exception:  # a damaged or truncated pickle: its raw bytes were scanned anyway
        return


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _archive(path: Path) -> Iterator[tuple[str, str]]:
    """(member, finding) for each zip member (numpy's .npz are zips) that holds a secret,
    or is named like one; at most MAX_MEMBERS members and MAX_INFLATED bytes in all."""
    used = [0]  # bytes inflated so far: counted as read, not as the archive declares them
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist()[:MAX_MEMBERS]:
                if info.is_dir() or used[0] >= MAX_INFLATED:
                    continue
                if SECRET_NAMES.search(Path(info.filename).name):
                    yield info.filename, "a file named like a secret"
                    continue

                def member(info: zipfile.ZipInfo = info) -> Iterator[bytes]:
                    with archive.open(info) as handle:
                        while used[0] < MAX_INFLATED and (block := handle.read(CHUNK)):
                            used[0] += len(block)
                            yield block

                seen = set()
                for what, offset in _matches(member()):
                    seen.add(what)
                    yield info.filename, f"line {_line_in(member(), offset)}: contains {what}"
                for what, _ in _matches(_pickle_strings(member())):
                    if what not in seen:
                        yield info.filename, f"a string of its pickle contains {what}"
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
        lzma.LZMAError,
        ValueError,
    ):
        return  # not a readable zip: its raw bytes were scanned anyway


DETECT_SECRETS_PLUGINS = (
    "AWSKeyDetector",
    "ArtifactoryDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)
TEXT_LIMIT = 16 << 20  # text files up to this size also go through detect-secrets


def _detect_secrets(path: Path) -> list[tuple[str, int]]:
    """(secret type, line) found by detect-secrets in a text file."""
    from detect_secrets.core.secrets_collection import SecretsCollection  # ~15 ms, on use
    from detect_secrets.settings import transient_settings

    try:
        if path.stat().st_size > TEXT_LIMIT:
            return []
        path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []  # binary: the project's own rules read it
    with transient_settings({"plugins_used": [{"name": n} for n in DETECT_SECRETS_PLUGINS]}):
        collection = SecretsCollection()
        collection.scan_file(str(path))
    return sorted({(secret.type, secret.line_number) for _, secret in collection})


def unscanned_parts(path: Path, head: bytes) -> str | None:
    """What of this file the scan cannot read, in words (None when it reads all of it): a
    compression it cannot open, or a zip's members past its bounds (what a compressed file
    inflates to past the bound is said by `scan`, which counts it as it reads)."""
    unopened = next((k for magic, k in _UNOPENED if head.startswith(magic)), None)
    if unopened is not None:
        return f"{unopened} compression, which the scanner cannot open: its content"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return None  # not a readable zip: its raw bytes were scanned
        if len(members) > MAX_MEMBERS:
            return f"its members past the first {MAX_MEMBERS:,}"
        if sum(m.file_size for m in members) > MAX_INFLATED:
            return f"its members past {MAX_INFLATED >> 20} MB uncompressed"
        return None
    # A large plain pickle is whole: its raw bytes are all scanned (protocol 2+ keeps its
    # strings as they are); only its strings' second reading stops at MAX_PICKLE_BYTES.
    return None


def scan(
    folder: Path, unscanned: list[str] | None = None, names: Collection[str] | None = None
) -> list[str]:
    """Every file under `folder` (of `names` only, if given) that looks like a secret, as
    '<file>[, line N]: <what>'; what could not be read is added to `unscanned`."""
    found = []
    files = (p for p in folder.rglob("*") if p.is_file() and (names is None or p.name in names))
    for path in sorted(files):
        relative = path.relative_to(folder).as_posix()
        if SECRET_NAMES.search(path.name):
            found.append(f"{relative}: a file named like a secret")
            continue
        if unscanned is not None:
            with open(path, "rb") as handle:
                part = unscanned_parts(path, handle.read(8))
            if part is not None:
                unscanned.append(f"{relative}: {part} not scanned")
        own = list(_matches(_file_blocks(path)))
        lines = {_line_of(path, offset) for _, offset in own}
        for secret_type, line in _detect_secrets(path):
            if line not in lines:  # one finding per line: the two detectors agree often
                found.append(f"{relative}, line {line}: contains a {secret_type} (detect-secrets)")
        for what, offset in own:
            found.append(f"{relative}, line {_line_of(path, offset)}: contains {what}")
        seen = {what for what, _ in own}
        for what, _ in _matches(_pickle_strings(_file_blocks(path))):
            if what not in seen:
                found.append(f"{relative} (a string of its pickle): contains {what}")
        with open(path, "rb") as handle:
            head = handle.read(8)
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            for member, finding in _archive(path):
                found.append(f"{relative} (member {member}): {finding}")
        kind = next((k for magic, k in _MAGIC if head.startswith(magic)), None)
        if kind is not None:
            inside: set[str] = set()
            cut: list[bool] = []
            for what, _ in _matches(_inflated_blocks(path, kind, cut)):
                inside.add(what)
                found.append(f"{relative} (inside its {kind} compression): contains {what}")
            if cut and unscanned is not None:
                past = MAX_INFLATED >> 20
                unscanned.append(f"{relative}: what it inflates to past {past} MB not scanned")
            for what, _ in _matches(_pickle_strings(_inflated_blocks(path, kind))):
                if what not in inside:
                    found.append(
                        f"{relative} (inside its {kind} compression, a string of its pickle): "
                        f"contains {what}"
                    )
    return found
