"""Benchmarks of the Serve step, side by side in one run on the same iris model.

1. Rebuild after a model-only change against the cold build (target: under 15%).
2. Image size against the base image plus the installed packages (target: within 15%).
3. Single-record p50 latency and throughput with 8 concurrent clients (ApacheBench,
   keep-alive, where installed), through the
   container against a bare ASGI endpoint calling the same model in-process
   (target: within 1.5x).
4. Throughput against `mlflow models serve` of the same model, when an MLflow
   environment exists in the cache (target: at least 5x). Create it with
   `--with-mlflow` (a one-off install from PyPI).

    .venv/bin/python tests/bench/bench_serve.py [--requests 400] [--with-mlflow]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
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
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from workbench.demo.parts import ensure_base_image  # noqa: E402
from workbench.kernel.docker import docker_client  # noqa: E402
from workbench.kernel.http import free_port  # noqa: E402
from workbench.kernel.paths import cache_dir  # noqa: E402
from workbench.project.manifest import load_manifest  # noqa: E402
from workbench.project.scaffold import copy_example, make_example_env  # noqa: E402
from workbench.steps.serve import run  # noqa: E402
from workbench.steps.serve.session import build  # noqa: E402
from workbench.steps.snapshot.take import run_snapshot  # noqa: E402

RECORD: dict[str, object] = {
    "sepal_length": 5.1,
    "sepal_width": 3.5,
    "petal_length": 1.4,
    "petal_width": 0.2,
}
BARE_APP = """
import joblib, sys
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
model = joblib.load(sys.argv[1])
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
async def predict(request: Request):
    record = await request.json()
    row = [[record[f] for f in FEATURES]]
    proba = model.predict_proba(row)[0]
    return JSONResponse({"prediction": str(model.predict(row)[0]),
                         "probabilities": dict(zip(map(str, model.classes_), map(float, proba)))})
async def batch(request: Request):
    # The stack's limit on batches: one array in, one predict on it, plain lists out.
    records = await request.json()
    rows = [[r[f] for f in FEATURES] for r in records]
    return JSONResponse([str(p) for p in model.predict(rows)])
app = Starlette(routes=[Route("/predict", predict, methods=["POST"]),
                        Route("/batch", batch, methods=["POST"])])
if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def batch_rate(url: str, size: int = 100, requests: int = 200) -> float:
    """Records per second answered through `url`, sequential batches of `size` records."""
    records = [RECORD] * size
    with httpx.Client() as client:
        for _ in range(10):
            client.post(url, json=records).raise_for_status()
        started = time.perf_counter()
        for _ in range(requests):
            client.post(url, json=records).raise_for_status()
        return size * requests / (time.perf_counter() - started)


def load(
    url: str, requests: int, clients: int, body: dict[str, object] = RECORD
) -> tuple[float, float]:
    """(p50 latency in ms of single sequential requests, throughput with `clients` threads)."""
    with httpx.Client() as client:
        for _ in range(20):
            client.post(url, json=body)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.post(url, json=body).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    if shutil.which("ab"):
        return statistics.median(times), ab_throughput(url, body, requests * 5, clients)
    per_client = requests // clients
    errors: list[Exception] = []

    def worker() -> None:
        with httpx.Client() as client:
            for _ in range(per_client):
                try:
                    client.post(url, json=body).raise_for_status()
                except Exception as exc:  # counted, not fatal
                    errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        print(f"  ({len(errors)} failed requests)")
    return statistics.median(times), per_client * clients / elapsed


def ab_throughput(url: str, body: dict[str, object], requests: int, clients: int) -> float:
    """Requests per second measured by ApacheBench (keep-alive): a load generator that is
    not itself the bottleneck, as a Python client on two cores would be."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(body, handle)
    try:
        out = subprocess.run(
            [
                "ab",
                "-q",
                "-k",
                "-n",
                str(requests),
                "-c",
                str(clients),
                "-p",
                handle.name,
                "-T",
                "application/json",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    if failed or non_2xx:
        print(f"  (ab: {failed} failed, {non_2xx.group(1) if non_2xx else 0} non-2xx)")
    return float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, json=RECORD, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} never answered")


def retrain(project: Path, python: Path, c: float) -> None:
    """A model-only change: the same pipeline with another regularisation."""
    code = textwrap.dedent(f"""
        import joblib
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        iris = load_iris()
        m = make_pipeline(StandardScaler(), LogisticRegression(C={c}, max_iter=500))
        m.fit(iris.data, iris.target_names[iris.target])
        m.feature_names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        joblib.dump(m, "model/model.joblib")
    """)
    subprocess.run([str(python), "-c", code], cwd=project, check=True)


def timed_build(project: Path, nocache: bool = False) -> tuple[float, str]:
    manifest = load_manifest(project)
    started = time.perf_counter()
    _, built = build(manifest, lambda _: None, threading.Event(), nocache=nocache)
    return time.perf_counter() - started, built.image_id


def mlflow_env(create: bool) -> Path | None:
    root = cache_dir() / "bench-envs" / "mlflow"
    if (root / ".complete").exists():
        return root / "bin" / "python"
    if not create:
        return None
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    subprocess.run(
        [
            str(root / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "scikit-learn==1.9.1",
            "joblib==1.6.0",
            "mlflow",
        ],
        check=True,
    )
    (root / ".complete").touch()
    return root / "bin" / "python"


def measure_mlflow(python: Path, model_file: Path, requests: int) -> tuple[float, float] | None:
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "mlflow-model"
        subprocess.run(
            [
                str(python),
                "-c",
                textwrap.dedent(f"""
            import joblib, mlflow.sklearn
            mlflow.sklearn.save_model(joblib.load({str(model_file)!r}), {str(model_dir)!r})
        """),
            ],
            check=True,
            capture_output=True,
        )
        port = free_port()
        server = subprocess.Popen(
            [
                str(python),
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                str(model_dir),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "--env-manager",
                "local",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            # mlflow starts `uvicorn` by name: its environment's bin must be on PATH.
            env={**os.environ, "PATH": f"{python.parent}:{os.environ.get('PATH', '')}"},
        )
        try:
            url = f"http://127.0.0.1:{port}/invocations"
            body = {"dataframe_split": {"columns": list(RECORD), "data": [list(RECORD.values())]}}
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if httpx.post(url, json=body, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            else:
                return None
            return load(url, requests, 8, body)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--with-mlflow", action="store_true")
    args = parser.parse_args()
    ensure_base_image()
    client = docker_client()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_example("iris", Path(tmp) / "iris")
        python = make_example_env(project)
        run_snapshot(load_manifest(project), lambda _: None)

        cold, image_id = timed_build(project, nocache=True)
        retrain(project, python, c=0.5)
        rebuild, image_id = timed_build(project)
        print(
            f"1. cold build {cold:.1f} s; rebuild after a model-only change {rebuild:.1f} s "
            f"= {100 * rebuild / cold:.1f}% of cold (target < 15%)"
        )

        image = client.images.get(image_id)
        base = client.images.get(load_manifest(project).serve.base_image or "python:3.11-slim")
        venv_bytes = int(
            client.containers.run(image_id, entrypoint=["du", "-sb", "/opt/venv"], remove=True)
            .decode()
            .split()[0]
        )
        ideal = base.attrs["Size"] + venv_bytes
        print(
            f"2. image {image.attrs['Size'] / 1e6:.0f} MB; base {base.attrs['Size'] / 1e6:.0f} "
            f"MB + installed packages {venv_bytes / 1e6:.0f} MB = {ideal / 1e6:.0f} MB; "
            f"overhead {100 * (image.attrs['Size'] - ideal) / ideal:+.1f}% (target within 15%)"
        )

        manifest = load_manifest(project)
        with run.running(client, image_id, manifest) as live:
            c50, ctp = load(f"{live.url}/predict", args.requests, 8)
            c_batch = batch_rate(f"{live.url}/predict/batch")
        port = free_port()
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        server = subprocess.Popen(
            [sys.executable, str(bare), str(project / "model/model.joblib"), str(port)]
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/predict")
            b50, btp = load(f"http://127.0.0.1:{port}/predict", args.requests, 8)
            b_batch = batch_rate(f"http://127.0.0.1:{port}/batch")
        finally:
            server.terminate()
            server.wait()
        print(
            f"3. p50 latency: container {c50:.2f} ms, bare ASGI in-process {b50:.2f} ms "
            f"({c50 / b50:.2f}x, target <= 1.5x)"
        )
        print(
            f"   throughput with 8 clients: container {ctp:.0f} req/s, bare ASGI {btp:.0f} "
            f"req/s ({btp / ctp:.2f}x slower in the container; target <= 1.5x)"
        )
        print(
            f"   batches of 100: container {c_batch:,.0f} records/s, bare array endpoint "
            f"{b_batch:,.0f} records/s ({c_batch / b_batch:.2f}x of the stack's limit)"
        )
        mlflow_python = mlflow_env(args.with_mlflow)
        if mlflow_python is None:
            print(
                "4. mlflow models serve: skipped (no MLflow environment cached; run with "
                "--with-mlflow once)"
            )
        else:
            measured = measure_mlflow(mlflow_python, project / "model/model.joblib", args.requests)
            if measured is None:
                print("4. mlflow models serve: did not start within 180 s")
            else:
                m50, mtp = measured
                print(
                    f"4. mlflow models serve: p50 {m50:.2f} ms, {mtp:.0f} req/s with 8 "
                    f"clients; workbench container {ctp / mtp:.1f}x its throughput "
                    "(target >= 5x)"
                )
    print(json.dumps({"cold_build_s": round(cold, 2), "rebuild_s": round(rebuild, 2)}))


if __name__ == "__main__":
    main()
