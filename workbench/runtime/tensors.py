"""Flavors whose model is a graph of tensors: ONNX (onnxruntime) and torch (TorchScript or
`torch.export`).

Records become tensors: one matrix in `x-feature-order` when the graph takes one input of
several columns, or one column per input when the graph names its inputs (its names are
then the model's own feature names). A classifier's label and per-class probabilities are
answered in the same shape as the sklearn flavor's: `{"prediction": label,
"probabilities": {class: p}}`. Imports only numpy and the flavor's own library, lazily:
this module runs inside the image and in the data scientist's interpreter alike.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

# ONNX element types as numpy dtypes, and as Open Inference Protocol v2 datatypes.
ONNX_ELEMENTS: dict[str, tuple[str, str]] = {
    "tensor(float)": ("float32", "FP32"),
    "tensor(double)": ("float64", "FP64"),
    "tensor(float16)": ("float16", "FP16"),
    "tensor(int64)": ("int64", "INT64"),
    "tensor(int32)": ("int32", "INT32"),
    "tensor(int16)": ("int16", "INT16"),
    "tensor(int8)": ("int8", "INT8"),
    "tensor(uint8)": ("uint8", "UINT8"),
    "tensor(bool)": ("bool", "BOOL"),
    "tensor(string)": ("object", "BYTES"),
}
UNKNOWN = ("object", "BYTES")


# The sklearn flavor's answer helpers, one definition for both: `flavors` is a package
# module in the image and a top-level one beside inprocess.py (it imports this module).
_flavors = importlib.import_module(f"{__package__}.flavors" if __package__ else "flavors")
_plain, _one = _flavors._plain, _flavors._one


def _width(shape: list[Any]) -> int | None:
    """The number of columns of a [batch, columns] input, when the graph fixes it."""
    return shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None


def _cell(value: Any, dtype: str) -> Any:
    """A missing number is NaN for a float input (what an imputer in the graph expects)."""
    return math.nan if value is None and dtype.startswith("float") else value


class OnnxPredictor:
    """An ONNX graph served by onnxruntime on the CPU.

    One input of several columns takes the records as a matrix in `features` order (the
    request schema's `x-feature-order`); several inputs are the model's own named
    features, one column each, typed as the graph declares them. Outputs: a label tensor
    followed by a sequence of per-class maps (skl2onnx's classifiers) is a classifier;
    one tensor is the prediction, or with `labels` (the manifest's `model.labels`, for a
    graph exported from a network such as torch's) a classifier's logits, answered as the
    torch flavor answers them; otherwise each output is answered under its own name.
    """

    def __init__(
        self, artifact: Path, features: list[str], labels: list[str] | None = None
    ) -> None:
        import numpy
        import onnxruntime

        self.numpy = numpy
        self.session = onnxruntime.InferenceSession(
            str(artifact), providers=["CPUExecutionProvider"]
        )
        inputs = self.session.get_inputs()
        self.inputs = [(i.name, ONNX_ELEMENTS.get(i.type, UNKNOWN), i.shape) for i in inputs]
        shape = inputs[0].shape
        self.matrix = len(inputs) == 1 and len(shape) == 2 and _width(shape) != 1
        self.known_features = None if self.matrix else [i.name for i in inputs]
        self.n_features_in = _width(inputs[0].shape) if self.matrix else len(inputs)
        self.features = list(features) if self.matrix else [i.name for i in inputs]
        outputs = self.session.get_outputs()
        self.output_names = [o.name for o in outputs]
        self.classifier = (
            len(outputs) == 2
            and outputs[0].type.startswith("tensor(")
            and outputs[1].type.startswith("seq(map(")
        )
        if labels and (len(outputs) != 1 or self.classifier):
            raise ValueError(
                f"{artifact.name} has {len(outputs)} outputs ({', '.join(self.output_names)}); "
                "model.labels names the classes of one output of logits: remove model.labels "
                "(a graph with its own label and probability outputs answers its classes itself)"
            )
        self.logits = bool(labels)
        self.has_proba = self.classifier or self.logits
        self.classes: list[Any] = self._probe_classes() if self.classifier else list(labels or [])
        self.categorical: list[str] = []

    def datatypes(self) -> dict[str, str]:
        """Each input's Open Inference Protocol v2 datatype, from the graph, by field name;
        under "" when the graph takes one matrix (every field is then of its type)."""
        if self.matrix:
            return {"": self.inputs[0][1][1]}
        return {name: kinds[1] for name, kinds, _ in self.inputs}

    def _probe_classes(self) -> list[Any]:
        """The classes, in the graph's order: the keys of the per-class map of one answer
        to a record of zeros (empty strings for text); learnt from the first real answer
        instead when the graph refuses that record."""
        feeds = {}
        for name, (dtype, _), shape in self.inputs:
            dims = [1] + [d if isinstance(d, int) else 1 for d in shape[1:]]
            feeds[name] = self.numpy.full(dims, "" if dtype == "object" else 0, dtype=dtype)
        try:
            maps = self.session.run([self.output_names[1]], feeds)[0]
        except Exception:
            return []
        return [_plain(key) for key in maps[0]]

    def feeds(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        numpy = self.numpy
        if self.matrix:
            name, (dtype, _), _ = self.inputs[0]
            rows = [[_cell(r.get(f), dtype) for f in self.features] for r in records]
            return {name: numpy.asarray(rows, dtype=dtype).reshape(len(records), -1)}
        feeds = {}
        for name, (dtype, _), shape in self.inputs:
            column = numpy.asarray([_cell(r.get(name), dtype) for r in records], dtype=dtype)
            feeds[name] = column.reshape(len(records), 1) if len(shape) == 2 else column
        return feeds

    def predict_many(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not records:
            return []
        outputs = self.session.run(None, self.feeds(records))
        if self.classifier:
            labels, maps = outputs
            if not self.classes and len(maps):
                self.classes = [_plain(key) for key in maps[0]]
            return [
                {
                    "prediction": _one(label),
                    "probabilities": {str(_plain(k)): float(v) for k, v in probs.items()},
                }
                for label, probs in zip(labels, maps, strict=True)
            ]
        if self.logits:
            return self._softmax_answers(outputs[0])
        if len(outputs) == 1:
            return [{"prediction": _one(row)} for row in outputs[0]]
        return [
            {name: _one(output[i]) for name, output in zip(self.output_names, outputs, strict=True)}
            for i in range(len(records))
        ]

    def _softmax_answers(self, logits: Any) -> list[dict[str, Any]]:
        """Each row of logits as the most likely label and every label's probability."""
        shifted = self.numpy.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = (shifted / shifted.sum(axis=1, keepdims=True)).tolist()
        labels = self.classes
        return [
            {
                "prediction": labels[p.index(max(p))],
                "probabilities": dict(zip(labels, p, strict=True)),
            }
            for p in probabilities
        ]

    def predict(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.predict_many([record])[0]


def torch_format(artifact: Path) -> str:
    """What a torch file holds, read from its zip archive without torch: "export" (a
    `torch.export.save` program), "torchscript" (`torch.jit.save`), "weights" (a
    `torch.save` pickle: a state_dict or a whole module, which needs its class to load), or
    "unknown" (not a zip: left to `torch.jit.load`, which reads the legacy format)."""
    import zipfile

    try:
        with zipfile.ZipFile(artifact) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return "unknown"
    if any(n.rsplit("/", 1)[-1] == "archive_format" for n in names):
        return "export"
    if any("/code/" in n or n.endswith("constants.pkl") for n in names):
        return "torchscript"
    return "weights" if any(n.endswith("data.pkl") for n in names) else "unknown"


def _exported(torch: Any, artifact: Path) -> tuple[Any, int | None, int | None]:
    """A `torch.export` program's module, its input's column count and fixed batch size
    (None where the export left it dynamic). Read through an open file, so a program saved
    under another suffix than `.pt2` loads without torch's warning."""
    with open(artifact, "rb") as handle:
        program = torch.export.load(handle)
    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    inputs = [placeholders[name] for name in program.graph_signature.user_inputs]
    shapes = [tuple(getattr(n.meta.get("val"), "shape", ())) for n in inputs]
    if len(shapes) != 1 or len(shapes[0]) != 2:
        raise ValueError(
            f"{artifact.name}: the exported program takes {len(shapes)} input(s) of shape(s) "
            f"{', '.join(str(list(s)) for s in shapes) or 'none'}; flavor torch sends one "
            "float tensor [batch, fields]: export a module of one such input (or use flavor "
            "python with your own predictor class)"
        )
    batch, width = (d if isinstance(d, int) else None for d in shapes[0])
    return program.module(), width, batch


class TorchPredictor:
    """A TorchScript module (`torch.jit.save`) or a `torch.export` program
    (`torch.export.save`, told apart by the file's content, whatever its suffix) on the
    CPU, called under `inference_mode`: the records become one float32 tensor [batch,
    fields] in `features` order (`x-feature-order`), a batch in one call. A TorchScript
    module is put in `eval()` mode; an exported program already is in the mode it was
    exported in (torch refuses `eval()` on it), and it names its column count. A program
    exported with a fixed batch size is called in chunks of that size, the last padded.
    With `labels` (the manifest's `model.labels`) each output row is a classifier's
    logits: the answer is the most likely label and every label's softmax probability;
    without, the row is the prediction."""

    def __init__(self, artifact: Path, features: list[str], labels: list[str]) -> None:
        import torch

        self.torch = torch
        self.format = torch_format(artifact)
        self.batch: int | None = None
        self.n_features_in: int | None = None
        if self.format == "weights":
            raise ValueError(
                f"{artifact.name} is a torch.save file (a state_dict, or a module pickled with "
                "its class), not a model torch can load alone: save it with "
                "torch.jit.save(torch.jit.script(net), ...) or torch.export.save("
                "torch.export.export(net, (example,)), ...), or use flavor python"
            )
        if self.format == "export":
            self.model, self.n_features_in, self.batch = _exported(torch, artifact)
        else:
            self.model = torch.jit.load(str(artifact), map_location="cpu")
            self.model.eval()
        self.features = list(features)
        self.known_features = None  # neither format names its input's columns
        self.classes: list[Any] = list(labels)
        self.has_proba = bool(labels)
        self.categorical: list[str] = []

    def _call(self, rows: list[list[Any]]) -> Any:
        torch = self.torch
        inputs = torch.tensor(rows, dtype=torch.float32)
        if self.batch is None or len(rows) == self.batch:
            return self.model(inputs)
        chunks = []
        for start in range(0, len(rows), self.batch):
            chunk = inputs[start : start + self.batch]
            padding = inputs.new_zeros((self.batch - len(chunk), inputs.shape[1]))
            chunks.append(self.model(torch.cat([chunk, padding]))[: len(chunk)])
        return torch.cat(chunks)

    def predict_many(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not records:
            return []
        torch = self.torch
        rows = [[_cell(r.get(f), "float32") for f in self.features] for r in records]
        with torch.inference_mode():
            output = self._call(rows)
            if not self.classes:
                return [{"prediction": _one(row)} for row in output.tolist()]
            probabilities = torch.softmax(output, dim=1)
            best = probabilities.argmax(dim=1).tolist()
        labels = self.classes
        return [
            {"prediction": labels[b], "probabilities": dict(zip(labels, p, strict=True))}
            for b, p in zip(best, probabilities.tolist(), strict=True)
        ]

    def predict(self, record: dict[str, Any]) -> dict[str, Any]:
        return self.predict_many([record])[0]


def load(
    flavor: str, artifact: Path, features: list[str], labels: list[str]
) -> OnnxPredictor | TorchPredictor:
    """The predictor of a tensor flavor."""
    if flavor == "onnx":
        return OnnxPredictor(artifact, features, labels)
    if flavor == "torch":
        return TorchPredictor(artifact, features, labels)
    raise ValueError(f"unknown tensor flavor {flavor!r}")
