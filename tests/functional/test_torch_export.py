"""Beyond TorchScript (issue #28): a network trained by the test in seconds and saved two
more ways, each taken through init, schema infer, snapshot, the checks, the serve test and
tag on the real engine, its image answering as the network did in its own environment
(golden parity):

- a `torch.export` program (`.pt2`), served by torch's CPU build like TorchScript;
- an ONNX graph exported from it (`torch.onnx.export`), served by onnxruntime: the image
  holds no torch.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from tests.functional.test_corpus import User, assert_released, new_project
from tests.functional.test_tensor_flavors import (  # noqa: F401
    TORCH_TRAIN_AND,
    _image_packages,
    torch_env,
)
from workbench.kernel.docker import docker_client
from workbench.kernel.paths import runtime_dir
from workbench.project.manifest import load_manifest
from workbench.steps import open_checklist
from workbench.steps.serve import run
from workbench.steps.serve.report import built_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]
LABELS = ["small", "large"]

EXPORT = """\
batch = torch.export.Dim("batch")  # any number of records in one call
program = torch.export.export(net, (X[:4],), dynamic_shapes=({0: batch},))
torch.export.save(program, "net.pt2")
"""
ONNX = """\
batch = torch.export.Dim("batch")
torch.onnx.export(net, (X[:4],), "net.onnx", input_names=["input"], output_names=["logits"],
                  dynamic_shapes=({0: batch},), dynamo=True)
"""


# Loading a torch.export program imports torch's compiler stack (some 1,200 modules more
# than TorchScript): measured 10.8 s per worker in the image here, ready after 26 s with two
# workers on an idle machine, past the 60 s default on a busy one. Said, as a user would.
SLOW_START = """\
  ready_timeout: 240              # a torch.export program loads torch's compiler stack
  workers: 1                      # each worker loads it (~10 CPU-s); the TorchScript test has two
  budget:
    cold_start_s: 180
"""


def _ship_with_labels(project: Path, tmp_path: Path, serve: str = "") -> User:
    """init (the class of each logit declared where init hints it, `serve` added to the
    serve block), schema infer, snapshot, the checks, the serve test and tag, via the CLI."""
    user = User(project, tmp_path)
    user("init", ".")
    manifest_file = project / "workbench.yaml"
    text = manifest_file.read_text()
    hint = next(line for line in text.splitlines() if "# labels:" in line)
    text = text.replace(hint, f"  labels: [{', '.join(LABELS)}]")
    manifest_file.write_text(text.replace("serve:\n", "serve:\n" + serve, 1))
    user("schema", "infer", "--from", "sample.csv", "--target", "size")
    request = yaml.safe_load((project / "schema" / "request.yaml").read_text())
    assert request["x-feature-order"] == ["near", "far", "tilt"]
    response = yaml.safe_load((project / "schema" / "response.yaml").read_text())
    assert response["properties"]["prediction"]["enum"] == LABELS
    user.git("init", "-q", "-b", "main")
    user.git("add", ".")
    user.git("commit", "-qm", "the network")
    user("snapshot")
    user("tick", "snapshot.packages-expected", "yes", "-m", "the serving runtime only")
    user("check", "-s", "schema")
    user("serve", "--test")
    user("tag")
    assert_released(user)
    return user


def _served(project: Path, label: str) -> list[str]:
    """The packages of the image the serve test built, and its answers to the golden
    records, compared with what the network said."""
    checklist = open_checklist(load_manifest(project))
    built = built_image(checklist.state.results["serve.image-built"])
    assert built is not None
    print(f"{label} image: {built.size_mb} MB")  # the figure for the report
    expected = json.loads((project / "torch_answers.json").read_text())
    with run.running(docker_client(), built.image_id, load_manifest(project)) as live:
        packages = _image_packages(live.container)
        answered = requests.post(
            f"{live.url}/predict/batch", json=[e["record"] for e in expected], timeout=30
        )
    assert answered.status_code == 200, answered.text
    answers = answered.json()
    answers = answers.get("predictions", answers) if isinstance(answers, dict) else answers
    for want, got in zip(expected, answers, strict=True):
        said = [got["probabilities"][name] for name in LABELS]
        assert all(
            math.isclose(a, b, abs_tol=1e-5)
            for a, b in zip(said, want["probabilities"], strict=True)
        ), (got, want)
        assert got["prediction"] == LABELS[said.index(max(said))]
    return packages


def test_a_torch_export_program_ships_on_the_cpu_build_of_torch(
    tmp_path: Path,
    torch_env: Path,  # noqa: F811
    base_image: str,
) -> None:
    project = new_project(tmp_path, "export", torch_env, TORCH_TRAIN_AND.format(save=EXPORT))
    user = _ship_with_labels(project, tmp_path, SLOW_START)
    manifest = yaml.safe_load((project / "workbench.yaml").read_text())
    assert manifest["model"] == {"flavor": "torch", "artifact": "net.pt2", "labels": LABELS}
    lock = (project / "environment.lock").read_text()
    assert "torch==2.13.0+cpu \\\n    --hash=sha256:" in lock  # the CPU build, by hash
    assert "nvidia-" not in lock and "onnx" not in lock
    # The program names its column count: the check says the schema's fields match it.
    evidence = json.loads(user("check", "--no-run", "--json", ok=False).stdout)
    names = next(i for i in evidence["items"] if i["id"] == "schema.feature-names")
    assert names["status"] == "pass", names
    packages = _served(project, "torch.export")
    assert "torch" in packages and not [p for p in packages if p.startswith("nvidia")]


def test_an_onnx_graph_exported_from_torch_ships_without_torch(
    tmp_path: Path,
    torch_env: Path,  # noqa: F811
    base_image: str,
) -> None:
    project = new_project(tmp_path, "onnx-net", torch_env, TORCH_TRAIN_AND.format(save=ONNX))
    _ship_with_labels(project, tmp_path)
    manifest = yaml.safe_load((project / "workbench.yaml").read_text())
    assert manifest["model"] == {"flavor": "onnx", "artifact": "net.onnx", "labels": LABELS}
    # The runtime set is what the graph needs, not the library it was trained with.
    lock = (project / "environment.lock").read_text()
    assert "onnxruntime==1.31.1" in lock and "numpy==" in lock
    assert "torch" not in lock and "onnxscript" not in lock and "onnx==" not in lock
    packages = _served(project, "onnx from torch")
    assert "onnxruntime" in packages and "numpy" in packages, packages
    assert [p for p in packages if "torch" in p or p.startswith("onnx")] == ["onnxruntime"]


# Run in the torch environment: the runtime's own flavors module, as the image runs it.
IN_PROCESS = """\
import json, sys, torch
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from flavors import load_predictor
net = torch.nn.Sequential(torch.nn.Linear(3, 2)).eval()
torch.export.save(torch.export.export(net, (torch.randn(4, 3),)), "fixed.pt2")  # batch of 4
torch.jit.script(net).save("script.pt2")  # TorchScript under the export suffix
torch.save(net.state_dict(), "weights.pt")
rows = [[i, -i, 0.5] for i in range(7)]
with torch.inference_mode():
    want = torch.softmax(net(torch.tensor(rows, dtype=torch.float32)), 1).tolist()
said, records = {}, [dict(zip("abc", r)) for r in rows]
for name in ("fixed.pt2", "script.pt2", "weights.pt"):
    try:
        model = load_predictor("torch", root=Path("."), artifact=name, predictor=None,
                               features=list("abc"), labels=["x", "y"])
        answers = model.predict_many(records)
        said[name] = {"format": model.format, "batch": model.batch,
                      "columns": model.n_features_in,
                      "probabilities": [[a["probabilities"][k] for k in "xy"] for a in answers]}
    except ValueError as exc:
        said[name] = {"error": str(exc)}
print(json.dumps({"want": want, "said": said}))
"""


def test_the_torch_format_is_read_from_the_file_and_a_fixed_batch_goes_in_chunks(
    tmp_path: Path,
    torch_env: Path,  # noqa: F811
) -> None:
    done = subprocess.run(
        [str(torch_env / "bin" / "python"), "-c", IN_PROCESS, str(runtime_dir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = json.loads(done.stdout.splitlines()[-1])
    want, said = out["want"], out["said"]
    fixed, script = said["fixed.pt2"], said["script.pt2"]
    assert (fixed["format"], fixed["batch"], fixed["columns"]) == ("export", 4, 3)
    assert (script["format"], script["batch"], script["columns"]) == ("torchscript", None, None)
    for answers in (fixed["probabilities"], script["probabilities"]):
        assert len(answers) == 7  # 7 records: two calls of 4 for the fixed batch, one padded
        for got, expected in zip(answers, want, strict=True):
            assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(got, expected, strict=True))
    assert "weights.pt is a torch.save file" in said["weights.pt"]["error"]
    assert "torch.export.save" in said["weights.pt"]["error"]
