"""The real parts the demo and the tests run on: a Docker engine, a base image, a registry.

Each `ensure_*` is idempotent and quick when the part is already there:

- the Docker engine: use the running one; otherwise, as root on Debian/Ubuntu,
  install `docker.io` and start `dockerd`; otherwise a clear error;
- the base image `python:3.11-slim`: use the local one, else try to pull it,
  else build a stand-in with debootstrap (bookworm + python3) and `docker import`;
- a registry on a free loopback port (Debian's `docker-registry`), optionally
  with htpasswd authentication, torn down afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.kernel.docker import docker_client, short_error
from workbench.kernel.errors import UnavailableError
from workbench.kernel.http import free_port, port_free
from workbench.kernel.lock import cache_lock
from workbench.kernel.paths import cache_dir

if TYPE_CHECKING:
    import docker

Progress = Callable[[str], None]
DOCKERD_LOG = Path("/var/log/workbench-dockerd.log")
# Not `--userland-proxy=false`: measured, a container published on loopback answered no
# sooner for it (15 start-probe-remove rounds took 28-29 s against 13.3-13.6 s with the
# engine's `docker-proxy`: a connection made before the server listens waited on the
# kernel's NAT instead of being refused at once), for the same CPU.
DOCKERD = ["dockerd"]
DEFAULT_BASE_IMAGE = "python:3.11-slim"
DEBIAN_MIRROR = os.environ.get("WORKBENCH_DEBIAN_MIRROR", "http://deb.debian.org/debian")
STAND_IN_PACKAGES = "python3,python3-venv,python3-pip,ca-certificates"
STAND_IN_LABEL = "io.workbench.stand-in"


def _quiet(_: str) -> None:
    return None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _has_apt() -> bool:
    return shutil.which("apt-get") is not None


def _apt_install(packages: list[str], progress: Progress) -> None:
    progress(f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise UnavailableError(
                f"`{' '.join(argv)}` failed: {result.stderr.strip()[-400:]}",
                fix=f"install {' '.join(packages)} by hand, then run again.",
            )


# --- the Docker engine ------------------------------------------------------------------


def ensure_engine(progress: Progress = _quiet, wait_seconds: float = 60) -> docker.DockerClient:
    with contextlib.suppress(UnavailableError):
        return docker_client()
    if not (_is_root() and _has_apt()):
        return docker_client()  # raises the clear "no engine" error
    if shutil.which("dockerd") is None:
        _apt_install(["docker.io"], progress)
    progress(f"starting dockerd (log: {DOCKERD_LOG})")
    with open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen(
            DOCKERD, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(UnavailableError):
            return docker_client()
        time.sleep(0.5)
    raise UnavailableError(
        f"dockerd was started but did not answer within {wait_seconds:.0f} s.",
        fix=f"read {DOCKERD_LOG} for the reason.",
    )


# --- the base image ---------------------------------------------------------------------


def image_exists(client: docker.DockerClient, ref: str) -> bool:
    from docker.errors import ImageNotFound  # the SDK only when used (import cost)

    try:
        client.images.get(ref)
    except ImageNotFound:
        return False
    return True


def ensure_base_image(
    ref: str = DEFAULT_BASE_IMAGE, progress: Progress = _quiet, *, try_pull: bool = True
) -> str:
    """Make `ref` present locally; returns its image id."""
    client = ensure_engine(progress)
    if image_exists(client, ref):
        return str(client.images.get(ref).id)
    # one maker at a time (two commands or parallel tests): the other waits, then finds it
    with cache_lock("base-image", f"making the base image {ref}"):
        if image_exists(client, ref):
            return str(client.images.get(ref).id)
        return _pull_or_build(client, ref, progress, try_pull=try_pull)


def _pull_or_build(
    client: docker.DockerClient, ref: str, progress: Progress, *, try_pull: bool
) -> str:
    from docker.errors import DockerException  # the SDK only when used (import cost)

    if try_pull:
        progress(f"pulling {ref}")
        try:
            return str(client.images.pull(ref).id)
        except DockerException as exc:
            progress(f"cannot pull {ref} ({short_error(exc)}); building a local stand-in")
    return build_stand_in(client, ref, progress)


def build_stand_in(client: docker.DockerClient, ref: str, progress: Progress = _quiet) -> str:
    """A stand-in for python:3.11-slim: Debian bookworm with python3, imported into Docker."""
    if not _is_root():
        raise UnavailableError(
            f"the base image {ref} is not present and cannot be pulled; building a stand-in "
            "needs root (debootstrap).",
            fix=f"run as root once, or load the image by hand (`docker load`), tagged {ref}.",
        )
    if shutil.which("debootstrap") is None:
        if not _has_apt():
            raise UnavailableError(
                "debootstrap is missing and apt-get is not available.",
                fix="install debootstrap, then run again.",
            )
        _apt_install(["debootstrap"], progress)
    rootfs = cache_dir() / "stand-in" / "bookworm-python3"
    done_marker = rootfs.with_suffix(".done")
    if not done_marker.exists():
        shutil.rmtree(rootfs, ignore_errors=True)
        rootfs.parent.mkdir(parents=True, exist_ok=True)
        progress(f"debootstrap bookworm into {rootfs} (about a minute)")
        argv = [
            "debootstrap",
            "--variant=minbase",
            f"--include={STAND_IN_PACKAGES}",
            "bookworm",
            str(rootfs),
            DEBIAN_MIRROR,
        ]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise UnavailableError(
                f"debootstrap failed: {(result.stdout + result.stderr).strip()[-400:]}",
                fix=f"check that {DEBIAN_MIRROR} is reachable (or set WORKBENCH_DEBIAN_MIRROR).",
            )
        for junk in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/info",
        ):
            target = rootfs / junk
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
        done_marker.touch()
    repository, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "latest")
    progress(f"docker import -> {ref}")
    with tempfile.TemporaryDirectory(prefix="workbench-stand-in-") as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        result = subprocess.run(
            ["tar", "-C", str(rootfs), "-cf", str(tarball), "."],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise UnavailableError(
                f"could not pack the stand-in's root file system: {result.stderr}"
            )
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            f'LABEL {STAND_IN_LABEL}="debootstrap bookworm {STAND_IN_PACKAGES}"',
            'CMD ["python3"]',
        ]
        client.api.import_image_from_file(
            str(tarball), repository=repository, tag=tag, changes=changes
        )
    return str(client.images.get(ref).id)


# --- the registry -----------------------------------------------------------------------


@dataclass
class Registry:
    """A registry on loopback, started by `start_registry`; stop it with `stop()`."""

    port: int
    workdir: Path
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.username and self.password:
            return (self.username, self.password)
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
{auth}"""


def _htpasswd(path: Path, username: str, password: str) -> None:
    """Write a bcrypt htpasswd file; the password goes through stdin, never argv."""
    if shutil.which("htpasswd") is None:
        if _is_root() and _has_apt():
            _apt_install(["apache2-utils"], _quiet)
        else:
            raise UnavailableError(
                "htpasswd (apache2-utils) is needed for a registry with auth.",
                fix="install apache2-utils.",
            )
    result = subprocess.run(
        ["htpasswd", "-iBc", str(path), username],
        input=password,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise UnavailableError(f"htpasswd failed: {result.stderr.strip()}")


def start_registry(
    *,
    username: str | None = None,
    password: str | None = None,
    port: int | None = None,
    root: Path | None = None,
    wait_seconds: float = 20,
) -> Registry:
    """Start Debian's docker-registry on a free loopback port (storage in `root` if given)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        if _is_root() and _has_apt():
            _apt_install(["docker-registry"], _quiet)
            binary = shutil.which("docker-registry")
        if binary is None:
            raise UnavailableError(
                "no registry program: Debian's `docker-registry` is not installed.",
                fix="install it (`apt-get install docker-registry`), then run again.",
            )
    if port is not None and not port_free(port):
        raise UnavailableError(
            f"port {port} on 127.0.0.1 is already in use; the registry cannot listen there.",
            fix="stop what holds it, or let the harness pick a free port.",
        )
    workdir = Path(tempfile.mkdtemp(prefix="workbench-registry-"))
    port = port or free_port()
    storage = root or (workdir / "data")
    storage.mkdir(parents=True, exist_ok=True)
    auth = ""
    if username and password:
        htpasswd = workdir / "htpasswd"
        _htpasswd(htpasswd, username, password)
        auth = f"auth:\n  htpasswd:\n    realm: workbench\n    path: {htpasswd}\n"
    config = workdir / "config.yml"
    config.write_text(
        REGISTRY_CONFIG.format(root=storage, port=port, secret=os.urandom(8).hex(), auth=auth)
    )
    log = open(workdir / "registry.log", "wb")  # noqa: SIM115 - lives as long as the process
    process = subprocess.Popen(
        [binary, "serve", str(config)],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    registry = Registry(
        port=port, workdir=workdir, username=username, password=password, process=process
    )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = (workdir / "registry.log").read_text(errors="replace")[-400:]
            registry.stop()
            raise UnavailableError(f"docker-registry exited at start: {text}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            if process.poll() is None:
                return registry
        time.sleep(0.1)
    registry.stop()
    raise UnavailableError(
        f"docker-registry did not listen on 127.0.0.1:{port} within {wait_seconds:.0f} s."
    )


@contextlib.contextmanager
def registry(**kwargs: Any) -> Iterator[Registry]:
    reg = start_registry(**kwargs)
    try:
        yield reg
    finally:
        reg.stop()
