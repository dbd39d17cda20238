"""Step 3 checks: the image and the engine it is built on."""

from __future__ import annotations

from workbench.checklist.registry import CheckContext, CheckResult, Inputs, auto_check
from workbench.errors import HarnessError, WorkbenchError


def _inputs(ctx: CheckContext) -> Inputs:
    from workbench.serve.build import base_image_for

    try:
        ref = base_image_for(ctx.manifest)
    except WorkbenchError as exc:
        return {"base_image": f"unknown: {exc.message}"}
    try:
        from workbench.harness import docker_client

        image_id = str(docker_client(timeout=5).images.get(ref).id)
    except HarnessError:
        image_id = "engine unavailable"
    except Exception as exc:  # docker.errors.ImageNotFound and friends
        image_id = f"absent ({type(exc).__name__})"
    return {"base_image": ref, "image_id": image_id}


@auto_check("serve.base-image", inputs=_inputs)
def base_image(ctx: CheckContext) -> CheckResult:
    from docker.errors import DockerException, ImageNotFound

    from workbench.harness import docker_client
    from workbench.serve.build import base_image_for

    ref = base_image_for(ctx.manifest)  # the image the build will use
    try:
        client = docker_client(timeout=30)
    except HarnessError as exc:
        return CheckResult.failed(exc.paragraph)
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
    size_mb = (image.attrs.get("Size") or 0) / 1e6
    return CheckResult.passed(
        f"{ref} present: {image.id[:19]} ({size_mb:.0f} MB)", image_id=image.id
    )


SERVE_ITEMS = (
    "serve.secrets-free",
    "serve.image-built",
    "serve.examples-parity",
    "serve.invalid-rejected",
    "serve.valid-accepted",
    "serve.malformed-rejected",
    "serve.metadata",
    "serve.non-root",
    "serve.packages-match-lock",
    "serve.performance",
    "serve.sigterm",
)


def session_inputs(ctx: CheckContext) -> Inputs:
    """Everything that goes into the image or into the test of it."""
    from workbench.checklist.registry import file_digest
    from workbench.paths import asset
    from workbench.serve.build import SERVING_DIR, model_sources

    m = ctx.manifest
    inputs = {
        "manifest": file_digest(m.path),
        "lock": file_digest(m.root / "environment.lock"),
        "request": file_digest(m.resolve(m.schema.request)),
        "response": file_digest(m.resolve(m.schema.response)),
        "examples": file_digest(m.resolve(m.schema.examples)),
        "serving_runtime": file_digest(SERVING_DIR),
        "dockerfile_template": file_digest(asset("templates", "Dockerfile")),
    }
    try:
        for source, relative in model_sources(m):
            inputs[f"model:{relative}"] = file_digest(source)
    except Exception as exc:  # a missing predictor module is reported by the check itself
        inputs["model"] = f"unreadable: {exc}"
    return inputs


def _session_check(item_id: str) -> None:
    def check(ctx: CheckContext) -> CheckResult:
        from workbench.serve.probes import serve_session

        session = ctx.memo(
            "serve-session", lambda: serve_session(ctx.manifest, log=ctx.log, cancel=ctx.cancel)
        )
        return session.results.get(item_id) or CheckResult.failed(
            "not reached: an earlier stage of the serve test failed (see serve.image-built)"
        )

    auto_check(item_id, inputs=session_inputs)(check)


for _item in SERVE_ITEMS:
    _session_check(_item)
