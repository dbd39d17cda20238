"""Step 3 checks: the base image, and the serve test's items (one session answers them all)."""

from __future__ import annotations

import dataclasses
import json

from workbench.checklist.checks import CheckContext, CheckResult, CheckSet, Inputs
from workbench.kernel.docker import docker_client
from workbench.kernel.errors import UnavailableError, WorkbenchError
from workbench.kernel.hashing import file_digest, sha256_text
from workbench.kernel.paths import asset, runtime_dir
from workbench.project.lockfile import LOCK_NAME, read_lock
from workbench.project.manifest import Manifest
from workbench.project.model_files import model_sources
from workbench.steps.serve.build import base_image_for
from workbench.steps.serve.gpu import gpu_absent, gpu_image
from workbench.steps.serve.items import SESSION_ITEMS
from workbench.steps.serve.report import BaseImageFacts
from workbench.steps.snapshot.cuda import gpu_on_this_machine

checks = CheckSet()
SERVE_ITEMS = SESSION_ITEMS


def _inputs(ctx: CheckContext) -> Inputs:
    try:
        ref = base_image_for(ctx.manifest)
    except WorkbenchError as exc:
        return {"base_image": f"unknown: {exc.message}"}
    try:
        image_id = str(docker_client(timeout=5).images.get(ref).id)
    except UnavailableError:
        image_id = "engine unavailable"
    except Exception as exc:  # docker.errors.ImageNotFound and friends
        image_id = f"absent ({type(exc).__name__})"
    return {"base_image": ref, "image_id": image_id}


@checks.auto("serve.base-image", inputs=_inputs)
def base_image(ctx: CheckContext) -> CheckResult:
    from docker.errors import DockerException, ImageNotFound  # the SDK only where it is used

    ref = base_image_for(ctx.manifest)  # the image the build will use
    client = docker_client(timeout=30)  # no engine: the last result is kept (the engine)
    try:
        image = client.images.get(ref)
    except ImageNotFound:
        ctx.log(f"{ref} is not present; trying to pull it")
        try:
            image = client.images.pull(ref)
        except DockerException as exc:
            return CheckResult.failed(
                f"{ref} is not present and cannot be pulled ({str(exc).splitlines()[0][:160]})",
                "pull or load it (`docker load`), or set serve.base_image in workbench.yaml",
            )
    except DockerException as exc:  # a reference the engine refuses to look up
        return CheckResult.failed(
            f"the engine refused to look up {ref} ({str(exc).splitlines()[0][:160]})",
            "set serve.base_image in workbench.yaml to an image reference, e.g. python:3.11-slim",
        )
    size_mb = (image.attrs.get("Size") or 0) / 1e6
    return CheckResult.passed(
        f"{ref} present: {image.id[:19]} ({size_mb:.0f} MB)",
        report=BaseImageFacts(image_id=str(image.id)),
    )


def _gpu_inputs(ctx: CheckContext) -> Inputs:
    m = ctx.manifest
    try:
        base = base_image_for(m)
    except WorkbenchError as exc:
        base = f"unknown: {exc.message}"
    return {
        "serve.gpu": str(m.serve.gpu),
        "base_image": base,
        "lock": file_digest(m.root / LOCK_NAME),
        "nvidia_driver": gpu_on_this_machine() or "absent",
    }


@checks.auto("serve.gpu-image", inputs=_gpu_inputs)
def gpu_image_matches(ctx: CheckContext) -> CheckResult:
    """The CUDA base image of a GPU image matches the lock's CUDA wheels (read offline);
    skipped with the reason on a machine without a GPU."""
    m = ctx.manifest
    base = base_image_for(m)
    if not m.serve.gpu:
        return gpu_image(m, {}, base, None)
    try:
        absent = gpu_absent(docker_client(timeout=30))
    except UnavailableError:
        absent = gpu_absent(None)  # the host's driver still says whether a GPU is here
    return gpu_image(m, read_lock(m.root / LOCK_NAME), base, absent)


def served_settings(manifest: Manifest) -> str:
    """The digest of the manifest's settings that go into the image or its test: not
    `registry:`, `release:` or `checklist:`, which the serve test never reads (setting the
    registry must not make every serve gate stale)."""
    read = {
        "name": manifest.name,
        "python": manifest.python,
        "model": dataclasses.asdict(manifest.model),
        "schema": dataclasses.asdict(manifest.schema),
        "serve": dataclasses.asdict(manifest.serve),
    }
    return sha256_text(json.dumps(read, sort_keys=True))


def session_inputs(ctx: CheckContext) -> Inputs:
    """Everything that goes into the image or into the test of it."""
    m = ctx.manifest
    inputs = {
        "manifest": served_settings(m),
        "lock": file_digest(m.root / LOCK_NAME),
        "request": file_digest(m.resolve(m.schema.request)),
        "response": file_digest(m.resolve(m.schema.response)),
        "examples": file_digest(m.resolve(m.schema.examples)),
        "serving_runtime": file_digest(runtime_dir()),
        "dockerfile_template": file_digest(asset("templates", "Dockerfile")),
        "dependencies_template": file_digest(asset("templates", "dependencies.sh")),
    }
    if m.evaluation is not None:  # the quality items' data, and the image's drift reference
        inputs["evaluation"] = json.dumps(dataclasses.asdict(m.evaluation), sort_keys=True)
        for relative in filter(None, (m.evaluation.data, m.evaluation.expectations)):
            inputs[f"evaluation:{relative}"] = file_digest(m.resolve(relative))
    inputs["monitoring"] = json.dumps(dataclasses.asdict(m.monitoring), sort_keys=True)
    try:
        for source, relative in model_sources(m):
            inputs[f"model:{relative}"] = file_digest(source)
    except Exception as exc:  # a missing predictor module is reported by the check itself
        inputs["model"] = f"unreadable: {exc}"
    return inputs


def _session_check(item_id: str) -> None:
    def check(ctx: CheckContext) -> CheckResult:
        from workbench.steps.serve.session import serve_session  # the build, the probes

        away = ctx.cache.get("serve-session-unavailable")
        if isinstance(away, UnavailableError):
            raise away  # asked once per run: a hung engine is not waited for eleven times
        try:
            session = ctx.memo(
                "serve-session",
                lambda: serve_session(
                    ctx.manifest,
                    log=ctx.log,
                    detail=ctx.detail,
                    cancel=ctx.cancel,
                    phase=ctx.phase,
                ),
            )
        except UnavailableError as exc:
            ctx.cache["serve-session-unavailable"] = exc
            raise
        return session.results.get(item_id) or CheckResult.failed(
            "not reached: an earlier stage of the serve test failed (see serve.image-built)"
        )

    checks.auto(item_id, inputs=session_inputs)(check)


for _item in SESSION_ITEMS:
    _session_check(_item)
