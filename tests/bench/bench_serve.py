"""Benchmarks of the Serve step, side by side in one run on the same iris model.

1. Rebuild after a model-only change against the cold build (target: under 15%).
2. Image size against the base image plus the installed packages (target: within 15%).
3. The serving runtime against the servers users would pick instead, started the way
   their users start them, in one interleaved run (median of `--repeat` rounds; each
   round starts every server afresh): a bare Starlette app calling `predict` on arrays
   (the stack's limit), a bare Starlette app doing our work by hand (record -> predict +
   predict_proba -> dict), our runtime as a local process and in its container,
   `mlflow models serve` and `bentoml serve` (both installed on demand into the user
   cache, `bench-envs/`). Per server: p50 and req/s of sequential single requests over
   one keep-alive connection, p99 and req/s under 8 clients (`wrk -c8`), records/s in
   batches of 100, and the cold start (start command to first good answer). Then the
   ratios the runtime's targets are stated in, and throughput by `serve.workers`.

    .venv/bin/python tests/bench/bench_serve.py [--requests 2000] [--seconds 10] [--repeat 3]
        [--python PATH] [--smoke]

Needs `wrk` (Debian: apt-get install wrk). Prints figures; asserts nothing. `--python`
uses an existing environment of the iris example instead of making one. `--smoke` (as CI
runs it, so the script cannot rot): one round of a few requests at our runtime as a local
process and in its container, no build figures, no MLflow or BentoML, and without `wrk`
no figures under 8 clients; figures, no meaning.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.servers import (  # noqa: E402
    BARE_APP,
    BATCH,
    BENTO_SERVICE,
    RECORD,
    Endpoint,
    Figures,
    bench_env,
    measure,
    mlflow_endpoints,
    mlflow_model,
    process,
    removing_images_of,
)
from workbench.demo.parts import ensure_base_image  # noqa: E402
from workbench.kernel.docker import docker_client  # noqa: E402
from workbench.kernel.paths import cache_dir  # noqa: E402
from workbench.project.lockfile import read_snapshot  # noqa: E402
from workbench.project.manifest import load_manifest  # noqa: E402
from workbench.project.scaffold import copy_example, make_example_env  # noqa: E402
from workbench.steps.serve import run  # noqa: E402
from workbench.steps.serve.session import build  # noqa: E402
from workbench.steps.snapshot.take import run_snapshot  # noqa: E402
from workbench.steps.snapshot.wheels import Target, wheel_dir  # noqa: E402


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


def build_figures(client: object, project: Path, python: Path) -> str:
    """Figures 1 and 2; returns the image id to serve."""
    cold, image_id = timed_build(project, nocache=True)
    retrain(project, python, c=0.5)
    rebuild, image_id = timed_build(project)
    print(
        f"1. cold build {cold:.1f} s; rebuild after a model-only change {rebuild:.1f} s "
        f"= {100 * rebuild / cold:.1f}% of cold (target < 15%)"
    )
    image = client.images.get(image_id)  # type: ignore[attr-defined]
    base = client.images.get(  # type: ignore[attr-defined]
        load_manifest(project).serve.base_image or "python:3.11-slim"
    )
    venv_bytes = int(
        client.containers.run(  # type: ignore[attr-defined]
            image_id, entrypoint=["du", "-sb", "/opt/venv"], remove=True
        )
        .decode()
        .split()[0]
    )
    ideal = base.attrs["Size"] + venv_bytes
    print(
        f"2. image {image.attrs['Size'] / 1e6:.0f} MB; base {base.attrs['Size'] / 1e6:.0f} "
        f"MB + installed packages {venv_bytes / 1e6:.0f} MB = {ideal / 1e6:.0f} MB; "
        f"overhead {100 * (image.attrs['Size'] - ideal) / ideal:+.1f}% (target within 15%)"
    )
    return image_id


def runtime_env(project: Path) -> Path:
    """Our runtime as a local process: the image's own lock installed from the wheel cache
    (what the dependency image was built from) into a virtual environment (made once per
    lock)."""
    lock = project / "environment.lock"
    snapshot = read_snapshot(project)
    wheels = wheel_dir(Target(python=snapshot.target.python, machine=snapshot.target.machine))
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    root = cache_dir() / "bench-envs" / f"runtime-{digest}"
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        subprocess.run(
            [
                str(root / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--find-links",
                str(wheels),
                "--require-hashes",
                "-r",
                str(lock),
            ],
            check=True,
        )
        (root / ".complete").touch()
    return root / "bin" / "python"


def row(name: str, figures: list[Figures]) -> dict[str, float | None]:
    def median(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    return {
        "name": name,  # type: ignore[dict-item]
        "p50_ms": median([f.p50_ms for f in figures]),
        "rps": median([f.rps for f in figures]),
        "p99_8_ms": median([f.p99_8_ms for f in figures]),
        "rps_8": median([f.rps_8 for f in figures]),
        "batch_rps": median([f.batch_rps for f in figures]),
        "cold_s": median([f.cold_s for f in figures]),
    }


def table(rows: list[dict[str, float | None]]) -> str:
    def cell(value: float | None, fmt: str) -> str:
        return "-" if value is None else format(value, fmt)

    lines = [
        "| server | single p50 ms | single req/s | p99 under 8 clients ms | req/s under 8 "
        f"clients | batch of {BATCH} records/s | cold start s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {cell(r['p50_ms'], '.2f')} | {cell(r['rps'], ',.0f')} | "
            f"{cell(r['p99_8_ms'], '.1f')} | {cell(r['rps_8'], ',.0f')} | "
            f"{cell(r['batch_rps'], ',.0f')} | {cell(r['cold_s'], '.2f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-build", action="store_true", help="leave out figures 1 and 2")
    parser.add_argument(
        "--only", default="", help="comma-separated server names to run (default: all)"
    )
    parser.add_argument("--python", type=Path, help="an existing environment of the example")
    parser.add_argument("--smoke", action="store_true", help="a few seconds of each (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.seconds, args.repeat, args.skip_build = 20, 1, 1, True
        args.only = args.only or "local process,container (1"
    wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]

    def selected(name: str) -> bool:
        return not wanted or any(w in name.lower() for w in wanted)

    with_wrk = bool(shutil.which("wrk"))
    if not with_wrk and not args.smoke:
        raise SystemExit("bench_serve needs wrk for the p99 under 8 clients: apt-get install wrk")
    ensure_base_image()
    client = docker_client()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        project = copy_example("iris", Path(tmp) / "iris")
        stack.enter_context(removing_images_of(project))
        if args.python:
            manifest_file = project / "workbench.yaml"
            manifest_file.write_text(
                manifest_file.read_text().replace(
                    "python: .venv/bin/python", f"python: {args.python}", 1
                )
            )
            python = args.python
        else:
            python = make_example_env(project)
        run_snapshot(load_manifest(project), lambda _: None)
        if args.skip_build:
            _, image_id = timed_build(project)
        else:
            image_id = build_figures(client, project, python)
        manifest = load_manifest(project)
        model_file = project / "model" / "model.joblib"
        context = project / ".workbench" / "build"
        app_dir = Path(tmp) / "app"
        shutil.copytree(context, app_dir, ignore=shutil.ignore_patterns("wheels"))
        shutil.copytree(ROOT / "workbench" / "runtime", app_dir / "serving", dirs_exist_ok=True)
        local = runtime_env(project)
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        bento_dir = Path(tmp) / "bento"
        bento_dir.mkdir()
        (bento_dir / "service.py").write_text(BENTO_SERVICE)
        # Installed (once, in the user cache) only when they run; never in a smoke run.
        absent = Path("/nonexistent/bin/python")  # never started: the server is not selected
        mlflow = bench_env("mlflow", "mlflow") if selected("`mlflow") else absent
        bento = bench_env("bentoml", "bentoml") if selected("`bentoml") else absent
        mlflow_dir = mlflow_model(mlflow, model_file, Path(tmp)) if selected("`mlflow") else absent
        ml_single, ml_batch = mlflow_endpoints()
        ours_single = Endpoint("/predict", RECORD)
        ours_batch = Endpoint("/predict/batch", [RECORD] * BATCH)
        arrays = [list(RECORD.values())]

        def container(workers: int) -> Callable[[int], AbstractContextManager[object]]:
            @contextmanager
            def start(port: int) -> Iterator[object]:
                with run.running(
                    client,
                    image_id,
                    manifest,
                    host_port=port,
                    env={"WORKBENCH_WORKERS": str(workers)},
                ) as live:
                    yield live

            return start

        servers: list[
            tuple[str, Callable[[int], AbstractContextManager[object]], Endpoint, Endpoint | None]
        ] = [
            (
                "bare Starlette, `predict` on arrays (the stack's limit)",
                lambda port: process([str(local), str(bare), str(model_file), str(port)]),
                Endpoint("/arrays", arrays),
                Endpoint("/arrays", arrays * BATCH),
            ),
            (
                "bare Starlette doing our work (record -> predict + predict_proba -> dict)",
                lambda port: process([str(local), str(bare), str(model_file), str(port)]),
                Endpoint("/ours", RECORD),
                None,
            ),
            (
                "our runtime, local process",
                lambda port: process(
                    [str(local), "-m", "serving"],
                    env={
                        "WORKBENCH_APP_DIR": str(app_dir),
                        "PORT": str(port),
                        "WORKBENCH_HOST": "127.0.0.1",
                        "WORKBENCH_WORKERS": "1",
                    },
                    cwd=app_dir,
                ),
                ours_single,
                ours_batch,
            ),
            ("our runtime, in the container (1 worker)", container(1), ours_single, ours_batch),
            ("our runtime, in the container (2 workers)", container(2), ours_single, ours_batch),
            (
                "`mlflow models serve` (predict only)",
                lambda port: process(
                    [
                        str(mlflow),
                        "-m",
                        "mlflow",
                        "models",
                        "serve",
                        "-m",
                        str(mlflow_dir),
                        "-p",
                        str(port),
                        "-h",
                        "127.0.0.1",
                        "--env-manager",
                        "local",
                        "-w",
                        "1",
                    ],
                    # mlflow starts `uvicorn` by name: its environment's bin must be on PATH.
                    env={"PATH": f"{mlflow.parent}:{os.environ.get('PATH', '')}"},
                ),
                ml_single,
                ml_batch,
            ),
            (
                "`bentoml serve`",
                lambda port: process(
                    [
                        str(bento.parent / "bentoml"),
                        "serve",
                        "service:Iris",
                        "--port",
                        str(port),
                        "--host",
                        "127.0.0.1",
                    ],
                    env={
                        "MODEL_FILE": str(model_file),
                        "PATH": f"{bento.parent}:{os.environ.get('PATH', '')}",
                        "BENTOML_DO_NOT_TRACK": "true",
                    },
                    cwd=bento_dir,
                ),
                Endpoint("/predict", {"record": RECORD}),
                Endpoint("/batch", {"records": [RECORD] * BATCH}),
            ),
        ]
        servers = [s for s in servers if selected(s[0])]
        results: dict[str, list[Figures]] = {name: [] for name, *_ in servers}
        for round_ in range(args.repeat):
            for name, start, single, batch in servers:
                print(f"  round {round_ + 1}/{args.repeat}: {name}", flush=True)
                results[name].append(
                    measure(
                        start,
                        single,
                        batch,
                        requests=args.requests,
                        seconds=args.seconds,
                        clients=8 if with_wrk else 0,
                    )
                )
        rows = [row(name, figures) for name, figures in results.items()]
        print(f"3. serving, side by side (medians of {args.repeat} rounds):")
        print(table(rows))
        ratios(rows)
        print(json.dumps(rows))


TARGETS = (
    # (what, ours, theirs, figure, target ratio, at least?)
    (
        "single req/s vs bare Starlette doing our work",
        "container (1",
        "bare Starlette doing",
        "rps",
        0.85,
        True,
    ),
    ("single req/s vs MLflow", "container (1", "`mlflow", "rps", 5.0, True),
    ("single req/s vs BentoML", "container (1", "`bentoml", "rps", 3.0, True),
    ("batch records/s vs BentoML", "container (1", "`bentoml", "batch_rps", 3.0, True),
    (
        "batch records/s vs the bare array endpoint",
        "container (1",
        "bare Starlette, `predict",
        "batch_rps",
        0.5,
        True,
    ),
    ("cold start vs MLflow", "container (1", "`mlflow", "cold_s", 1 / 3, False),
    ("req/s under 8 clients, 2 workers vs 1", "container (2", "container (1", "rps_8", 1.0, True),
)


def ratios(rows: list[dict[str, float | None]]) -> None:
    def find(part: str) -> dict[str, float | None] | None:
        return next((r for r in rows if part in str(r["name"])), None)

    print("ratios:")
    for what, mine, theirs, figure, target, at_least in TARGETS:
        a, b = find(mine), find(theirs)
        if not a or not b or not a[figure] or not b[figure]:
            continue
        value = a[figure] / b[figure]  # type: ignore[operator]
        met = value >= target if at_least else value <= target
        sign = ">=" if at_least else "<="
        print(f"  {what}: {value:.2f}x (target {sign} {target:.2f}x) {'met' if met else 'MISSED'}")
    ours = find("container (1")
    if ours and ours["p99_8_ms"] is not None:
        met = "met" if ours["p99_8_ms"] <= 10 else "MISSED"
        print(
            f"  p99 under 8 clients, container: {ours['p99_8_ms']:.1f} ms (target <= 10 ms) {met}"
        )


if __name__ == "__main__":
    main()
