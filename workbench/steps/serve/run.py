"""Running the image locally, hardened, and always removing the container afterwards."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel import commands
from workbench.kernel.cancel import raise_if_cancelled
from workbench.kernel.confine import open_no_follow, scratch_path
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import free_port, request
from workbench.project.lockfile import read_snapshot
from workbench.project.manifest import Manifest
from workbench.steps.serve import sessions as sessions_file
from workbench.steps.serve.gpu import device_requests, gpu_absent
from workbench.steps.serve.hints import load_hint
from workbench.steps.serve.sessions import SESSION_LABEL, remove, remove_session

RUN_LABEL = "io.workbench.run"
PROJECT_LABEL = "io.workbench.project"  # the manifest's name, for people reading labels
PROJECT_ID_LABEL = "io.workbench.project-id"  # the project's id (`project_id`): what cleans


def labels_of(manifest: Manifest, session: str | None = None) -> dict[str, str]:
    """The labels of a container the workbench starts for `manifest`'s project."""
    return {
        RUN_LABEL: "1",
        PROJECT_LABEL: manifest.name,
        PROJECT_ID_LABEL: manifest.project_id,
        SESSION_LABEL: session or "none",
    }


@dataclass
class Running:
    container: Any
    host_port: int
    ready_seconds: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"


def hardening(manifest: Manifest) -> dict[str, Any]:
    """How every container of the image is confined (`serve.hardened` reads each back)."""
    return {
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": manifest.serve.memory_limit,
    }


def start(
    client: Any,
    image: str,
    manifest: Manifest,
    *,
    host_port: int | None = None,
    session: str | None = None,
    env: dict[str, str] | None = None,
) -> Any:
    """Start the container: loopback only, read-only root, no capabilities, memory-limited,
    labelled with `session` so it can be found and removed even if we never got its handle."""
    from docker.errors import APIError  # the SDK only when used (import cost)

    port = host_port or free_port()
    container = None
    labels = labels_of(manifest, session)
    # serve.gpu: the devices `docker run --gpus N` asks for (none for a CPU image)
    gpus = {"device_requests": device_requests(manifest.serve.gpu)} if manifest.serve.gpu else {}
    try:
        container = client.containers.create(
            image,
            ports={f"{manifest.serve.port}/tcp": ("127.0.0.1", port)},
            tmpfs={"/tmp": "rw,size=64m,mode=1777"},
            **hardening(manifest),
            labels=labels,
            environment=env or {},
            **gpus,
        )
        container.start()
        return container
    except BaseException as exc:  # Ctrl-C or SIGTERM between create and start, too
        if container is not None:
            remove(container)
        if not isinstance(exc, APIError):
            raise
        text = str(exc.explanation or exc)
        if "port is already allocated" in text or "address already in use" in text:
            raise WorkbenchError(
                f"port {port} on 127.0.0.1 is already in use.",
                fix="stop what listens there, or choose another port with --port.",
            ) from None
        raise WorkbenchError(f"the Docker engine could not start the container: {text}") from None


class ModelLoadFailed(WorkbenchError):
    """The container started, but the model did not load in it."""


def logs_tail(container: Any, lines: int = 30) -> str:
    try:
        return str(container.logs(tail=lines).decode(errors="replace").strip())
    except Exception:
        return "(no logs)"


def logs_for(
    container: Any, request_id: str | None, limit: int = 3, wait: float = 2.0
) -> list[str]:
    """The container's log lines about one request (its error and traceback lines), not the
    access log line every request gets. The engine delivers a container's log a moment
    after the process wrote it, and the answer can arrive first: read again, for up to
    `wait` seconds, until a line of the request is there (its access line is written
    last, after its error lines)."""
    if not request_id:
        return []
    deadline = time.monotonic() + wait
    while True:
        try:
            text = container.logs().decode(errors="replace")
        except Exception:
            return []
        mine = [line.strip() for line in text.splitlines() if request_id in line]
        if mine or time.monotonic() >= deadline:
            found = [line for line in mine if '"latency_ms"' not in line]
            return [line[:400] for line in found[:limit]]
        time.sleep(0.1)


def wait_ready(
    container: Any,
    url: str,
    timeout: float = 60,
    cancel: threading.Event | None = None,
    memory_limit: str | None = None,
    excluded: dict[str, list[str]] | None = None,
) -> float:
    """Seconds until the model answered ready; fails as soon as the model failed to load
    (the server says so), the container stopped, or `timeout` passed; `Cancelled` when
    `cancel` is set meanwhile."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        raise_if_cancelled(cancel)
        container.reload()
        if container.status in ("exited", "dead"):
            state = container.attrs["State"]
            if state.get("OOMKilled"):
                raise WorkbenchError(
                    f"the container ran out of memory before it was ready: the kernel killed "
                    f"it at its memory limit ({memory_limit or 'the limit set'}) while the "
                    f"model loaded (exit code {state.get('ExitCode')}, OOMKilled); its last "
                    "log lines: " + logs_tail(container, 3).replace("\n", " | ")[-400:],
                    fix="raise serve.memory_limit in workbench.yaml (each worker loads its "
                    "own copy of the model; fewer serve.workers need less), or make the "
                    "model smaller.",
                )
            raise WorkbenchError(
                f"the container stopped before it was ready (exit code "
                f"{container.attrs['State'].get('ExitCode')}); its last log lines: "
                + logs_tail(container, 3).replace("\n", " | ")[-600:],
                fix="fix what the log says (often the model fails to load in the image).",
            )
        with contextlib.suppress(OSError, ValueError):
            answer = request("GET", f"{url}/health/ready", timeout=2)
            if answer.status == 200:
                return time.perf_counter() - started
            detail = answer.json().get("detail") if answer.status == 503 else None
            if detail:
                # The cause, once; the traceback stays in the container's log (kept by
                # `running` in its log file), not repeated in every message.
                raise ModelLoadFailed(
                    f"the model failed to load in the container after "
                    f"{time.perf_counter() - started:.1f} s: {str(detail)[:300]}",
                    fix=load_hint(str(detail) + logs_tail(container, 60), excluded),
                )
        time.sleep(0.1)
    raise WorkbenchError(
        f"the container was not ready within {timeout:.0f} s; its last log lines: "
        + logs_tail(container).replace("\n", " | "),
        fix="check that the model loads in that time, or raise serve.ready_timeout in "
        "workbench.yaml.",
    )


def save_logs(container: Any, target: Path) -> Path | None:
    """Keep the container's whole log for after it is gone."""
    try:
        data = container.logs()
    except Exception:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = open_no_follow(
        target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, what="the container's log"
    )
    with open(descriptor, "wb") as handle:
        handle.write(data)
    return target


def _unremoved_file(root: Path) -> Path:
    return scratch_path(
        root, "serve", "unremoved-sessions", what="the list of unremoved containers"
    )


def remember_unremoved(root: Path, session: str) -> None:
    """A session whose containers could not be removed (the engine went away): kept, so the
    next command that reaches the engine removes them."""
    target = _unremoved_file(root)
    descriptor = open_no_follow(
        target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, what="the list of unremoved containers"
    )
    with open(descriptor, "a", encoding="utf-8") as sessions:
        sessions.write(session + "\n")


def sweep_unremoved(client: Any, root: Path) -> list[str]:
    """Remove the containers of sessions an earlier run could not clean up (the engine was
    away, or the process was killed outright); their names."""
    target = _unremoved_file(root)
    try:
        sessions = [line.strip() for line in target.read_text().splitlines() if line.strip()]
    except OSError:
        sessions = []
    removed, left = [], []
    sessions_file.sweep_orphans(client, root)  # written down, never ended: a killed process
    for session in dict.fromkeys(sessions):
        try:
            found = client.containers.list(
                ignore_removed=True, all=True, filters={"label": f"{SESSION_LABEL}={session}"}
            )
        except Exception:
            left.append(session)
            continue
        for container in found:
            if remove(container):
                removed.append(container.name)
            else:
                left.append(session)
    if not sessions:
        return removed
    if left:
        descriptor = open_no_follow(
            target, os.O_WRONLY | os.O_TRUNC, what="the list of unremoved containers"
        )
        with open(descriptor, "w", encoding="utf-8") as kept:
            kept.write("".join(f"{s}\n" for s in dict.fromkeys(left)))
    else:
        target.unlink(missing_ok=True)
    return removed


@contextlib.contextmanager
def running(
    client: Any,
    image: str,
    manifest: Manifest,
    *,
    host_port: int | None = None,
    log_file: Path | None = None,
    env: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[Running]:
    """The container, ready; removed on the way out, on errors and Ctrl-C too, its log kept
    in `log_file` first. An interrupt can land anywhere, even between the engine creating the
    container and us holding it: on the way out, whatever carries this session's label is
    removed too, so no container is ever left behind."""
    session = uuid.uuid4().hex
    container = None
    if manifest.serve.gpu and (absent := gpu_absent(client)):
        raise WorkbenchError(
            f"serve.gpu asks for {manifest.serve.gpu} GPU(s) and there is {absent}; the image "
            "was not run.",
            fix="run it on a machine with an NVIDIA GPU, its driver and the NVIDIA Container "
            "Toolkit (the engine then lists the nvidia runtime), or set serve.gpu to 0 for a "
            "CPU image.",
        )
    sweep_unremoved(client, manifest.root)  # what a run the engine dropped left behind
    sessions_file.begin(manifest.root, session)  # before the container exists
    try:
        with commands.running(f"docker run --read-only --cap-drop ALL {image[:19]}"):
            container = start(
                client, image, manifest, host_port=host_port, session=session, env=env
            )
        container.reload()
        bound = container.attrs["NetworkSettings"]["Ports"][f"{manifest.serve.port}/tcp"][0]
        run = Running(container, int(bound["HostPort"]), 0.0)
        run.ready_seconds = wait_ready(
            container,
            run.url,
            manifest.serve.ready_timeout,
            cancel,
            manifest.serve.memory_limit,
            _excluded(manifest.root),
        )
        yield run
    finally:
        name = container.short_id if container is not None else f"session {session[:12]}"
        with commands.running(f"docker rm --force {name}"):
            _clean_up(client, manifest.root, session, container, log_file)


def _excluded(root: Path) -> dict[str, list[str]]:
    """What snapshot.exclude left out of the image (none without a readable snapshot)."""
    try:
        return read_snapshot(root).excluded
    except WorkbenchError:
        return {}


def _clean_up(client: Any, root: Path, session: str, container: Any, log_file: Path | None) -> None:
    """Keep the log, remove the container and whatever else carries the session's label.
    A signal can land here too (the run was just ending): each step still runs, the first
    interrupt is raised again at the end, so no container is left by an ill-timed Ctrl-C."""
    interrupted: BaseException | None = None
    removed = container is None
    done = False
    for attempt in range(3):  # again only after an interrupt: an engine away fails at once
        try:
            if attempt == 0 and container is not None and log_file is not None:
                with contextlib.suppress(Exception):
                    save_logs(container, log_file)
            removed = removed or remove(container)
            if container is None:
                # Interrupted while the engine was creating it: a create already sent may
                # land a moment after; list the session's label once it has.
                time.sleep(0.5)
            done = remove_session(client, session) and removed
            break
        except BaseException as exc:  # KeyboardInterrupt / SystemExit mid-cleanup
            interrupted = interrupted or exc
    if not done:
        remember_unremoved(root, session)
    sessions_file.end(root, session)  # removed, or in the list of unremoved ones
    if interrupted is not None:
        raise interrupted


def containers_of(client: Any, project: str) -> list[Any]:
    """The containers the workbench started for the project whose id is `project`."""
    return list(
        client.containers.list(
            ignore_removed=True,
            all=True,
            filters={"label": [RUN_LABEL, f"{PROJECT_ID_LABEL}={project}"]},
        )
    )


@dataclass
class Cleaned:
    removed: list[str]  # names of this project's containers, now removed
    others: int  # workbench containers of other projects (or of no known project), left alone


def clean(client: Any, project: str | None) -> Cleaned:
    """Remove the containers the workbench started for the project whose id is `project`
    (by label), running or not; with `project=None`, every workbench container on the
    engine, other projects' included."""
    if project is None:
        mine = client.containers.list(ignore_removed=True, all=True, filters={"label": RUN_LABEL})
    else:
        mine = containers_of(client, project)
    removed = []
    for container in mine:
        removed.append(container.name)
        remove(container)
    others = len(
        client.containers.list(ignore_removed=True, all=True, filters={"label": RUN_LABEL})
    )
    return Cleaned(removed, others)
