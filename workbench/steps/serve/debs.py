"""`serve.system_packages`: Debian packages a model's libraries need in the image (LightGBM's
wheel links the system's libgomp.so.1, which slim base images lack).

The build stays offline, like the wheels: the .deb files are fetched on this host with
`apt-get download` (apt checks them against the signed archive indexes), kept in the
user's cache per Debian release, and installed in the image with `dpkg -i`. They must
be for the base image's own release and architecture, so both are read from the image
(its os-release file, without running it) and compared with this host's first.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel.docker import short_error
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.lock import cache_lock
from workbench.kernel.paths import cache_dir


@dataclass(frozen=True)
class Release:
    codename: str
    architecture: str

    def __str__(self) -> str:
        return f"Debian {self.codename or '(unknown)'} {self.architecture}"


def os_release(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip():
            values[key.strip()] = value.strip().strip('"')
    return values


def host_release() -> Release:
    try:
        text = Path("/etc/os-release").read_text()
        architecture = subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        raise WorkbenchError(
            "serve.system_packages needs a Debian or Ubuntu host (dpkg and apt-get) to fetch "
            "the packages, and this host has none.",
            fix="build on a Debian host, or use a serve.base_image that already has them.",
        ) from None
    return Release(os_release(text).get("VERSION_CODENAME", ""), architecture)


def image_release(image: Any) -> Release:
    """The Debian release and architecture of `image` (the base image, from the engine),
    read from its files (a container is created to read them, never started, removed)."""
    from docker.errors import DockerException

    base_image = (image.tags or [image.short_id])[0]
    architecture = {"x86_64": "amd64", "aarch64": "arm64"}.get(
        image.attrs.get("Architecture", ""), image.attrs.get("Architecture", "")
    )
    try:
        text = _os_release_of(image)
    except DockerException as exc:
        raise WorkbenchError(
            f"could not read {base_image}'s Debian release: {short_error(exc)}."
        ) from None
    if text is not None:
        return Release(os_release(text).get("VERSION_CODENAME", ""), architecture)
    raise WorkbenchError(
        f"{base_image} has no os-release file, so it is not a Debian-based image; "
        "serve.system_packages installs Debian packages.",
        fix="use a Debian-based serve.base_image (python:3.11-slim is one), or remove "
        "serve.system_packages.",
    )


def _os_release_of(image: Any) -> str | None:
    from docker.errors import NotFound

    container = image.client.containers.create(image.id, command=["true"])
    try:
        for path in ("/usr/lib/os-release", "/etc/os-release"):
            try:
                stream, _ = container.get_archive(path)
            except NotFound:
                continue
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
                member = archive.next()
                handle = archive.extractfile(member) if member and member.isfile() else None
                if handle is not None:
                    return handle.read().decode(errors="replace")
        return None
    finally:
        container.remove(force=True)


def fetch(names: tuple[str, ...], image: Any) -> list[Path]:
    """The .deb file of each package, for the release of `image` (the base image, from
    the engine), from the cache or fetched now; a `WorkbenchError` naming the package or
    the mismatch otherwise."""
    wanted, here = image_release(image), host_release()
    if (wanted.codename, wanted.architecture) != (here.codename, here.architecture):
        raise WorkbenchError(
            f"serve.system_packages must be fetched for the base image's {wanted}, but this "
            f"host is {here}: its apt-get would fetch packages built for another release.",
            fix=f"build on a {wanted} host, or choose a serve.base_image of {here}.",
        )
    folder = cache_dir() / "debs" / f"{wanted.codename}-{wanted.architecture}"
    folder.mkdir(parents=True, exist_ok=True)
    with cache_lock(f"debs-{wanted.codename}-{wanted.architecture}", "fetching .deb files"):
        _fill(folder, [name for name in names if not _cached(folder, name)])
    return [found for name in names if (found := _cached(folder, name)) is not None]


def _fill(folder: Path, missing: list[str]) -> None:
    """apt-get download the packages `missing` from `folder`'s cache into it."""
    if missing:
        if shutil.which("apt-get") is None:
            raise WorkbenchError(
                "serve.system_packages are fetched with apt-get, and this host has none.",
                fix="build on a Debian or Ubuntu host, or use a serve.base_image that "
                "already has the packages.",
            )
        try:
            done = subprocess.run(
                ["apt-get", "download", "-q", *missing],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            raise WorkbenchError(
                f"apt-get took more than 10 minutes to fetch {', '.join(missing)}; nothing "
                "was built.",
                fix="check this host's network and apt mirror (`apt-get update`), then build "
                "again.",
            ) from None
        if done.returncode != 0:
            said = [line for line in done.stderr.splitlines() if line.startswith("E:")]
            raise WorkbenchError(
                "apt-get could not fetch serve.system_packages "
                f"{', '.join(missing)}: {(said or done.stderr.splitlines() or ['?'])[-1]}",
                fix="check each name (`apt-cache policy NAME` on this host) and that the "
                "package lists are current (`apt-get update`).",
            )


def _cached(folder: Path, name: str) -> Path | None:
    found = sorted(folder.glob(f"{name}_*.deb"))
    return found[-1] if found else None


def describe(debs: list[Path]) -> str:
    """`name=version` of each file (from its file name), for the image's label."""
    parts = []
    for deb in debs:
        name, version = [*deb.stem.split("_"), ""][:2]
        parts.append(f"{name}={version.replace('%3a', ':')}")
    return " ".join(parts)
