"""Benchmark: serving a model people really ship, side by side in one run (issue 27).

The model: a scikit-learn Pipeline, a ColumnTransformer (one-hot over two string columns,
imputing and scaling two numbers, one with missing values) and a logistic regression,
fitted on a DataFrame of a few thousand synthetic rows. Its fixed cost per call is what
micro-batching amortises. The servers, each with one worker, started as their users start
them:

- a bare Starlette app doing the same work by hand (record -> DataFrame -> predict +
  predict_proba -> dict);
- our image with batching as decided at load (`auto`), and with `WORKBENCH_BATCHING=off`;
- `mlflow models serve` (pyfunc: predict only);
- `bentoml serve` with its adaptive batching on (`batchable=True`, as its docs show it).

Per server: requests/s and p99 of single records under 1, 8 and 32 clients (`wrk`), records/s
in sequential batches of 100, and the answer to one record checked against the model's own
(not only the status code). A server that fails or dies is a row saying so; the run goes on.
Prints figures; asserts nothing.

    .venv/bin/python tests/bench/bench_pipeline.py [--seconds 10] [--smoke]

`--smoke` (as CI runs it, so the script cannot rot): our image only, one second per load,
no MLflow or BentoML; figures, no meaning. Needs `wrk` (apt-get install wrk) except in a
smoke run without it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.servers import (  # noqa: E402
    Connection,
    Endpoint,
    bench_env,
    concurrent,
    process,
    removing_images_of,
    wait_answer,
)
from tests.helpers import cached_env  # noqa: E402
from workbench.demo.parts import ensure_base_image  # noqa: E402
from workbench.kernel.docker import docker_client  # noqa: E402
from workbench.kernel.http import free_port  # noqa: E402
from workbench.project.manifest import load_manifest  # noqa: E402
from workbench.steps.serve import run  # noqa: E402
from workbench.steps.serve.session import build  # noqa: E402
from workbench.steps.snapshot.take import run_snapshot  # noqa: E402

LIBRARIES = ("scikit-learn==1.9.1", "joblib==1.6.0", "pandas==2.3.3")
FEATURES = ["plan", "region", "tenure", "spend"]
RECORD: dict[str, Any] = {"plan": "pro", "region": "north", "tenure": 14, "spend": 120.5}
BATCH = 100
CLIENTS = (1, 8, 32)

TRAIN = """\
import random
import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
random.seed(27)
n = 4000
frame = pd.DataFrame({
    "plan": [random.choice(["free", "pro", "team"]) for _ in range(n)],
    "region": [random.choice(["north", "south", "east", "west", "centre"]) for _ in range(n)],
    "tenure": [random.randint(0, 72) for _ in range(n)],
    "spend": [random.choice([None, round(random.uniform(0, 500), 2)]) for _ in range(n)],
})
frame["churned"] = ((frame["tenure"] < 12) | (frame["plan"] == "free")).map(
    {True: "yes", False: "no"})
model = make_pipeline(
    ColumnTransformer([
        ("categories", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
        ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), ["tenure", "spend"]),
    ]),
    LogisticRegression(),
).fit(frame[["plan", "region", "tenure", "spend"]], frame["churned"])
joblib.dump(model, "model.joblib")
frame.to_csv("customers.csv", index=False)
print(model.predict(pd.DataFrame([%(record)r]))[0])
"""

BARE_APP = """
import joblib, sys
import pandas as pd
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
model = joblib.load(sys.argv[1])
FEATURES = ["plan", "region", "tenure", "spend"]
async def one(request: Request):
    record = await request.json()
    frame = pd.DataFrame([record], columns=FEATURES)
    proba = model.predict_proba(frame)[0]
    return JSONResponse({"prediction": str(model.predict(frame)[0]),
                         "probabilities": dict(zip(map(str, model.classes_), map(float, proba)))})
async def many(request: Request):
    frame = pd.DataFrame(await request.json(), columns=FEATURES)
    names = list(map(str, model.classes_))
    return JSONResponse([{"prediction": str(c), "probabilities": dict(zip(names, map(float, p)))}
                         for c, p in zip(model.predict(frame), model.predict_proba(frame))])
app = Starlette(routes=[Route("/one", one, methods=["POST"]),
                        Route("/many", many, methods=["POST"])])
if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""

BENTO_SERVICE = """
import os
import bentoml
import joblib
import pandas as pd
FEATURES = ["plan", "region", "tenure", "spend"]
@bentoml.service(workers=1)
class Churn:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["MODEL_FILE"])
    @bentoml.api(batchable=True, max_batch_size=32, max_latency_ms=1000)
    def predict(self, records: list) -> list:
        frame = pd.DataFrame(records, columns=FEATURES)
        labels = [str(p) for p in self.model.predict(frame)]
        probas = self.model.predict_proba(frame).tolist()
        names = [str(c) for c in self.model.classes_]
        return [{"prediction": label, "probabilities": dict(zip(names, proba))}
                for label, proba in zip(labels, probas)]
"""


def model_env() -> Path:
    """The model's environment (shared with the corpus tests' cache when it exists)."""
    digest = hashlib.sha256("\n".join(LIBRARIES).encode()).hexdigest()[:12]

    def make(root: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        pip = [str(root / "bin" / "python"), "-m", "pip", "install", "-q", *LIBRARIES]
        subprocess.run(pip, check=True)

    return cached_env(f"corpus-{digest}", make) / "bin" / "python"  # the corpus tests' lock


def project(tmp: Path, python: Path) -> tuple[Path, str]:
    """The pipeline project, trained, its schema inferred, snapshotted; and the class the
    model gives RECORD (what every server's answer is checked against)."""
    folder = tmp / "churn"
    folder.mkdir()
    trained = subprocess.run(
        [str(python), "-c", TRAIN % {"record": RECORD}],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    )
    expected = trained.stdout.strip().splitlines()[-1]
    (folder / "workbench.yaml").write_text(
        textwrap.dedent(f"""\
        name: churn
        python: {python}
        model:
          flavor: sklearn
          artifact: model.joblib
        serve:
          workers: 1
          memory_limit: 1g
        """)
    )
    workbench = Path(sys.executable).parent / "workbench"
    subprocess.run(
        [str(workbench), "schema", "infer", "--from", "customers.csv", "--target", "churned"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    run_snapshot(load_manifest(folder), lambda _: None)
    return folder, expected


def checked(port: int, endpoint: Endpoint, expected: str, answer: Callable[[Any], Any]) -> None:
    connection = Connection(port)
    try:
        status, body = connection.post(endpoint.path, endpoint.body)
    finally:
        connection.close()
    if status != 200 or str(answer(json.loads(body))) != expected:
        raise RuntimeError(f"wrong answer from {endpoint.path}: {status} {body[:200]!r}")


def batch_rate(port: int, endpoint: Endpoint, requests: int) -> float:
    connection = Connection(port)
    try:
        for _ in range(5):
            connection.post(endpoint.path, endpoint.body)
        started = time.perf_counter()
        for _ in range(requests):
            status, body = connection.post(endpoint.path, endpoint.body)
            if status != 200:
                raise RuntimeError(f"{endpoint.path}: {status} {body[:200]!r}")
        return BATCH * requests / (time.perf_counter() - started)
    finally:
        connection.close()


Server = tuple[
    str,
    Callable[[int], AbstractContextManager[object]],
    Endpoint,
    Endpoint | None,
    Callable[[Any], Any],
]


def measure(
    server: Server, expected: str, seconds: int, clients: tuple[int, ...]
) -> dict[str, Any]:
    name, start, single, batch, answer = server
    row: dict[str, Any] = {"name": name}
    port = free_port()
    try:
        with start(port):
            wait_answer(port, single, time.perf_counter())
            checked(port, single, expected, answer)
            for count in clients:
                if shutil.which("wrk"):
                    p99, rps = concurrent(port, single, seconds, count)
                    row[f"rps_{count}"], row[f"p99_{count}"] = rps, p99
            if batch is not None:
                row["batch"] = batch_rate(port, batch, max(5, seconds * 3))
    except Exception as exc:  # a server that fails or dies is reported, the run goes on
        row["failed"] = f"{type(exc).__name__}: {str(exc)[:160]}"
    return row


def table(rows: list[dict[str, Any]], clients: tuple[int, ...]) -> str:
    heads = [f"req/s, p99 ms ({c} client{'s' if c > 1 else ''})" for c in clients]
    lines = [
        "| server | " + " | ".join(heads) + " | batch of 100, records/s |",
        "|---|" + "---|" * (len(clients) + 1),
    ]
    for row in rows:
        if "failed" in row:
            lines.append(f"| {row['name']} | failed: {row['failed']} |")
            continue
        cells = [
            f"{row[f'rps_{c}']:,.0f}, {row[f'p99_{c}']:.1f}" if f"rps_{c}" in row else "-"
            for c in clients
        ]
        batch = f"{row['batch']:,.0f}" if "batch" in row else "-"
        lines.append(f"| {row['name']} | " + " | ".join(cells) + f" | {batch} |")
    return "\n".join(lines)


def servers(tmp: Path, folder: Path, image_id: str, smoke: bool) -> list[Server]:
    client = docker_client()
    manifest = load_manifest(folder)
    model_file = folder / "model.joblib"

    def container(batching: str) -> Callable[[int], AbstractContextManager[object]]:
        @contextmanager
        def start(port: int) -> Iterator[object]:
            env = {"WORKBENCH_WORKERS": "1", "WORKBENCH_BATCHING": batching}
            with run.running(client, image_id, manifest, host_port=port, env=env) as live:
                yield live

        return start

    ours = Endpoint("/predict", RECORD)
    ours_batch = Endpoint("/predict/batch", [RECORD] * BATCH)
    chosen: list[Server] = [
        ("our image, batching auto", container("auto"), ours, ours_batch, _prediction),
        ("our image, batching off", container("off"), ours, ours_batch, _prediction),
    ]
    if smoke:
        return chosen[:1]
    mlflow = bench_env("mlflow", "mlflow")
    bento = bench_env("bentoml", "bentoml")
    for env in (mlflow, bento):  # pandas as the model was pickled with
        subprocess.run([str(env), "-m", "pip", "install", "-q", "pandas==2.3.3"], check=True)
    bare = tmp / "bare.py"
    bare.write_text(BARE_APP)
    bento_dir = tmp / "bento"
    bento_dir.mkdir()
    (bento_dir / "service.py").write_text(BENTO_SERVICE)
    mlflow_dir = tmp / "mlflow-model"
    save = (
        "import joblib, mlflow.sklearn\n"
        f"mlflow.sklearn.save_model(joblib.load({str(model_file)!r}), {str(mlflow_dir)!r}, "
        # MLflow 3 saves with skops, which refuses the pipeline's numpy dtypes unless trusted.
        "skops_trusted_types=['numpy.dtype'])"
    )
    subprocess.run([str(mlflow), "-c", save], check=True, capture_output=True)

    def frame(rows: int) -> dict[str, Any]:
        return {"dataframe_split": {"columns": FEATURES, "data": [list(RECORD.values())] * rows}}

    path = f"{mlflow.parent}:{Path('/usr/bin')}:{Path('/bin')}"
    return [
        (
            "bare Starlette doing the same work",
            lambda port: process([str(mlflow), str(bare), str(model_file), str(port)]),
            Endpoint("/one", RECORD),
            Endpoint("/many", [RECORD] * BATCH),
            _prediction,
        ),
        *chosen,
        (
            "`mlflow models serve` (predict only)",
            lambda port: process(
                [
                    *(str(mlflow), "-m", "mlflow", "models", "serve", "-m", str(mlflow_dir)),
                    *("-p", str(port), "-h", "127.0.0.1", "--env-manager", "local", "-w", "1"),
                ],
                env={"PATH": path},
            ),
            Endpoint("/invocations", frame(1)),
            Endpoint("/invocations", frame(BATCH)),
            lambda body: body["predictions"][0],
        ),
        (
            "`bentoml serve`, adaptive batching on",
            lambda port: process(
                [
                    *(str(bento.parent / "bentoml"), "serve", "service:Churn"),
                    *("--port", str(port), "--host", "127.0.0.1"),
                ],
                env={
                    "MODEL_FILE": str(model_file),
                    "PATH": f"{bento.parent}:/usr/bin:/bin",
                    "BENTOML_DO_NOT_TRACK": "true",
                },
                cwd=bento_dir,
            ),
            Endpoint("/predict", {"records": [RECORD]}),
            Endpoint("/predict", {"records": [RECORD] * BATCH}),
            lambda body: body[0]["prediction"],
        ),
    ]


def _prediction(body: Any) -> Any:
    return body["prediction"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="a second of each (CI)")
    args = parser.parse_args()
    clients = (8,) if args.smoke else CLIENTS
    seconds = 1 if args.smoke else args.seconds
    ensure_base_image()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder, expected = project(tmp, model_env())
        with removing_images_of(folder):
            _, built = build(load_manifest(folder), lambda _: None, threading.Event())
            rows = [
                measure(server, expected, seconds, clients)
                for server in servers(tmp, folder, built.image_id, args.smoke)
            ]
    print(f"pipeline model, one worker each, {seconds} s per load (wrk):")
    print(table(rows, clients))
    by_name = {row["name"]: row for row in rows if "failed" not in row}
    ours = by_name.get("our image, batching auto", {})
    for other in (
        "bare Starlette doing the same work",
        "our image, batching off",
        "`mlflow models serve` (predict only)",
        "`bentoml serve`, adaptive batching on",
    ):
        theirs = by_name.get(other)
        if theirs and "rps_8" in ours and "rps_8" in theirs:
            ratio = ours["rps_8"] / theirs["rps_8"]
            print(f"8 clients, req/s: ours (auto) / {other}: {ratio:.2f}x")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
