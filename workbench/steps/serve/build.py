"""The hermetic image build: an explicit build context, a secret scan, a Docker build.

The context is assembled from a list (the lock's wheels, the serving runtime,
the predictor's code and artifacts, the schemas as JSON, serving.json): nothing
else of the project is sent to the engine. The build needs no network.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.kernel.clock import now
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.hashing import file_digest
from workbench.kernel.paths import asset, runtime_dir, scratch_dir
from workbench.project.lockfile import (
    LOCK_NAME,
    SNAPSHOT_NAME,
    LockEntry,
    read_lock,
    read_snapshot,
)
from workbench.project.manifest import Manifest
from workbench.project.model_env import load_examples
from workbench.project.model_files import copy_into, copy_project_files, model_sources
from workbench.project.records import SnapshotRecord
from workbench.steps.schema.contract import load_schema, unresolved_refs
from workbench.steps.serve.building import BuildLog, Built, stream_build
from workbench.steps.serve.debs import describe as describe_debs
from workbench.steps.serve.debs import fetch as fetch_debs
from workbench.steps.serve.dependencies import Dependencies, copy_source
from workbench.steps.serve.dependencies import ensure as ensure_dependencies
from workbench.steps.serve.dependencies import plan as plan_dependencies
from workbench.steps.serve.drift import reference
from workbench.steps.serve.health import dockerfile_command
from workbench.steps.serve.image_labels import (
    LABEL_PREFIX,
    git_revision,
    image_labels,
)
from workbench.steps.serve.run import PROJECT_ID_LABEL
from workbench.steps.serve.secrets import scan as secret_scan
from workbench.steps.snapshot.wheels import Target, cached_wheels, wheel_dir

SERVING_DIR = runtime_dir()
SERVING_FILES = (
    "__init__.py",
    "__main__.py",
    "app.py",
    "batching.py",
    "core.py",
    "flavors.py",
    "tensors.py",
    "boosters.py",
    "monitoring.py",
    "openapi.py",
    "protocol.py",
    "rules.py",
    "v2.py",
)
HOST_ONLY = (  # run the model in its own environment, never in the image
    "inprocess.py",
    "loadable.py",
)


class SecretsFound(WorkbenchError):
    """What would be sent into the image looks like secrets; nothing was built."""


# Installed as root before the image drops to its user; dpkg refuses, naming it, a
# dependency the base image lacks. The .deb files stay in the COPY layer (small).
SYSTEM_PACKAGES = """COPY debs/ /tmp/debs/
RUN dpkg -i /tmp/debs/*.deb && rm -rf /tmp/debs
"""


@dataclass
class BuildContext:
    path: Path
    dockerfile: Path
    files: list[str]
    hashes: dict[str, str]
    config: dict[str, Any]
    base_image: str
    labels: dict[str, str] = field(default_factory=dict)
    # What of the model's files the secret scan could not read ('<file>: <what> not scanned').
    unscanned: list[str] = field(default_factory=list)
    # The wheels built from the project's own packages (scanned for secrets like the model).
    own_wheels: list[str] = field(default_factory=list)
    # The image the lock is installed in, built first when the engine lacks it.
    dependencies: Dependencies | None = None


# An image reference as Docker reads it: [host[:port]/]path[:tag][@digest] (distribution's
# reference grammar, lower-case path components).
IMAGE_REFERENCE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)


def base_image_for(manifest: Manifest) -> str:
    """serve.base_image; else, for a GPU (serve.gpu), serve.cuda_image; else the python
    image of the snapshot's version."""
    named = [("serve.base_image", manifest.serve.base_image)]
    if manifest.serve.gpu:
        named.append(("serve.cuda_image", manifest.serve.cuda_image))
    for key, image in named:
        if not image:
            continue
        if not IMAGE_REFERENCE.match(image):
            raise WorkbenchError(
                f"{manifest.path}: {key} `{image}` is not an image reference Docker can read.",
                fix="write it as [registry/]name[:tag], in lower case, e.g. python:3.11-slim.",
            )
        return image
    if (manifest.root / SNAPSHOT_NAME).exists():
        return f"python:{read_snapshot(manifest.root).target.python}-slim"
    raise WorkbenchError(
        "there is no snapshot yet, so the Python version is unknown.",
        fix="run `workbench snapshot` first (or set serve.base_image).",
    )


def _drop_venv_tools(locked: dict[str, Any]) -> str:
    """The venv's own pip and setuptools go, unless the lock pins them (torch requires
    setuptools): what the image holds is then exactly the lock."""
    tools = [tool for tool in ("pip", "setuptools") if tool not in locked]
    return (
        f"/opt/venv/bin/python -m pip uninstall --yes --quiet {' '.join(tools)}"
        if tools
        else "true"
    )


def assemble_context(
    manifest: Manifest,
    *,
    version: str = "0.0.0-dev",
    revision: str | None = None,
) -> BuildContext:
    lock_path = manifest.root / LOCK_NAME
    entries = read_lock(lock_path)
    snapshot = read_snapshot(manifest.root)
    target = Target(python=snapshot.target.python, machine=snapshot.target.machine)
    base_image = base_image_for(manifest)
    context = scratch_dir(manifest.root, "build", what="the build context")
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir()
    try:
        unscanned = _copy_model(manifest, context)  # first: scanned before anything else
        wheels = _locked_wheels(entries, target)
        own_wheels = [wheels[name] for name in own_packages(snapshot) if name in wheels]
        for wheel in own_wheels:  # the project's own code, scanned like the model
            _refuse_secrets(secret_scan(wheel.parent, unscanned, {wheel.name}))
        own = sorted(wheel.name for wheel in own_wheels)
        base = require_base_image(docker_client(), base_image)
        dependencies = plan_dependencies(
            manifest, base_image, base.id, list(wheels.values()), _drop_venv_tools(entries)
        )
        wanted = manifest.serve.system_packages
        debs = fetch_debs(wanted, base) if wanted else []
        for deb in debs:
            copy_into(deb, context / "debs" / deb.name)
        for name in SERVING_FILES:
            copy_into(SERVING_DIR / name, context / "serving" / name)
        schemas = _write_schemas(manifest, context)
    except SecretsFound:
        shutil.rmtree(context, ignore_errors=True)
        raise
    hashes = {
        "lock": file_digest(lock_path),
        "request_schema": file_digest(context / "schema" / "request.json"),
        "response_schema": file_digest(context / "schema" / "response.json"),
        "model": file_digest(context / "model"),
        "serving_runtime": file_digest(context / "serving"),
    }
    if debs:
        hashes["system_packages"] = file_digest(context / "debs")
    created = now()
    config = _serving_config(manifest, version, revision, hashes, schemas["request"])
    (context / "serving.json").write_text(json.dumps(config, indent=1, sort_keys=True))
    labels = image_labels(manifest, version, str(config["revision"]), created, base_image, hashes)
    if debs:
        labels[f"{LABEL_PREFIX}.system-packages"] = describe_debs(debs)
    # The project's id, as its containers carry it: what `workbench clean` finds images by.
    labels[PROJECT_ID_LABEL] = manifest.project_id
    template = asset("templates", "Dockerfile").read_text()
    label_text = " \\\n      ".join(f"{key}={json.dumps(value)}" for key, value in labels.items())
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(
        template.format(
            base_image=base_image,
            port=manifest.serve.port,
            health_command=dockerfile_command(manifest.serve.port),
            labels=label_text,
            created=created,
            system_packages=SYSTEM_PACKAGES if debs else "",
            dependencies_image=dependencies.image,
        )
    )
    files = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    return BuildContext(
        path=context,
        dockerfile=dockerfile,
        files=files,
        hashes=hashes,
        config=config,
        base_image=base_image,
        labels=labels,
        unscanned=unscanned,
        own_wheels=own,
        dependencies=dependencies,
    )


def _copy_model(manifest: Manifest, context: Path) -> list[str]:
    """The model's code and artifacts into model/, refused when they look like secrets;
    what the scan could not read is returned."""
    for source, relative in model_sources(manifest):
        try:
            copy_project_files(source, context / "model" / relative, manifest.root)
        except WorkbenchError:
            shutil.rmtree(context, ignore_errors=True)
            raise
    unscanned: list[str] = []
    _refuse_secrets(secret_scan(context / "model", unscanned))
    return unscanned


def _refuse_secrets(secrets: list[str]) -> None:
    if secrets:
        raise SecretsFound(
            "refusing to build: what would be sent into the image looks like secrets: "
            + "; ".join(secrets)
            + ".",
            fix="move these files out of the model's code and artifacts (model.code in "
            "workbench.yaml) and out of the project's own packages; pass secrets to the "
            "container at run time instead.",
        )


def own_packages(snapshot: SnapshotRecord) -> set[str]:
    """The packages the snapshot found installed from the project's own folders (editable or
    a local path): their wheels are the project's code, scanned for secrets like the model.
    Not a git or URL install (someone else's code, like a wheel from the index)."""
    return {n for n, e in snapshot.runtime.items() if e.source in ("editable", "local")}


def _locked_wheels(entries: dict[str, LockEntry], target: Target) -> dict[str, Path]:
    """The cached wheel of each lock entry whose sha256 (kept with it since it was last read,
    `sha256_stored`) is among the lock's hashes; the dependency image's pip checks each
    wheel's bytes against them again."""
    found = cached_wheels(wheel_dir(target), entries, stored=True)
    for name, entry in entries.items():
        if name not in found:
            raise WorkbenchError(
                f"no cached wheel matches the hash of {name}=={entry.version}.",
                fix="run `workbench snapshot` to fetch the wheels again.",
            )
    return found


def _write_schemas(manifest: Manifest, context: Path) -> dict[str, Any]:
    """The schemas as JSON under schema/ (the runtime reads no YAML), by kind; refused
    when a $ref leads out of the file or they look like they hold secrets."""
    (context / "schema").mkdir()
    schemas = {}
    for kind, relative in (
        ("request", manifest.schema.request),
        ("response", manifest.schema.response),
    ):
        schemas[kind] = load_schema(manifest.resolve(relative), f"{kind} schema")
        dangling = unresolved_refs(schemas[kind])
        if dangling:  # the image would answer 500 to every request
            shutil.rmtree(context, ignore_errors=True)
            raise WorkbenchError(
                f"{relative}: the {kind} schema cannot be served: " + "; ".join(dangling) + ".",
                fix="point each $ref at a definition in the same file (#/$defs/NAME); the "
                "image resolves no other file or URL.",
            )
        (context / "schema" / f"{kind}.json").write_text(json.dumps(schemas[kind], indent=1))
    in_schemas = secret_scan(context / "schema")
    if in_schemas:  # descriptions and examples are served to anyone at /openapi.json
        raise SecretsFound(
            "refusing to build: the schemas, which the image serves at /openapi.json, look "
            "like they hold secrets: " + "; ".join(in_schemas) + ".",
            fix="remove them from the schema files (descriptions, examples, defaults).",
        )
    return schemas


def _serving_config(
    manifest: Manifest,
    version: str,
    revision: str | None,
    hashes: dict[str, str],
    request: dict[str, Any],
) -> dict[str, Any]:
    """serving.json: what the runtime in the image needs to know."""
    return {
        "name": manifest.name,
        "version": version,
        "revision": revision or git_revision(manifest.root),
        "flavor": manifest.model.flavor,
        "artifact": manifest.model.artifact,
        "predictor": manifest.model.predictor,
        "labels": list(manifest.model.labels),
        "max_body_bytes": manifest.serve.max_body_bytes,
        "workers": manifest.serve.workers,
        "batching": asdict(manifest.serve.batching),
        # The example requests the runtime times the model on to decide whether to batch.
        "calibration": [record for _, record in load_examples(manifest, missing_ok=True)][:8],
        "monitoring": {
            "log_predictions": manifest.monitoring.log_predictions,
            "sample": manifest.monitoring.sample,
            "reference": reference(manifest, request) if manifest.monitoring.drift else None,
        },
        "hashes": hashes,
    }


def _copy_from(context: BuildContext, source: str) -> None:
    """The Dockerfile starts FROM `source` (see `dependencies.copy_source`)."""
    assert context.dependencies is not None
    image = context.dependencies.image
    if source != image:
        text = context.dockerfile.read_text()
        said = f"# {source}: {image} before its labels, shared by every project with this lock\n"
        context.dockerfile.write_text(text.replace(f"FROM {image}\n", f"{said}FROM {source}\n", 1))


def image_tag(manifest: Manifest, version: str = "dev") -> str:
    return f"workbench/{manifest.name}:{version}"


def require_base_image(client: Any, name: str) -> Any:
    """The base image on this engine, or the error saying the build does not pull it."""
    from docker.errors import ImageNotFound

    try:
        return client.images.get(name)
    except ImageNotFound:
        raise WorkbenchError(
            f"the base image {name} is not on this Docker engine and the build does not pull.",
            fix=f"pull or load it (`docker pull {name}` or `docker load`), or set "
            "serve.base_image in workbench.yaml to one you have.",
        ) from None


def build_image(
    context: BuildContext,
    tag: str,
    *,
    cancel: threading.Event | None = None,
    nocache: bool = False,
) -> Iterator[BuildLog | Built]:
    """Build through the Docker SDK, streaming the engine's output; cancellable. The
    dependency image first, when the engine lacks it."""
    client = docker_client(timeout=600)
    require_base_image(client, context.base_image)
    started = time.perf_counter()

    def stream(path: Path, name: str, cancel: threading.Event | None, nocache: bool) -> Any:
        return stream_build(client, path, name, cancel=cancel, nocache=nocache)

    if context.dependencies is not None:
        yield from ensure_dependencies(
            client, context.dependencies, stream, cancel=cancel, nocache=nocache
        )
        _copy_from(context, copy_source(client, context.dependencies))
    image_id = yield from stream(context.path, tag, cancel, nocache)
    if image_id is None:
        image_id = client.images.get(tag).id
    yield Built(image_id=image_id, tag=tag, seconds=time.perf_counter() - started)
