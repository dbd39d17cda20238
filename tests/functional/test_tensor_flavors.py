"""Beyond scikit-learn (issue #28): an ONNX graph converted from a scikit-learn pipeline with
skl2onnx, trained by the test in seconds, taken through init, schema infer, snapshot, the
checks, the serve test and tag on the real engine; its image answers as the scikit-learn
model did (golden parity) and holds onnxruntime, never scikit-learn.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pytest
import requests
import tritonclient.http as triton
import yaml

from tests.functional.test_corpus import (
    CORPUS_REQUIREMENTS,
    User,
    _venv,
    assert_released,
    new_project,
    ship,
)
from workbench.kernel.docker import docker_client
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve import run
from workbench.steps.serve.report import built_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ONNX_REQUIREMENTS = (*CORPUS_REQUIREMENTS, "skl2onnx==1.20.0", "onnxruntime==1.31.1")

ONNX_TRAIN = """\
import csv, json, random
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
random.seed(3)
rows = [[random.uniform(0, 10), random.uniform(0, 5), random.randint(1, 6), random.uniform(-1, 1)]
        for _ in range(240)]
labels = [0 if a + b < 6 else (1 if c < 4 else 2) for a, b, c, _ in rows]
X = np.asarray(rows, dtype=np.float32)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, labels)
graph = to_onnx(model, initial_types=[("input", FloatTensorType([None, 4]))])
with open("model.onnx", "wb") as handle:
    handle.write(graph.SerializeToString())
with open("sample.csv", "w", newline="") as handle:
    out = csv.writer(handle)
    out.writerow(["width", "depth", "rooms", "slope", "kind"])
    out.writerows([[*r, k] for r, k in zip(rows, labels)])
names = ["width", "depth", "rooms", "slope"]
with open("sklearn_answers.json", "w") as handle:  # what the scikit-learn model said
    json.dump([
        {"record": dict(zip(names, r)), "prediction": int(p), "probabilities": q}
        for r, p, q in zip(rows[:25], model.predict(X[:25]).tolist(),
                           model.predict_proba(X[:25]).tolist())
    ], handle)
"""


@pytest.fixture(scope="session")
def onnx_env() -> Path:
    return _venv("onnx", ONNX_REQUIREMENTS)


def _image_packages(container: Any) -> list[str]:
    """The distributions installed in the running image, read from inside it."""
    python = container.attrs["Config"]["Entrypoint"][0]
    script = (
        "import importlib.metadata as m; "
        "print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    )
    code, output = container.exec_run([python, "-c", script])
    assert code == 0, output
    return sorted(line.strip().lower() for line in output.decode().splitlines() if line.strip())


def _triton_labels(url: str, records: list[dict[str, Any]], metadata: dict[str, Any]) -> list[Any]:
    """The labels tritonclient gets for `records`, each field sent as one tensor of the
    datatype the model's v2 metadata declares."""
    client = triton.InferenceServerClient(url=urlparse(url).netloc)
    inputs = []
    for declared in metadata["inputs"]:
        name, datatype = declared["name"], declared["datatype"]
        values = np.array(
            [r[name] for r in records], dtype=np.float32 if datatype == "FP32" else np.int64
        )
        tensor = triton.InferInput(name, [len(records)], datatype)
        tensor.set_data_from_numpy(values, binary_data=False)
        inputs.append(tensor)
    result = client.infer(
        "plots", inputs, outputs=[triton.InferRequestedOutput("prediction", binary_data=False)]
    )
    return [int(v) for v in result.as_numpy("prediction")]


def test_an_onnx_graph_from_a_scikit_learn_pipeline_ships_without_scikit_learn(
    tmp_path: Path, onnx_env: Path, base_image: str
) -> None:
    project = new_project(tmp_path, "plots", onnx_env, ONNX_TRAIN)
    user = ship(project, tmp_path, sample="sample.csv", target="kind")
    manifest = yaml.safe_load((project / "workbench.yaml").read_text())
    assert manifest["model"] == {"flavor": "onnx", "artifact": "model.onnx"}  # init saw it
    # The contract from the graph: one FP32 input of 4 columns, named by the sample.
    request = yaml.safe_load((project / "schema" / "request.yaml").read_text())
    assert request["x-feature-order"] == ["width", "depth", "rooms", "slope"]
    datatypes = {f: p.get("x-datatype") for f, p in request["properties"].items()}
    assert datatypes == {"width": "FP32", "depth": "FP32", "rooms": None, "slope": "FP32"}
    response = yaml.safe_load((project / "schema" / "response.yaml").read_text())
    assert response["properties"]["prediction"]["enum"] == [0, 1, 2]  # the graph's classes
    assert set(response["properties"]["probabilities"]["required"]) == {"0", "1", "2"}
    # The runtime set is what the graph needs, not the library it was trained with.
    lock = (project / "environment.lock").read_text()
    assert "onnxruntime==1.31.1" in lock and "numpy==" in lock
    assert "scikit-learn" not in lock and "skl2onnx" not in lock and "onnx==" not in lock
    assert_released(user)

    checklist = open_checklist(load_manifest(project))
    built = built_image(checklist.state.results["serve.image-built"])
    assert built is not None
    print(f"onnx image: {built.size_mb} MB")  # the figure for the report
    expected = json.loads((project / "sklearn_answers.json").read_text())
    with run.running(docker_client(), built.image_id, load_manifest(project)) as live:
        packages = _image_packages(live.container)
        assert "onnxruntime" in packages and "scikit-learn" not in packages, packages
        answered = requests.post(
            f"{live.url}/predict/batch", json=[e["record"] for e in expected], timeout=30
        )
        assert answered.status_code == 200, answered.text
        metadata = requests.get(f"{live.url}/v2/models/plots", timeout=10).json()
        triton_labels = _triton_labels(live.url, [e["record"] for e in expected], metadata)
    # The graph's own FP32 where the contract's number fields carry it; `rooms`, an integer
    # in the contract, stays INT64.
    assert {i["name"]: i["datatype"] for i in metadata["inputs"]} == {
        "width": "FP32",
        "depth": "FP32",
        "rooms": "INT64",
        "slope": "FP32",
    }
    answers = answered.json()
    answers = answers.get("predictions", answers) if isinstance(answers, dict) else answers
    assert triton_labels == [e["prediction"] for e in expected]  # a real v2 client, tensors
    for want, got in zip(expected, answers, strict=True):
        assert got["prediction"] == want["prediction"]
        said = [got["probabilities"][str(c)] for c in range(3)]
        assert all(
            math.isclose(a, b, abs_tol=1e-5)
            for a, b in zip(said, want["probabilities"], strict=True)
        )


# pip finds torch's CPU build (2.13.0+cpu) in this machine's find-links folder; a CUDA
# build would bring gigabytes of nvidia-* wheels, which snapshot.cpu-only refuses. One
# environment for every torch project: onnxscript (with onnx) is what torch.onnx.export
# needs, onnxruntime what a graph exported from torch is served with; none of them reaches
# a torch project's lock, which holds only what loading and predicting imported.
TORCH_REQUIREMENTS = ("torch==2.13.0", "onnxscript==0.7.2", "onnxruntime==1.31.1")

# Trains the network; `save` writes it in one format (TorchScript here, torch.export and
# ONNX in test_torch_export). Golden answers: what the network said in its own process.
TORCH_TRAIN_AND = """\
import csv, json, random
import torch
torch.manual_seed(0)
random.seed(4)
rows = [[random.uniform(0, 1), random.uniform(0, 1), random.uniform(-1, 1)] for _ in range(300)]
labels = [0 if a + b < 1 else 1 for a, b, _ in rows]
X, y = torch.tensor(rows), torch.tensor(labels)
net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
for _ in range(150):
    optimiser.zero_grad()
    torch.nn.functional.cross_entropy(net(X), y).backward()
    optimiser.step()
net.eval()
{save}names = ["near", "far", "tilt"]
with open("sample.csv", "w", newline="") as handle:
    out = csv.writer(handle)
    out.writerow([*names, "size"])
    out.writerows([[*r, ["small", "large"][k]] for r, k in zip(rows, labels)])
with torch.inference_mode():
    probabilities = torch.softmax(net(X[:25]), dim=1).tolist()
with open("torch_answers.json", "w") as handle:  # what the model said in its own process
    json.dump([{{"record": dict(zip(names, r)), "probabilities": p}}
               for r, p in zip(rows[:25], probabilities)], handle)
"""
TORCH_TRAIN = TORCH_TRAIN_AND.format(save='torch.jit.script(net).save("net.pt")\n')


@pytest.fixture(scope="session")
def torch_env() -> Path:
    return _venv("torch", TORCH_REQUIREMENTS)


def test_a_torchscript_classifier_ships_the_cpu_build_of_torch(
    tmp_path: Path, torch_env: Path, base_image: str
) -> None:
    project = new_project(tmp_path, "sizes", torch_env, TORCH_TRAIN)
    user = User(project, tmp_path)
    user("init", ".")
    manifest_file = project / "workbench.yaml"
    text = manifest_file.read_text()
    assert "flavor: torch" in text and "artifact: net.pt" in text, text
    # The answer's shape is declared: the class of each output column (logits).
    hint = next(line for line in text.splitlines() if "# labels:" in line)
    manifest_file.write_text(text.replace(hint, "  labels: [small, large]"))
    user("schema", "infer", "--from", "sample.csv", "--target", "size")
    request = yaml.safe_load((project / "schema" / "request.yaml").read_text())
    assert request["x-feature-order"] == ["near", "far", "tilt"]
    response = yaml.safe_load((project / "schema" / "response.yaml").read_text())
    assert response["properties"]["prediction"]["enum"] == ["small", "large"]
    user.git("init", "-q", "-b", "main")
    user.git("add", ".")
    user.git("commit", "-qm", "the torch model")
    user("snapshot")
    lock = (project / "environment.lock").read_text()
    pin = lock.index("torch==2.13.0+cpu \\\n    --hash=sha256:")  # the CPU build, by hash
    assert pin >= 0 and "nvidia-" not in lock and "triton" not in lock
    user("tick", "snapshot.packages-expected", "yes", "-m", "torch (CPU build) and its needs")
    user("check", "-s", "schema")
    user("serve", "--test")
    user("tag")
    assert_released(user)  # snapshot.cpu-only among the passing gates

    checklist = open_checklist(load_manifest(project))
    assert checklist.view("snapshot.cpu-only").status.value == "pass"
    built = built_image(checklist.state.results["serve.image-built"])
    assert built is not None
    print(f"torch image: {built.size_mb} MB")  # the figure for the report
    expected = json.loads((project / "torch_answers.json").read_text())
    with run.running(docker_client(), built.image_id, load_manifest(project)) as live:
        packages = _image_packages(live.container)
        answered = requests.post(
            f"{live.url}/predict/batch", json=[e["record"] for e in expected], timeout=30
        )
    assert "torch" in packages and not [p for p in packages if p.startswith("nvidia")]
    assert answered.status_code == 200, answered.text
    answers = answered.json()
    answers = answers.get("predictions", answers) if isinstance(answers, dict) else answers
    for want, got in zip(expected, answers, strict=True):
        said = [got["probabilities"]["small"], got["probabilities"]["large"]]
        assert all(
            math.isclose(a, b, abs_tol=1e-5)
            for a, b in zip(said, want["probabilities"], strict=True)
        )
        assert got["prediction"] == ["small", "large"][said.index(max(said))]
