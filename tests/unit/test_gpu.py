"""GPU serving declared (issue #28): `serve.gpu` picks a CUDA base image whose CUDA major is
checked against the lock's CUDA wheels offline, and reaches `docker run` (device requests),
the swarm service (generic resources) and the Kubernetes files (`nvidia.com/gpu`). On a
machine without a GPU what needs one is refused or skipped with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.unit.test_kubernetes import DIGEST, K8S_VERSION
from tests.unit.test_manifest import GOOD, error_of, project
from workbench.checklist.checks import Status
from workbench.kernel.errors import WorkbenchError
from workbench.project.lockfile import LockEntry
from workbench.project.manifest import load_manifest
from workbench.steps.push import deploy, nodes, swarm
from workbench.steps.serve import gpu, run
from workbench.steps.serve.build import base_image_for

GPU = GOOD + "serve:\n  gpu: 2\n"
CU12 = {
    "nvidia-cublas-cu12": LockEntry("nvidia-cublas-cu12", "12.4.5.8"),
    "torch": LockEntry("torch", "2.5.1+cu121"),
    "numpy": LockEntry("numpy", "2.1.3"),
}


@pytest.mark.parametrize(
    ("reference", "major"),
    [
        ("nvidia/cuda:12.4.1-runtime-ubuntu22.04", 12),
        ("nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04", 11),
        ("registry.local:5000/nvidia/cuda:13.0.0-base-ubuntu24.04", 13),
        ("pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", 12),
        ("team/python3.11-cuda11:1", 11),
        ("python:3.11-slim", None),
        ("nvidia/cuda@sha256:" + "ab" * 32, None),
        ("team/model-cudagraph:1", None),
    ],
)
def test_the_cuda_major_is_read_from_the_base_images_name(reference: str, major: int) -> None:
    assert gpu.cuda_of_image(reference) == major


def test_the_locks_cuda_wheels_say_their_major() -> None:
    entries = {
        **CU12,
        "nvidia-nccl-cu11": LockEntry("nvidia-nccl-cu11", "2.19.3"),
        "torchvision": LockEntry("torchvision", "0.20.1+cu118"),
        "triton": LockEntry("triton", "3.1.0"),  # CUDA, but naming no major
        "cpu-build": LockEntry("cpu-build", "1.0+cpu"),
    }
    assert gpu.cuda_of_lock(entries) == {
        12: ["nvidia-cublas-cu12 12.4.5.8", "torch 2.5.1+cu121"],
        11: ["nvidia-nccl-cu11 2.19.3", "torchvision 0.20.1+cu118"],
    }


def test_a_gpu_project_takes_the_cuda_image_unless_it_names_its_base(tmp_path: Path) -> None:
    assert base_image_for(load_manifest(project(tmp_path, GPU))) == (
        "nvidia/cuda:12.4.1-runtime-ubuntu22.04"
    )
    chosen = GPU + "  cuda_image: team/python3.11-cuda12.4:1\n"
    assert base_image_for(load_manifest(project(tmp_path, chosen))) == "team/python3.11-cuda12.4:1"
    named = GPU + "  base_image: python:3.11-slim\n"
    assert base_image_for(load_manifest(project(tmp_path, named))) == "python:3.11-slim"
    cpu = GOOD + "serve:\n  base_image: python:3.11-slim\n  cuda_image: nvidia/cuda:12.4.1-base\n"
    assert base_image_for(load_manifest(project(tmp_path, cpu))) == "python:3.11-slim"
    bad = GPU + "  cuda_image: NVIDIA/CUDA:12\n"
    with pytest.raises(WorkbenchError, match=r"serve\.cuda_image `NVIDIA/CUDA:12` is not an image"):
        base_image_for(load_manifest(project(tmp_path, bad)))


def test_placement_settings_are_checked_on_load(tmp_path: Path) -> None:
    manifest = load_manifest(
        project(
            tmp_path,
            GPU + "  gpu_node_selector: [nvidia.com/gpu.present=true]\n"
            "  gpu_tolerations: [nvidia.com/gpu]\n",
        )
    )
    assert manifest.serve.gpu_node_selector == ("nvidia.com/gpu.present=true",)
    message = error_of(tmp_path, GPU + "  gpu_node_selector: [gpu present]\n")
    assert "`serve.gpu_node_selector`" in message and "`gpu present` is not allowed" in message
    message = error_of(tmp_path, GPU + "  gpu_tolerations: [nvidia.com/gpu=true]\n")
    assert "`serve.gpu_tolerations`" in message


def _item(tmp_path: Path, text: str, entries: dict[str, LockEntry], absent: str | None) -> Any:
    manifest = load_manifest(project(tmp_path, text))
    return gpu.gpu_image(manifest, entries, base_image_for(manifest), absent)


NO_GPU = "no GPU on this machine (nvidia runtime absent)"


def test_a_cuda_major_other_than_the_wheels_fails_naming_both(tmp_path: Path) -> None:
    text = GPU + "  cuda_image: nvidia/cuda:11.8.0-runtime-ubuntu22.04\n"
    result = _item(tmp_path, text, CU12, NO_GPU)
    assert result.status is Status.FAIL
    said = " ".join(result.evidence)
    assert "nvidia/cuda:11.8.0-runtime-ubuntu22.04 is CUDA 11" in said
    assert "nvidia-cublas-cu12 12.4.5.8, torch 2.5.1+cu121" in said
    assert "a CUDA 12 image" in said


def test_a_base_naming_no_cuda_fails(tmp_path: Path) -> None:
    result = _item(tmp_path, GPU + "  base_image: python:3.11-slim\n", CU12, NO_GPU)
    assert result.status is Status.FAIL
    assert "python:3.11-slim names no CUDA version" in result.evidence[0]


def test_a_match_is_skipped_without_a_gpu_and_passed_with_one(tmp_path: Path) -> None:
    skipped = _item(tmp_path, GPU, CU12, NO_GPU)
    assert skipped.status is Status.SKIPPED
    assert skipped.evidence[0].endswith(f"not run on a GPU here: {NO_GPU}")
    assert "is CUDA 12, as the lock's CUDA wheels" in skipped.evidence[0]
    assert _item(tmp_path, GPU, CU12, None).status is Status.PASS
    # a GPU machine, but no CUDA build in the lock: the model would run on the CPU (a
    # reviewer's finding: it passed with nothing to compare)
    cpu_only = _item(tmp_path, GPU, {}, None)
    assert cpu_only.status is Status.WARN
    assert "no locked package is a CUDA build" in cpu_only.evidence[-1]


def test_a_cpu_image_passes_on_a_base_naming_no_cuda_and_warns_on_a_cuda_one(
    tmp_path: Path,
) -> None:
    cpu = _item(tmp_path, GOOD + "serve:\n  base_image: python:3.11-slim\n", {}, None)
    assert cpu.status is Status.PASS
    assert cpu.evidence == [
        "serve.gpu is 0 and the base image python:3.11-slim names no CUDA version: a CPU image"
    ]
    heavy = GOOD + "serve:\n  base_image: nvidia/cuda:12.4.1-runtime-ubuntu22.04\n"
    warned = _item(tmp_path, heavy, {}, None)
    assert warned.status is Status.WARN
    assert "is CUDA 12: a CPU image carrying CUDA libraries it never uses" in warned.evidence[0]


class FakeClient:
    """What `run.start` and `run.running` ask of the engine, recorded."""

    def __init__(self, runtimes: dict[str, Any]) -> None:
        self.runtimes = runtimes
        self.created: list[dict[str, Any]] = []
        self.containers = self

    def info(self) -> dict[str, Any]:
        return {"Runtimes": self.runtimes}

    def create(self, image: str, **settings: Any) -> Any:
        self.created.append(settings)
        return self

    def start(self) -> None:
        pass


def test_the_engine_and_the_driver_say_whether_a_gpu_is_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gpu, "gpu_on_this_machine", lambda: None)
    said = gpu.gpu_absent(FakeClient({"runc": {}}))
    assert said == (
        "no GPU on this machine (nvidia runtime absent; no NVIDIA driver: "
        "/proc/driver/nvidia/version absent)"
    )
    monkeypatch.setattr(gpu, "gpu_on_this_machine", lambda: "NVRM version: 550.54")
    assert gpu.gpu_absent(FakeClient({"runc": {}, "nvidia": {}})) is None
    assert "the engine was not asked" in str(gpu.gpu_absent(None))


def test_docker_run_gets_the_device_request_of_serve_gpu(tmp_path: Path) -> None:
    client = FakeClient({"nvidia": {}})
    run.start(client, "img", load_manifest(project(tmp_path, GPU)), host_port=18080)
    (request,) = client.created[0]["device_requests"]
    assert dict(request) == {  # what `docker run --gpus 2` sends
        "Driver": "",
        "Count": 2,
        "DeviceIDs": [],
        "Capabilities": [["gpu"]],
        "Options": {},
    }
    cpu = FakeClient({})
    run.start(cpu, "img", load_manifest(project(tmp_path, GOOD)), host_port=18080)
    assert "device_requests" not in cpu.created[0]


def test_a_gpu_image_is_not_run_where_there_is_no_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gpu, "gpu_on_this_machine", lambda: None)
    client = FakeClient({"runc": {}})
    with (
        pytest.raises(WorkbenchError, match=r"asks for 2 GPU\(s\) and there is no GPU on this"),
        run.running(client, "img", load_manifest(project(tmp_path, GPU))),
    ):
        pass
    assert client.created == []  # refused before any container


def test_the_swarm_service_reserves_the_gpus_as_generic_resources(tmp_path: Path) -> None:
    spec = swarm._spec(load_manifest(project(tmp_path, GPU)), f"r/x@{DIGEST}", "1.0.0", "net")
    resources = spec["task_template"]["Resources"]
    assert resources["Reservations"]["GenericResources"] == [
        {"DiscreteResourceSpec": {"Kind": "NVIDIA-GPU", "Value": 2}}
    ]
    assert resources["Limits"]["MemoryBytes"] == 1024**3
    cpu = swarm._spec(load_manifest(project(tmp_path, GOOD)), f"r/x@{DIGEST}", "1.0.0", "net")
    assert "Reservations" not in cpu["task_template"]["Resources"]


class Node:
    def __init__(self, *resources: dict[str, Any]) -> None:
        self.attrs = {"Description": {"Resources": {"GenericResources": list(resources)}}}


class Nodes:
    def __init__(self, *nodes: Node) -> None:
        self.found = list(nodes)
        self.nodes = self

    def list(self) -> list[Node]:
        return self.found


def test_a_swarm_without_advertised_gpus_is_refused_before_anything_changes() -> None:
    named = {"NamedResourceSpec": {"Kind": "NVIDIA-GPU", "Value": "GPU-1"}}
    other = {"DiscreteResourceSpec": {"Kind": "SSD", "Value": 4}}
    discrete = {"DiscreteResourceSpec": {"Kind": "NVIDIA-GPU", "Value": 2}}
    assert nodes.advertised_gpus(Node(named, named, other).attrs) == 2
    nodes.refuse_without_gpus(Nodes(Node(), Node(discrete)), 2)  # one node has two
    with pytest.raises(WorkbenchError) as refused:
        nodes.refuse_without_gpus(Nodes(Node(other), Node(named)), 2)
    said = str(refused.value)
    assert "advertises that many NVIDIA-GPU generic resources (the most: 1)" in said
    assert "--node-generic-resource NVIDIA-GPU=GPU-<uuid>" in said


def test_the_kubernetes_files_ask_for_the_gpus_and_pass_the_schemas(tmp_path: Path) -> None:
    text = (
        GPU + "  gpu_node_selector: [nvidia.com/gpu.present=true, cloud.example/pool=a100]\n"
        "  gpu_tolerations: [nvidia.com/gpu]\n"
    )
    manifest = load_manifest(project(tmp_path, text))
    documents = deploy.manifests(manifest, "production", "1.0.0", f"r/x@{DIGEST}", kserve=True)
    for name in ("deployment.yaml", "service.yaml", "hpa.yaml"):
        kubernetes_validate.validate(documents[name], K8S_VERSION, strict=True)
    pod = documents["deployment.yaml"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"] == {"memory": "1Gi", "nvidia.com/gpu": "2"}
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true", "cloud.example/pool": "a100"}
    assert pod["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    predictor = documents["inferenceservice.yaml"]["spec"]["predictor"]
    assert predictor["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert predictor["tolerations"] == pod["tolerations"]
    cpu = deploy.manifests(
        load_manifest(project(tmp_path, GOOD + "serve:\n  gpu_tolerations: [nvidia.com/gpu]\n")),
        "production",
        "1.0.0",
        f"r/x@{DIGEST}",
    )
    cpu_pod = cpu["deployment.yaml"]["spec"]["template"]["spec"]
    assert "nvidia.com/gpu" not in cpu_pod["containers"][0]["resources"]["limits"]
    assert "tolerations" not in cpu_pod  # placement only for a GPU pod


def test_a_wrong_gpu_limit_would_be_caught_by_the_same_validation(tmp_path: Path) -> None:
    manifest = load_manifest(project(tmp_path, GPU))
    documents = deploy.manifests(manifest, "production", "1.0.0", f"r/x@{DIGEST}")
    pod = documents["deployment.yaml"]["spec"]["template"]["spec"]
    pod["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": 1}]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(documents["deployment.yaml"], K8S_VERSION, strict=True)
