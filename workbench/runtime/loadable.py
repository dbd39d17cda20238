"""Which saved files load as a model, asked in the model's own interpreter (`init`'s guess).

Usage: python loadable.py < {"paths": [...]} > {"verdicts": {path: verdict}}
verdict: "model" (it loads and has predict()), "not a model: a DataFrame" (a data pickle
such as X_test.pkl), or "does not load: ..." (the error, shortened).

Loading runs the pickles of the project being initialised, in its own environment, as
the snapshot and the serve test do anyway. Standard library and the model's libraries.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flavors import load_model
from inprocess import answers_channel
from tensors import torch_format

TORCH_SUFFIXES = (".pt", ".pts", ".pt2")


def verdict(path: Path) -> str:
    if path.suffix in TORCH_SUFFIXES and torch_format(path) == "weights":
        return (
            "not a model: a torch.save file (a state_dict, or a module pickled with its class); "
            "save the model with torch.jit.save or torch.export.save"
        )
    if path.suffix == ".onnx" or path.suffix in TORCH_SUFFIXES:
        return "model"  # a graph, for the onnx flavor (onnxruntime) or torch (TorchScript, export)
    try:
        loaded = load_model(path)
    except Exception as exc:
        return f"does not load: {type(exc).__name__}: {exc}"[:200]
    if callable(getattr(loaded, "predict", None)) and not isinstance(loaded, type):
        return "model"
    return f"not a model: a {type(loaded).__name__}"


def main() -> int:
    out = answers_channel()  # a pickle that prints while it loads cannot hide the verdicts
    request = json.load(sys.stdin)
    json.dump({"verdicts": {p: verdict(Path(p)) for p in request["paths"]}}, out)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
