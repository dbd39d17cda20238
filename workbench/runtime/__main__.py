"""`python -m serving`: start the HTTP server (the image's entrypoint).

Uvicorn stops gracefully on SIGTERM: it stops accepting, finishes the requests
in flight, then exits 0.

Workers: `WORKBENCH_WORKERS` (set at `docker run`), else `workers` in serving.json (the
manifest's `serve.workers`), else the container's CPU quota, at most 4. With more than one, each
worker is a process of its own with its own listening socket on the same port
(SO_REUSEPORT: the kernel spreads connections), created as a TCP socket so that asyncio
sets TCP_NODELAY on every connection. Uvicorn's own `--workers` shares one socket made
without the TCP protocol number, asyncio then leaves Nagle's algorithm on, and small
answers wait for the client's delayed ACK: the known 40 ms cliff. Each worker loads the
model before it listens, so no connection ever reaches a worker that is still loading;
the parent forwards SIGTERM/SIGINT and exits 0 once every worker stopped cleanly, or
stops them all if one dies.

Before it forks, the parent imports the scientific libraries the image has installed among
those that may be forked once imported (`FORK_SAFE`: OpenBLAS's and OpenMP's thread pools
start again in a forked child): each worker inherits them instead of importing them again,
a second or more of CPU per worker at every start, and their pages are shared. NumPy's
global random generator is seeded again in each worker. The model itself is still loaded
by each worker (a model object, or a pool made while loading, is never carried over a fork).
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import sys
import tempfile
from pathlib import Path

DEFAULT_MAX = 4
# Imported once by the parent before it forks the workers, where installed: libraries that
# may be forked once imported (OpenBLAS's and OpenMP's pools start again in the child). Not
# torch, onnxruntime or the boosters: a runtime made while importing could not be forked.
FORK_SAFE = ("numpy", "scipy", "pandas", "sklearn", "joblib")


CGROUP_V2_CPU = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")  # cpu.cfs_quota_us and cpu.cfs_period_us


def cpu_quota(cpu_max: Path = CGROUP_V2_CPU, cpu_v1: Path = CGROUP_V1_CPU) -> int:
    """CPUs this process may use: the cgroup's quota where one is set (v2 `cpu.max`, or v1
    `cpu.cfs_quota_us` over `cpu.cfs_period_us`), else its affinity."""
    cpus = len(os.sched_getaffinity(0))
    quota = period = None
    try:
        text_quota, text_period = cpu_max.read_text().split()[:2]
        if text_quota != "max":
            quota, period = int(text_quota), int(text_period)
    except (OSError, ValueError):
        try:
            v1_quota = int((cpu_v1 / "cpu.cfs_quota_us").read_text())
            v1_period = int((cpu_v1 / "cpu.cfs_period_us").read_text())
            if v1_quota > 0 and v1_period > 0:  # -1: no quota
                quota, period = v1_quota, v1_period
        except (OSError, ValueError):
            pass
    if quota is not None and period:
        cpus = min(cpus, max(1, math.ceil(quota / period)))
    return max(1, cpus)


def writable_folder(candidates: tuple[str, ...] = ("", "/dev/shm")) -> str | None:
    """A folder the workers can share their metrics in: the temp folder (a tmpfs on /tmp),
    else /dev/shm (the engine mounts one even under --read-only); None where neither is
    writable (a read-only root without a tmpfs)."""
    for candidate in candidates:
        try:
            return tempfile.mkdtemp(prefix="workbench-metrics-", dir=candidate or None)
        except OSError:
            continue
    return None


def worker_count(app_dir: Path) -> int:
    named = os.environ.get("WORKBENCH_WORKERS", "").strip()
    if named:
        if not named.isdigit() or int(named) < 1:
            raise SystemExit(
                f"WORKBENCH_WORKERS={named!r}: expected a whole number of processes, 1 or more"
            )
        return int(named)
    try:
        configured = json.loads((app_dir / "serving.json").read_text()).get("workers")
    except (OSError, ValueError):
        configured = None
    # Each worker holds its own copy of the model: by default no more than DEFAULT_MAX, so a
    # container without a CPU quota on a large host does not load the model 64 times.
    return int(configured) if configured else min(cpu_quota(), DEFAULT_MAX)


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def serve(host: str, port: int, *, preload: bool, sock: socket.socket | None = None) -> None:
    import uvicorn

    from . import core
    from .app import APP_DIR, create_app
    from .protocol import HeaderTimeoutProtocol

    app = create_app(APP_DIR)
    if preload:
        core.model().load()  # before listening: no connection reaches a loading worker
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        http=HeaderTimeoutProtocol,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    if sock is None:
        server.run()
    else:
        server.run(sockets=[sock])


def import_shared(names: tuple[str, ...] = FORK_SAFE) -> list[str]:
    """Import the installed libraries of `names` once, before forking: the names imported.
    A library that fails to import is left for the workers, whose load then says why."""
    import importlib
    import importlib.util

    done = []
    for name in names:
        try:
            if importlib.util.find_spec(name) is None:
                continue
            importlib.import_module(name)
        except Exception:  # the worker imports it again and reports the failure
            continue
        done.append(name)
    if "numpy" in done:  # each worker its own random stream, as when it imported NumPy itself
        os.register_at_fork(after_in_child=_reseed_numpy)
    return done


def _reseed_numpy() -> None:
    random = sys.modules.get("numpy.random")
    if random is not None:
        random.seed()  # NumPy's global generator, from the OS's entropy


def supervise(host: str, port: int, workers: int) -> int:
    """Import the shared libraries, fork `workers` servers; forward stop signals; exit 0
    only on a clean stop of all. A stop while importing ends it at once, forking nothing."""
    children: dict[int, int] = {}
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)  # before the imports: a `docker stop` is heard
    signal.signal(signal.SIGINT, stop)
    shared = import_shared()
    line = json.dumps(
        {"event": "workers", "count": workers, "shared_imports": shared}, separators=(",", ":")
    )
    logging.getLogger("serving").info(line)
    if stopping:
        return 0
    stops = {signal.SIGTERM, signal.SIGINT}
    for index in range(workers):
        if stopping:  # stopped while forking: no more workers
            break
        # Held while forking: a child must never run the parent's `stop` (its siblings).
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        pid = os.fork()
        if pid == 0:  # the worker: its own socket, its own model
            # Uvicorn re-raises the stop signal after its graceful stop, under the handler it
            # found: a no-op here (a worker is not PID 1, the default would kill it: -15).
            signal.signal(signal.SIGTERM, lambda *_: None)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it with SIGTERM
            signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
            code = 0
            try:
                serve(host, port, preload=True, sock=listening_socket(host, port))
            except BaseException as exc:  # a port taken, a broken app: said, and not exit 0
                logging.getLogger("serving").error(
                    json.dumps(
                        {"event": "worker_failed", "error": f"{type(exc).__name__}: {exc}"},
                        separators=(",", ":"),
                    )
                )
                code = 1
            finally:
                os._exit(code)
        children[pid] = index
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
    if stopping:  # a stop that came while forking: every worker forked hears it
        stop(signal.SIGTERM, None)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        children.pop(pid, None)
        exit_code = os.waitstatus_to_exitcode(code)
        if exit_code != 0 or not stopping:
            logging.getLogger("serving").error(
                json.dumps(
                    {"event": "worker_stopped", "pid": pid, "exit_code": exit_code},
                    separators=(",", ":"),
                )
            )
            status = status or (exit_code if exit_code > 0 else 1)
            if not stopping:
                stop(signal.SIGTERM, None)
    return status


def main() -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    app_dir = Path(os.environ.get("WORKBENCH_APP_DIR", "/app"))
    host = os.environ.get("WORKBENCH_HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    workers = worker_count(app_dir)
    if workers == 1:
        line = json.dumps({"event": "workers", "count": 1}, separators=(",", ":"))
        logging.getLogger("serving").info(line)
        serve(host, port, preload=False)
        return
    # Counters of every worker in one /metrics: prometheus-client's multiprocess mode,
    # chosen before the library is imported (tmpfs /tmp in the serve test's container).
    metrics_dir = writable_folder()
    if metrics_dir is None:
        # A read-only root with no tmpfs and no /dev/shm: serve anyway, with one worker,
        # and say why (several workers cannot add up their metrics without a folder).
        line = json.dumps(
            {
                "event": "workers",
                "count": 1,
                "asked": workers,
                "why": "no writable temp folder (read-only root without a tmpfs on /tmp): "
                "one worker",
            },
            separators=(",", ":"),
        )
        logging.getLogger("serving").warning(line)
        serve(host, port, preload=False)
        return
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    sys.exit(supervise(host, port, workers))


if __name__ == "__main__":
    main()
