"""The servers `bench_serve.py` compares, each started the way its users start it, and the
load it sends them: sequential single requests over one keep-alive connection, `wrk -c8`
for the p99 under 8 clients, sequential batches of 100 records, and the cold start (from
the start command to the first good answer).

MLflow and BentoML are installed on demand into the user cache (`bench-envs/`), beside
scikit-learn and joblib at the versions the example's model was trained with.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from workbench.kernel.http import free_port
from workbench.kernel.paths import cache_dir

MODEL_LIBRARIES = ("scikit-learn==1.9.1", "joblib==1.6.0")
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
RECORD: dict[str, object] = {
    "sepal_length": 5.1,
    "sepal_width": 3.5,
    "petal_length": 1.4,
    "petal_width": 0.2,
}
BATCH = 100

BARE_APP = """
import joblib, sys
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
model = joblib.load(sys.argv[1])
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
async def ours(request: Request):
    # Our work, by hand: a record in, predict and predict_proba, a dict out.
    record = await request.json()
    row = [[record[f] for f in FEATURES]]
    proba = model.predict_proba(row)[0]
    return JSONResponse({"prediction": str(model.predict(row)[0]),
                         "probabilities": dict(zip(map(str, model.classes_), map(float, proba)))})
async def arrays(request: Request):
    # The stack's limit: an array in, one predict on it, a plain list out.
    rows = await request.json()
    return JSONResponse([str(p) for p in model.predict(np.asarray(rows, dtype=float))])
app = Starlette(routes=[Route("/ours", ours, methods=["POST"]),
                        Route("/arrays", arrays, methods=["POST"])])
if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

BENTO_SERVICE = """
import os
import bentoml
import joblib
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
@bentoml.service(workers=1)
class Iris:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["MODEL_FILE"])
    @bentoml.api
    def predict(self, record: dict) -> dict:
        row = [[record[f] for f in FEATURES]]
        proba = self.model.predict_proba(row)[0]
        return {"prediction": str(self.model.predict(row)[0]),
                "probabilities": dict(zip(map(str, self.model.classes_), map(float, proba)))}
    @bentoml.api
    def batch(self, records: list) -> list:
        rows = [[r[f] for f in FEATURES] for r in records]
        return [str(p) for p in self.model.predict(rows)]
"""


@dataclass
class Endpoint:
    path: str
    body: object


@dataclass
class Figures:
    p50_ms: float
    rps: float
    p99_8_ms: float | None
    rps_8: float | None
    batch_rps: float | None
    cold_s: float


def bench_env(name: str, package: str) -> Path:
    """A virtual environment with `package` and the model's libraries, made once."""
    root = cache_dir() / "bench-envs" / name
    if not (root / ".complete").exists():
        print(f"  installing {package} into {root} (once)", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        subprocess.run(
            [str(root / "bin" / "python"), "-m", "pip", "install", "-q", *MODEL_LIBRARIES, package],
            check=True,
        )
        (root / ".complete").touch()
    return root / "bin" / "python"


class Connection:
    """One keep-alive HTTP/1.1 connection from the standard library: a client that costs
    little, so the server's time dominates what is measured."""

    def __init__(self, port: int) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def post(self, path: str, body: object) -> tuple[int, bytes]:
        payload = json.dumps(body).encode()
        self.http.request("POST", path, payload, {"Content-Type": "application/json"})
        answer = self.http.getresponse()
        return answer.status, answer.read()

    def close(self) -> None:
        self.http.close()


def wait_answer(port: int, endpoint: Endpoint, started: float, timeout: float = 180) -> float:
    """Seconds from `started` to the first 200 from `endpoint`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = Connection(port)
            try:
                status, _ = connection.post(endpoint.path, endpoint.body)
            finally:
                connection.close()
            if status == 200:
                return time.perf_counter() - started
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.02)
    raise RuntimeError(f"no answer on port {port} within {timeout:.0f} s")


def sequential(port: int, endpoint: Endpoint, requests: int) -> tuple[float, float]:
    """(p50 ms, requests per second) of `requests` sequential requests after a warm-up."""
    connection = Connection(port)
    try:
        for _ in range(50):
            connection.post(endpoint.path, endpoint.body)
        times = []
        began = time.perf_counter()
        for _ in range(requests):
            started = time.perf_counter()
            status, body = connection.post(endpoint.path, endpoint.body)
            times.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"{endpoint.path}: {status} {body[:200]!r}")
        elapsed = time.perf_counter() - began
    finally:
        connection.close()
    return statistics.median(times) * 1000, requests / elapsed


def concurrent(
    port: int, endpoint: Endpoint, seconds: int, clients: int = 8
) -> tuple[float, float]:
    """(p99 ms, requests per second) under `clients` connections for `seconds`, by wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(endpoint.body))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(2, clients)}",  # wrk needs as many connections as threads
                f"-c{clients}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}{endpoint.path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert p99 and rps, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(p99.group(1)) * scale, float(rps.group(1))


def batch_rate(port: int, endpoint: Endpoint, requests: int) -> float:
    """Records per second answered in sequential batches of BATCH records."""
    connection = Connection(port)
    try:
        for _ in range(10):
            connection.post(endpoint.path, endpoint.body)
        started = time.perf_counter()
        for _ in range(requests):
            status, body = connection.post(endpoint.path, endpoint.body)
            if status != 200:
                raise RuntimeError(f"{endpoint.path}: {status} {body[:200]!r}")
        return BATCH * requests / (time.perf_counter() - started)
    finally:
        connection.close()


@contextmanager
def process(
    command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    try:
        yield server
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)


def measure(
    start: Callable[[int], AbstractContextManager[object]],
    single: Endpoint,
    batch: Endpoint | None,
    *,
    requests: int,
    seconds: int,
    clients: int = 8,
) -> Figures:
    """Start a server on a free port, time its cold start, load it, stop it; with
    `clients=0` (no wrk), no figures under concurrent clients."""
    port = free_port()
    began = time.perf_counter()
    with start(port):
        cold = wait_answer(port, single, began)
        p50, rps = sequential(port, single, requests)
        p99, rps_8 = concurrent(port, single, seconds, clients) if clients else (None, None)
        records = batch_rate(port, batch, max(20, requests // 10)) if batch else None
    return Figures(p50, rps, p99, rps_8, records, cold)


def mlflow_model(python: Path, model_file: Path, into: Path) -> Path:
    target = into / "mlflow-model"
    if not target.exists():
        code = textwrap.dedent(f"""
            import joblib, mlflow.sklearn
            mlflow.sklearn.save_model(joblib.load({str(model_file)!r}), {str(target)!r})
        """)
        subprocess.run([str(python), "-c", code], check=True, capture_output=True)
    return target


def mlflow_endpoints() -> tuple[Endpoint, Endpoint]:
    def frame(rows: int) -> dict[str, object]:
        return {"dataframe_split": {"columns": FEATURES, "data": [list(RECORD.values())] * rows}}

    return Endpoint("/invocations", frame(1)), Endpoint("/invocations", frame(BATCH))


@contextmanager
def removing_images_of(project: Path) -> Iterator[None]:
    """Afterwards, every image the benchmark built for `project` (each build of it, by the
    project-id label every workbench image carries) is removed: a bench run leaves nothing
    dangling on the engine (the suite runs the benchmarks in smoke mode)."""
    from docker.errors import NotFound

    from workbench.kernel.docker import docker_client
    from workbench.project.manifest import project_id

    label = f"io.workbench.project-id={project_id(project)}"
    try:
        yield
    finally:
        client = docker_client()
        for image in client.images.list(filters={"label": label}):  # its layers go with it
            try:
                client.images.remove(image.id, force=True)
            except NotFound:
                continue  # went with another tag of the same image
