"""The release's provenance: an in-toto Statement v1 with an SLSA v1 provenance predicate.

Declared once as msgspec records, used to write it at tag and to read it back in
`workbench verify`. Not the `in-toto-attestation` bindings: they are protobuf-generated
classes (a protobuf runtime and untyped modules for one JSON document) and give nothing
to read a statement back into typed values; the `in-toto` library signs layouts and links,
not SLSA predicates. The field names are the specifications' (camelCase), so the JSON is
what SLSA verifiers read.

What it says is read, not assumed: the subject is the tested image by its id (the config
digest the registry's manifest must point at), the inputs are the commit, the lock's hash,
every wheel hash the lock pins, the base image's id and the Debian packages fetched for
the build; the settings are the manifest's that shape the image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from workbench.kernel.errors import WorkbenchError
from workbench.project.lockfile import LOCK_NAME, read_lock
from workbench.project.manifest import Manifest
from workbench.project.releases import RELEASES

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "urn:workbench:build:hermetic-docker:v1"
BUILDER = "urn:workbench:builder"


class ResourceDescriptor(msgspec.Struct, omit_defaults=True):
    name: str | None = None
    uri: str | None = None
    digest: dict[str, str] = {}
    annotations: dict[str, str] = {}


class BuildDefinition(msgspec.Struct):
    buildType: str
    externalParameters: dict[str, Any]
    internalParameters: dict[str, Any]
    resolvedDependencies: list[ResourceDescriptor]


class Builder(msgspec.Struct):
    id: str
    version: dict[str, str] = {}


class BuildMetadata(msgspec.Struct):
    invocationId: str
    startedOn: str
    finishedOn: str


class RunDetails(msgspec.Struct):
    builder: Builder
    metadata: BuildMetadata


class Provenance(msgspec.Struct):
    buildDefinition: BuildDefinition
    runDetails: RunDetails


class Statement(msgspec.Struct):
    type: str = msgspec.field(name="_type")
    subject: list[ResourceDescriptor]
    predicateType: str
    predicate: Provenance

    @property
    def image_id(self) -> str | None:
        """The subject's image id (`sha256:...`), as written."""
        for subject in self.subject:
            if "sha256" in subject.digest:
                return "sha256:" + subject.digest["sha256"]
        return None


def provenance_path(manifest: Manifest, version: str) -> Path:
    return manifest.root / RELEASES / f"{version}.provenance.json"


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:")


def build_provenance(
    manifest: Manifest,
    *,
    version: str,
    image_ref: str,
    image_id: str,
    base: tuple[str, str],
    revision: str,
    lock_sha256: str,
    started: str,
    finished: str,
) -> str:
    """The statement's JSON (stable key order, newline-terminated)."""
    import workbench

    serve = manifest.serve
    dependencies = _dependencies(manifest, revision, lock_sha256, base)
    statement = Statement(
        type=STATEMENT_TYPE,
        subject=[
            ResourceDescriptor(
                name=image_ref,
                digest={"sha256": _hex(image_id)},
                annotations={"io.workbench.digest": "the image id (its config digest)"},
            )
        ],
        predicateType=PREDICATE_TYPE,
        predicate=Provenance(
            buildDefinition=BuildDefinition(
                buildType=BUILD_TYPE,
                externalParameters={
                    "command": f"workbench tag {version}",
                    "project": manifest.name,
                    "version": version,
                    "revision": revision,
                },
                internalParameters={
                    "base_image": base[0],
                    "port": serve.port,
                    "workers": serve.workers,
                    "memory_limit": serve.memory_limit,
                    "system_packages": list(serve.system_packages),
                    "flavor": manifest.model.flavor,
                    "network": "none (wheels fetched on the host)",
                },
                resolvedDependencies=dependencies,
            ),
            runDetails=RunDetails(
                builder=Builder(
                    id=f"{BUILDER}:workbench@{workbench.__version__}",
                    version={"workbench": workbench.__version__},
                ),
                metadata=BuildMetadata(
                    invocationId=f"{manifest.name}:{version}:{revision[:12]}",
                    startedOn=started,
                    finishedOn=finished,
                ),
            ),
        ),
    )
    return msgspec.json.format(msgspec.json.encode(statement).decode(), indent=1) + "\n"


def _dependencies(
    manifest: Manifest, revision: str, lock_sha256: str, base: tuple[str, str]
) -> list[ResourceDescriptor]:
    """The build's inputs: the commit, the lock, the base image, every wheel the lock pins
    (one descriptor per hash) and the Debian packages fetched for the image."""
    dependencies = [
        ResourceDescriptor(
            name="git", uri=f"git+file:{manifest.name}", digest={"gitCommit": revision}
        ),
        ResourceDescriptor(name=LOCK_NAME, digest={"sha256": _hex(lock_sha256)}),
        ResourceDescriptor(
            name="base-image", uri=f"docker:{base[0]}", digest={"sha256": _hex(base[1])}
        ),
    ]
    for name, entry in sorted(read_lock(manifest.root / LOCK_NAME).items()):
        for digest in sorted(entry.hashes):
            dependencies.append(
                ResourceDescriptor(
                    name=f"{name}=={entry.version}",
                    uri=f"pkg:pypi/{name}@{entry.version}",
                    digest={"sha256": _hex(digest)},
                )
            )
    dependencies += [
        ResourceDescriptor(name=package, uri=f"pkg:deb/debian/{package}")
        for package in manifest.serve.system_packages
    ]
    return dependencies


def read_provenance(text: str, where: str) -> Statement:
    """A provenance statement read back; one that does not read names the file."""
    try:
        statement = msgspec.json.decode(text, type=Statement)
    except msgspec.DecodeError as exc:
        raise WorkbenchError(
            f"{where} is not an in-toto statement the workbench wrote ({exc}).",
            fix="restore it from the release's tag (`git checkout TAG -- FILE`).",
        ) from None
    if statement.type != STATEMENT_TYPE or statement.predicateType != PREDICATE_TYPE:
        raise WorkbenchError(
            f"{where} is a {statement.type} / {statement.predicateType}, not an in-toto v1 "
            "statement of SLSA v1 provenance.",
            fix="restore it from the release's tag (`git checkout TAG -- FILE`).",
        )
    return statement
