"""The release's software bill of materials: CycloneDX 1.6 JSON, written by the maintained
`cyclonedx-python-lib`, never by hand.

What it lists is read, not assumed: the Python distributions and the Debian packages are
read from the tested image itself (importlib.metadata and dpkg's status file, in a
container of that image with no network and no capabilities), and the Python ones must
equal `environment.lock` exactly (the lock gives each its wheel hashes); the model's
files are listed with the sha256 the release records. The SBOM names the image by its id
and is committed with the release (`releases/VERSION.sbom.cdx.json`), its hash recorded in
the release manifest beside the other files', so `tag.manifest-complete` reads it back at
the tag.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.project.lockfile import LOCK_NAME, read_lock
from workbench.project.manifest import Manifest
from workbench.project.releases import RELEASES
from workbench.steps.serve import sessions
from workbench.steps.serve.run import labels_of

INVENTORY = r"""
import importlib.metadata as m, json
python = {d.metadata["Name"]: d.version for d in m.distributions()}
debian, entry = [], {}
try:
    lines = open("/var/lib/dpkg/status", encoding="utf-8", errors="replace").read().splitlines()
except OSError:
    lines = []
for line in lines + [""]:
    if not line.strip():
        if "installed" in entry.get("Status", "").split() and entry.get("Package"):
            debian.append([entry["Package"], entry.get("Version", ""),
                           entry.get("Architecture", "")])
        entry = {}
    elif not line.startswith(" ") and ":" in line:
        key, _, value = line.partition(":")
        entry[key] = value.strip()
print(json.dumps({"python": python, "debian": debian}))
"""


@dataclass(frozen=True)
class Inventory:
    """What the image holds, as read inside it."""

    python: dict[str, str]  # canonical name -> version
    debian: list[tuple[str, str, str]]  # (package, version, architecture)


def sbom_path(manifest: Manifest, version: str) -> Path:
    return manifest.root / RELEASES / f"{version}.sbom.cdx.json"


def image_inventory(manifest: Manifest, image_id: str) -> Inventory:
    """Read the image's Python distributions and Debian packages from a container of it
    (removed afterwards), never from what the build meant to install."""
    from docker.errors import DockerException

    client = docker_client(timeout=manifest.serve.engine_timeout)
    try:  # a session written down first: a kill mid-run leaves nothing unswept
        with sessions.throwaway(client, manifest.root) as session:
            out = client.containers.run(
                image_id,
                entrypoint=["python3", "-c", INVENTORY],
                command=[],
                remove=True,
                network_disabled=True,
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                labels=labels_of(manifest, session),
            )
        data = json.loads(out)
    except (DockerException, ValueError) as exc:
        raise WorkbenchError(
            f"the image {image_id[:19]} could not be read for its bill of materials "
            f"({str(exc).splitlines()[0][:200]}).",
            fix="check the Docker engine, then tag again.",
        ) from None
    return Inventory(
        python={canonicalize_name(k): str(v) for k, v in data["python"].items()},
        debian=[(str(p), str(v), str(a)) for p, v, a in data["debian"]],
    )


def _lock_against_image(manifest: Manifest, inventory: Inventory) -> dict[str, Any]:
    """The lock's entries, refused unless the image holds exactly them."""
    locked = read_lock(manifest.root / LOCK_NAME)
    wanted = {name: entry.version for name, entry in locked.items()}
    if wanted != inventory.python:
        missing = sorted(set(wanted) - set(inventory.python))
        extra = sorted(set(inventory.python) - set(wanted))
        other = sorted(
            n for n in set(wanted) & set(inventory.python) if wanted[n] != inventory.python[n]
        )
        raise WorkbenchError(
            "the image's Python distributions are not the lock's, so no truthful bill of "
            f"materials can be written: missing {missing or 'none'}, not locked "
            f"{extra or 'none'}, other versions {other or 'none'}.",
            fix="take the snapshot again and run the serve test, then tag.",
        )
    return dict(locked)


def build_sbom(
    manifest: Manifest,
    version: str,
    image_id: str,
    created: str,
    inventory: Inventory,
    file_hashes: dict[str, str],
) -> str:
    """The CycloneDX 1.6 JSON document of the release's image."""
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.tool import Tool, ToolRepository
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    import workbench

    def sha256(digest: str) -> HashType:
        return HashType(alg=HashAlgorithm.SHA_256, content=digest.removeprefix("sha256:"))

    locked = _lock_against_image(manifest, inventory)
    image = Component(
        name=manifest.name,
        version=version,
        type=ComponentType.CONTAINER,
        bom_ref="image",
        properties=[Property(name="io.workbench.image-id", value=image_id)],
    )
    bom = Bom(
        metadata=BomMetaData(
            component=image,
            timestamp=datetime.fromisoformat(created.replace("Z", "+00:00")),
            tools=ToolRepository(tools=[Tool(name="workbench", version=workbench.__version__)]),
        ),
        # The same release always gets the same serial number.
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"workbench:{image_id}:{version}"),
    )
    for name, entry in sorted(locked.items()):
        bom.components.add(
            Component(
                name=name,
                version=entry.version,
                type=ComponentType.LIBRARY,
                bom_ref=f"pypi:{name}",
                purl=PackageURL(type="pypi", name=name, version=entry.version),
                hashes=[sha256(h) for h in sorted(entry.hashes)],
            )
        )
    for package, deb_version, arch in sorted(inventory.debian):
        bom.components.add(
            Component(
                name=package,
                version=deb_version,
                type=ComponentType.LIBRARY,
                bom_ref=f"deb:{package}:{arch}",
                purl=PackageURL(
                    type="deb",
                    namespace="debian",
                    name=package,
                    version=deb_version,
                    qualifiers={"arch": arch} if arch else None,
                ),
            )
        )
    for relative, digest in sorted(file_hashes.items()):
        bom.components.add(
            Component(
                name=relative,
                type=ComponentType.FILE,
                bom_ref=f"file:{relative}",
                hashes=[sha256(digest)],
            )
        )
    return JsonV1Dot6(bom).output_as_string(indent=1) + "\n"
