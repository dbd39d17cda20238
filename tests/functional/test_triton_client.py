"""A real Open Inference Protocol v2 client (tritonclient) against the running image."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from workbench.kernel.docker import docker_client
from workbench.project.manifest import load_manifest
from workbench.project.model_env import predict_in_model_env
from workbench.steps.serve import run
from workbench.steps.serve.session import build
from workbench.steps.snapshot.take import run_snapshot

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FIELDS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def tensor(name: str, values: list[float], binary: bool = False) -> triton.InferInput:
    data = np.array(values, dtype=np.float32)
    item = triton.InferInput(name, [len(values)], "FP32")
    item.set_data_from_numpy(data, binary_data=binary)
    return item


def test_tritonclient_sees_the_model_ready_and_gets_the_models_answers(
    example_project: Path, base_image: str
) -> None:
    manifest = load_manifest(example_project)
    run_snapshot(manifest, lambda event: None)
    _, built = build(manifest, lambda line: None, threading.Event())
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]
    with run.running(docker_client(), built.image_id, manifest) as live:
        client = triton.InferenceServerClient(url=urlparse(live.url).netloc)
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready(manifest.name)  # used to be "not ready": no such route
        metadata = client.get_model_metadata(manifest.name)
        assert {i["name"] for i in metadata["inputs"]} == set(FIELDS)
        inputs = [tensor(f, [r[i] for r in rows]) for i, f in enumerate(FIELDS)]
        result = client.infer(
            manifest.name,
            inputs,
            outputs=[
                triton.InferRequestedOutput("prediction", binary_data=False),
                triton.InferRequestedOutput("probabilities", binary_data=False),
            ],
        )
        predictions = result.as_numpy("prediction")
        probabilities = result.as_numpy("probabilities")
        expected = predict_in_model_env(
            manifest, [dict(zip(FIELDS, row, strict=True)) for row in rows]
        ).answers
        assert [p.decode() if isinstance(p, bytes) else p for p in predictions] == [
            e["prediction"] for e in expected
        ]
        assert probabilities.shape == (3, 3)
        # Tensors of different lengths are refused, never silently truncated.
        uneven = [tensor(f, [r[i] for r in rows]) for i, f in enumerate(FIELDS)]
        uneven[0] = tensor("sepal_length", [5.1, 6.7])
        with pytest.raises(InferenceServerException, match="different batch sizes"):
            client.infer(manifest.name, uneven)
        # The binary extension (tritonclient's default) is refused by name.
        binary = [tensor(f, [r[i] for r in rows], binary=True) for i, f in enumerate(FIELDS)]
        with pytest.raises(InferenceServerException, match="binary tensor data extension"):
            client.infer(manifest.name, binary)
