"""Running the image locally, hardened, and always removing the container afterwards."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workbench.kernel.errors import WorkbenchError
from workbench.kernel.http import free_port, request
from workbench.project.manifest import Manifest

RUN_LABEL = "io.workbench.run"
PROJECT_LABEL = "io.workbench.project"


@dataclass
class Running:
    container: Any
    host_port: int
    ready_seconds: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"


def start(client: Any, image: str, manifest: Manifest, *, host_port: int | None = None) -> Any:
    """Start the container: loopback only, read-only root, no capabilities, memory-limited."""
    from docker.errors import APIError  # the SDK only when used (import cost)

    port = host_port or free_port()
    container = None
    try:
        container = client.containers.create(
            image,
            ports={f"{manifest.serve.port}/tcp": ("127.0.0.1", port)},
            read_only=True,
            tmpfs={"/tmp": "rw,size=64m,mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=manifest.serve.memory_limit,
            labels={RUN_LABEL: "1", PROJECT_LABEL: manifest.name},
        )
        container.start()
        return container
    except APIError as exc:
        if container is not None:  # created but not started: never leave it behind
            remove(container)
        text = str(exc.explanation or exc)
        if "port is already allocated" in text or "address already in use" in text:
            raise WorkbenchError(
                f"port {port} on 127.0.0.1 is already in use.",
                fix="stop what listens there, or choose another port with --port.",
            ) from None
        raise WorkbenchError(f"the Docker engine could not start the container: {text}") from None


def logs_tail(container: Any, lines: int = 30) -> str:
    try:
        return container.logs(tail=lines).decode(errors="replace").strip()
    except Exception:
        return "(no logs)"


def wait_ready(container: Any, url: str, timeout: float = 90) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        container.reload()
        if container.status in ("exited", "dead"):
            raise WorkbenchError(
                f"the container stopped before it was ready (exit code "
                f"{container.attrs['State'].get('ExitCode')}); its last log lines: "
                + logs_tail(container).replace("\n", " | "),
                fix="fix what the log says (often the model fails to load in the image).",
            )
        with contextlib.suppress(OSError):
            if request("GET", f"{url}/health/ready", timeout=2).status == 200:
                return time.perf_counter() - started
        time.sleep(0.1)
    raise WorkbenchError(
        f"the container was not ready within {timeout:.0f} s; its last log lines: "
        + logs_tail(container).replace("\n", " | "),
        fix="check that the model loads quickly enough, or raise the timeout.",
    )


def remove(container: Any) -> None:
    with contextlib.suppress(Exception):
        container.remove(force=True)


@contextlib.contextmanager
def running(
    client: Any,
    image: str,
    manifest: Manifest,
    *,
    host_port: int | None = None,
    timeout: float = 90,
) -> Iterator[Running]:
    """The container, ready; removed on the way out, on errors and Ctrl-C too."""
    container = start(client, image, manifest, host_port=host_port)
    try:
        container.reload()
        bound = container.attrs["NetworkSettings"]["Ports"][f"{manifest.serve.port}/tcp"][0]
        run = Running(container, int(bound["HostPort"]), 0.0)
        run.ready_seconds = wait_ready(container, run.url, timeout)
        yield run
    finally:
        remove(container)


def clean(client: Any) -> list[str]:
    """Remove every container the workbench started (by label), running or not."""
    removed = []
    for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
        removed.append(container.name)
        remove(container)
    return removed
