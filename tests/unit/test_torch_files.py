"""Which torch format a file holds, read from its content (torch.export, TorchScript, or a
`torch.save` pickle that is no model alone), what `init` makes of each, and a graph of
logits (an ONNX export of a network) answered with the manifest's labels. Without torch:
the archives are laid out as torch lays them out (names read from torch 2.13's files)."""

from __future__ import annotations

import math
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

from workbench.project.scaffold import guess, rank_by_loading
from workbench.runtime.flavors import load_predictor
from workbench.runtime.tensors import torch_format

# The entries torch 2.13 writes, by format (the folder is the file's stem).
LAYOUTS = {
    "export": ("net/models/model.json", "net/data/weights/weight_0", "net/archive_format"),
    "torchscript": (
        "net/data.pkl",
        "net/code/__torch__/torch/nn/modules/linear.py",
        "net/constants.pkl",
        "net/version",
    ),
    "weights": ("sd/data.pkl", "sd/data/0", "sd/version", "sd/.data/serialization_id"),
}


def _archive(path: Path, names: tuple[str, ...]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "pt2" if name.endswith("archive_format") else "x")
    return path


@pytest.mark.parametrize("kind", sorted(LAYOUTS))
def test_the_torch_format_is_read_from_the_content_whatever_the_suffix(
    tmp_path: Path, kind: str
) -> None:
    assert torch_format(_archive(tmp_path / "model.pt", LAYOUTS[kind])) == kind
    (tmp_path / "legacy.pt").write_bytes(b"\x80\x02 not a zip")
    assert torch_format(tmp_path / "legacy.pt") == "unknown"  # left to torch.jit.load


def test_init_takes_a_pt2_for_flavor_torch_and_passes_over_a_state_dict(tmp_path: Path) -> None:
    _archive(tmp_path / "net.pt2", LAYOUTS["export"])
    g = guess(tmp_path)
    assert (g.flavor, g.artifact) == ("torch", "net.pt2")
    _archive(tmp_path / "weights.pt", LAYOUTS["weights"])
    models, others = rank_by_loading(tmp_path, sys.executable, ["weights.pt", "net.pt2"])
    assert models == ["net.pt2"]
    assert others == [
        "weights.pt: not a model: a torch.save file (a state_dict, or a module pickled with "
        "its class); save the model with torch.jit.save or torch.export.save"
    ]


def _logits_graph(path: Path) -> Path:
    """What torch.onnx.export makes of a linear classifier: input [batch, 3], one output of
    logits [batch, 2]."""
    weights = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 1.0]], dtype=np.float32)
    bias = np.array([0.1, -0.2], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["input", "W"], ["z"]),
            helper.make_node("Add", ["z", "b"], ["logits"]),
        ],
        "net",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_a_graph_of_logits_answers_the_labels_like_the_torch_flavor(tmp_path: Path) -> None:
    _logits_graph(tmp_path / "net.onnx")
    predictor = load_predictor(
        "onnx",
        root=tmp_path,
        artifact="net.onnx",
        predictor=None,
        features=["a", "b", "c"],
        labels=["small", "large"],
    )
    assert (predictor.n_features_in, predictor.classes, predictor.has_proba) == (
        3,
        ["small", "large"],
        True,
    )
    answers = predictor.predict_many([{"a": 1, "b": 0, "c": 0}, {"a": 0, "b": 0, "c": 3}])
    for answer, logits in zip(answers, ([1.1, -1.2], [0.1, 2.8]), strict=True):
        total = sum(math.exp(x) for x in logits)
        want = {"small": math.exp(logits[0]) / total, "large": math.exp(logits[1]) / total}
        assert all(
            math.isclose(answer["probabilities"][k], v, abs_tol=1e-6) for k, v in want.items()
        )
        assert answer["prediction"] == max(want, key=want.__getitem__)
    assert [a["prediction"] for a in answers] == ["small", "large"]
    # Without labels the row of logits is the prediction.
    plain = load_predictor(
        "onnx", root=tmp_path, artifact="net.onnx", predictor=None, features=["a", "b", "c"]
    )
    assert plain.predict({"a": 1, "b": 0, "c": 0})["prediction"] == pytest.approx([1.1, -1.2])


def test_labels_on_a_graph_that_answers_its_own_classes_are_refused(tmp_path: Path) -> None:
    X = np.random.RandomState(0).rand(40, 2).astype(np.float32)
    model = LogisticRegression().fit(X, (X[:, 0] > 0.5).astype(int))
    (tmp_path / "clf.onnx").write_bytes(to_onnx(model, X[:1]).SerializeToString())
    with pytest.raises(ValueError, match=r"clf.onnx has 2 outputs .*remove model.labels"):
        load_predictor(
            "onnx",
            root=tmp_path,
            artifact="clf.onnx",
            predictor=None,
            features=["a", "b"],
            labels=["no", "yes"],
        )
