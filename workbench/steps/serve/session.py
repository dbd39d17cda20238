"""The local serve test: a real container, fired at with real requests.

One session builds the image, starts it hardened, runs every probe of
`probes.PROBES` and stops it; each probe's result is the result of the
checklist item it declares.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.checklist.checks import CheckResult
from workbench.kernel import commands
from workbench.kernel.cancel import Cancelled
from workbench.kernel.docker import docker_client, engine_lost
from workbench.kernel.errors import UnavailableError, WorkbenchError
from workbench.kernel.lock import Busy, project_lock
from workbench.kernel.paths import scratch_dir
from workbench.project.manifest import Manifest
from workbench.steps.serve import run
from workbench.steps.serve.build import (
    BuildContext,
    BuildLog,
    Built,
    SecretsFound,
    assemble_context,
    build_image,
)
from workbench.steps.serve.build import image_tag as default_tag
from workbench.steps.serve.gpu import gpu_absent
from workbench.steps.serve.image_size import SHOWN, describe, largest_layers, package_sizes
from workbench.steps.serve.items import BUILD_ITEMS
from workbench.steps.serve.probes import PROBES, Probing
from workbench.steps.serve.report import ImageFacts, LayerSize, PackageSize, built_image

Log = Callable[[str], None]


@dataclass
class Session:
    """What one serve test found: a result per checklist item (each measuring one carries its
    typed report, `workbench.steps.serve.report`), and the image it built."""

    results: dict[str, CheckResult] = field(default_factory=dict)
    image_id: str | None = None


def build(
    manifest: Manifest,
    log: Log,
    cancel: threading.Event,
    *,
    version: str = "0.0.0-dev",
    tag: str | None = None,
    nocache: bool = False,
    detail: Log | None = None,
    phase: Log = lambda _: None,
) -> tuple[BuildContext, Built]:
    """Build the image; the engine's own output goes to `detail` (else to `log`). One build at
    a time per project: a second one is refused clearly (they share .workbench/build).
    `phase` hears the item each part answers: the secret scan, then the build."""
    docker_client(timeout=30)  # no engine: say so before assembling anything
    with project_lock(manifest.root, "build", "building the image", wait=0):
        phase(BUILD_ITEMS[0])
        context = assemble_context(manifest, version=version)
        phase(BUILD_ITEMS[1])
        return context, _build(
            context, manifest, log, cancel, tag=tag, nocache=nocache, detail=detail
        )


def _build(
    context: BuildContext,
    manifest: Manifest,
    log: Log,
    cancel: threading.Event,
    *,
    tag: str | None,
    nocache: bool,
    detail: Log | None,
) -> Built:
    log(f"build context {context.path}: {len(context.files)} files (Dockerfile kept there)")
    log(f"building {tag or default_tag(manifest)} from {context.base_image}")
    built: Built | None = None
    name = tag or default_tag(manifest)
    with commands.running(f"docker build --tag {name} {context.path}"):
        for event in build_image(context, name, cancel=cancel, nocache=nocache):
            if isinstance(event, BuildLog):
                (detail or log)(event.text)
            else:
                built = event
    assert built is not None
    return built


def serve_session(
    manifest: Manifest,
    *,
    log: Log = lambda _: None,
    cancel: threading.Event | None = None,
    host_port: int | None = None,
    version: str = "0.0.0-dev",
    tag: str | None = None,
    detail: Log | None = None,
    phase: Log = lambda _: None,
) -> Session:
    """Build the image (for `version`: the tag step tests its release candidate here) and
    answer every item of the serve test on it; `phase` hears each part as it starts (the
    item it answers, or "start" for the container's start). An engine lost or hung in the
    middle is an `UnavailableError` (the items keep their last results, shown stale), never
    a failure of what was being checked."""
    try:
        return _serve_session(
            manifest,
            log=log,
            cancel=cancel,
            host_port=host_port,
            version=version,
            tag=tag,
            detail=detail,
            phase=phase,
        )
    except Busy as exc:  # another command builds: nothing was checked, nothing failed
        raise UnavailableError(f"another command holds the project: {exc.message}") from None
    except (WorkbenchError, Cancelled):
        raise
    except Exception as exc:
        if (lost := engine_lost(exc)) is not None:
            raise lost from None
        from docker.errors import NotFound

        if isinstance(exc, NotFound):  # the test container (or image) went from under us
            raise _removed(exc) from None
        raise


def _removed(exc: BaseException) -> UnavailableError:
    return UnavailableError(
        "the serve test's container or image was removed from outside while it was being "
        f"tested ({str(exc).splitlines()[0][:160]}); nothing more could be asked.",
        fix="let the serve test finish before removing containers, then run it again.",
    )


def _removed_from_outside(container: Any, exc: BaseException) -> UnavailableError | None:
    """Whether a probe failed because the container is gone (`docker rm` from outside), not
    because it stopped answering: asked of the engine."""
    from docker.errors import NotFound

    try:
        container.reload()
    except NotFound:
        return _removed(exc)
    except Exception:
        return None
    return None


def _serve_session(
    manifest: Manifest,
    *,
    log: Log,
    cancel: threading.Event | None,
    host_port: int | None,
    version: str,
    tag: str | None,
    detail: Log | None,
    phase: Log,
) -> Session:
    """The serve test itself; `serve_session` (its only caller) holds the defaults and says
    what an outage of the engine means."""
    cancel = cancel or threading.Event()
    session = Session()
    try:
        context, built = build(
            manifest, log, cancel, version=version, tag=tag, detail=detail, phase=phase
        )
        log(f"built {built.image_id[:19]} in {built.seconds:.1f} s")
    except (UnavailableError, Busy):
        raise  # no engine, or another command builds: the items keep their last results
    except SecretsFound as exc:
        session.results["serve.secrets-free"] = CheckResult.failed(exc.paragraph)
        session.results["serve.image-built"] = CheckResult.failed(
            "not built: see serve.secrets-free"
        )
        return session
    except WorkbenchError as exc:
        session.results["serve.image-built"] = CheckResult.failed(exc.paragraph)
        return session
    session.image_id = built.image_id
    client = docker_client(timeout=manifest.serve.engine_timeout)
    session.results.update(_build_results(client, manifest, context, built, log))
    if cancel.is_set():
        raise Cancelled()
    if manifest.serve.gpu and (absent := gpu_absent(client)):
        log(f"serve.gpu asks for {manifest.serve.gpu} GPU(s): {absent}; not run")
        for probe in PROBES:  # nothing was asked of the image: skipped, never passed
            session.results[probe.item_id] = CheckResult.skipped(
                f"serve.gpu asks for {manifest.serve.gpu} GPU(s) and there is {absent}: the "
                "image was built, not run",
                unverified=True,  # never passed: a gate so skipped blocks until waived
            )
        return session
    facts = built_image(session.results["serve.image-built"])

    phase("start")
    log(
        "starting the container (read-only, no capabilities, no-new-privileges, "
        f"memory {manifest.serve.memory_limit})"
    )
    log_file = scratch_dir(manifest.root, "serve", what="the container's log") / "container.log"
    try:
        with run.running(
            client, built.image_id, manifest, host_port=host_port, log_file=log_file, cancel=cancel
        ) as live:
            log(f"ready after {live.ready_seconds:.2f} s at {live.url}")
            probing = Probing(manifest, live, context, log, facts)
            _probe_all(probing, session, log, cancel, phase)
    except UnavailableError:
        raise
    except WorkbenchError as exc:
        # The image was built but never served: every probe fails with that one cause, at
        # once, instead of each item trying again.
        # The cause is said once, by the first probe's item; the others point at it, and
        # the traceback stays in the container's log file.
        log(f"the container did not serve: {exc.message}")
        first, *rest = [probe.item_id for probe in PROBES if probe.item_id not in session.results]
        session.results[first] = CheckResult.failed(
            f"the container never became ready, so nothing could be asked: {exc.paragraph}",
            f"the container's whole log, with the traceback: {log_file}",
        )
        for item_id in rest:
            session.results[item_id] = CheckResult.failed(
                f"not reached: the container never became ready (the cause is in {first})"
            )
    return session


def _probe_all(
    probing: Probing, session: Session, log: Log, cancel: threading.Event, phase: Log
) -> None:
    """Every probe in turn on the live container, each said to `phase` as it starts."""
    for probe in PROBES:
        if cancel.is_set():
            raise Cancelled()
        phase(probe.item_id)
        try:
            session.results[probe.item_id] = probe.run(probing)
        except OSError as exc:
            if (lost := engine_lost(exc)) is not None:
                raise lost from None  # the engine went, not the container
            container = probing.live.container
            if (gone := _removed_from_outside(container, exc)) is not None:
                raise gone from None  # someone removed it: not the image's failure
            log(f"{probe.item_id}: the container stopped answering ({exc})")
            session.results[probe.item_id] = CheckResult.failed(
                f"the container stopped answering: {exc}; its logs: "
                + run.logs_tail(container, 10).replace("\n", " | ")
            )


def _size_report(
    client: Any, manifest: Manifest, image: Any, log: Log
) -> tuple[list[PackageSize], list[LayerSize], list[str]]:
    """The image's largest packages (read in it) and layers (its history), and what the
    evidence says of them; a reading that fails is said, never filled in."""
    said = []
    layers = largest_layers(image.history())
    try:
        packages = package_sizes(client, image.id, manifest)
    except Exception as exc:  # the image's python could not say: the build still stands
        if (lost := engine_lost(exc)) is not None:
            raise lost from None
        log(f"the image's packages could not be measured: {exc}")
        packages, said = [], [f"package sizes not read: {str(exc)[:200]}"]
    if packages:
        said.append("largest packages (read in the image): " + describe(packages))
    if layers:
        said.append("largest layers: " + "; ".join(layer.describe() for layer in layers))
    return packages[:SHOWN], layers, said


def _build_results(
    client: Any, manifest: Manifest, context: BuildContext, built: Built, log: Log
) -> dict[str, CheckResult]:
    """The build's items, from the image as the engine has it (its size, its config, its
    largest packages and layers)."""
    image = client.images.get(built.image_id)
    packages, layers, sizes = _size_report(client, manifest, image, log)
    facts = ImageFacts(
        image_id=built.image_id,
        size_bytes=int(image.attrs["Size"]),
        packages=packages,
        layers=layers,
    )
    own = context.own_wheels
    scanned = (
        f"scanned {sum(1 for f in context.files if f.startswith('model/'))} model files"
        + (f" and the wheels built from the project's own code ({', '.join(own)})" if own else "")
        + ": no keys, tokens or credentials"
    )
    sent = "sent to the engine: " + ", ".join(sorted({f.split("/")[0] for f in context.files}))
    if context.dependencies is not None:
        sent += f"; the virtual environment copied from {context.dependencies.image}"
    secrets_free = (
        CheckResult.warned(
            f"{scanned} in what could be read; not all of it could:",
            *context.unscanned,
            "look inside these yourself, or save the model uncompressed (joblib compress=0)",
            sent,
        )
        if context.unscanned
        else CheckResult.passed(scanned, sent)
    )
    return {
        "serve.secrets-free": secrets_free,
        "serve.image-built": CheckResult.passed(
            f"{built.tag} {built.image_id[:19]}, {facts.size_mb or 0:.0f} MB, "
            f"built in {built.seconds:.1f} s",
            f"base {context.base_image}; " + image_facts(image.attrs.get("Config") or {}),
            *sizes,
            report=facts,
        ),
    }


def image_facts(config: dict[str, Any]) -> str:
    """What the built image's own config says of its user, health check and entrypoint (read
    from the engine, not from the Dockerfile we meant to write)."""
    user = config.get("User") or ""
    said = [f"user {user}" if user and user.split(":")[0] not in ("0", "root") else "runs as root"]
    health = (config.get("Healthcheck") or {}).get("Test") or []
    said.append("HEALTHCHECK set" if health and health[0] != "NONE" else "no HEALTHCHECK")
    entry = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    shell = entry[:2] in (["/bin/sh", "-c"], ["sh", "-c"])
    said.append(
        f"{'shell' if shell else 'exec'}-form entrypoint `{' '.join(entry)}`"
        if entry
        else "no entrypoint"
    )
    return "; ".join(said)
