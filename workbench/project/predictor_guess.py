"""`workbench init`'s guess of a predictor class: a module at the project's root defining a
class with `load` and `predict` (the python flavor's contract), read with `ast` and never
imported (init runs no project code but the loadability probe); the files its code names
and the project's modules it imports, which the image must hold beside it (`model.code`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

# Modules most likely to hold the predictor come first; a training script rarely does.
PREFERRED = ("predict", "predictor", "model", "serve", "inference", "app")
SKIPPED = {"setup", "conftest", "noxfile", "tasks"}


@dataclass(frozen=True)
class PredictorGuess:
    predictor: str  # module:Class
    artifact: str | None  # the model file its code names first, else the first candidate
    code: tuple[str, ...]  # other model files it names, the project's modules it imports


def _module_order(path: Path) -> tuple[int, str]:
    stem = path.stem.lower()
    return (PREFERRED.index(stem) if stem in PREFERRED else len(PREFERRED), stem)


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=path.name)
    except (OSError, SyntaxError, ValueError):
        return None  # unreadable, not Python 3, or null bytes: not a predictor module


def _predictor_class(tree: ast.Module) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            methods = {
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            if {"load", "predict"} <= methods:
                return node.name
    return None


def _strings(tree: ast.Module) -> list[str]:
    """The module's short string constants, in the order they appear in its source."""
    found = [
        node for node in ast.walk(tree) if isinstance(node, ast.Constant)
        and isinstance(node.value, str) and len(node.value) < 300
    ]  # fmt: skip
    return [str(n.value) for n in sorted(found, key=lambda n: (n.lineno, n.col_offset))]


def _local_modules(root: Path, tree: ast.Module) -> list[str]:
    """The project's root modules and packages this module imports (`import helpers`,
    `from features import x`), as model.code entries."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module.split(".")[0])
    found: list[str] = []
    for name in dict.fromkeys(names):
        if (root / f"{name}.py").is_file():
            found.append(f"{name}.py")
        elif (root / name / "__init__.py").is_file():
            found.append(name)
    return found


def find_predictor(root: Path, candidates: list[str]) -> PredictorGuess | None:
    """The first root module (predict.py, predictor.py, model.py ... first) with a class
    having `load` and `predict`; the candidates its code names by file name (the first
    named is the artifact), and the local modules it imports. None when no module has one."""
    for path in sorted(root.glob("*.py"), key=_module_order):
        if path.stem in SKIPPED or path.stem.startswith("test_"):
            continue
        tree = _parse(path)
        cls = _predictor_class(tree) if tree else None
        if tree is None or cls is None:
            continue
        strings = _strings(tree)
        named = list(  # in the order its code names them: the first read is the model
            dict.fromkeys(c for s in strings for c in candidates if _names(s, c))
        )
        artifact = named[0] if named else (candidates[0] if candidates else None)
        others = [c for c in named if c != artifact]
        modules = [m for m in _local_modules(root, tree) if m != path.name]
        return PredictorGuess(f"{path.stem}:{cls}", artifact, tuple(others + modules))
    return None


def _names(text: str, candidate: str) -> bool:
    """Whether a string of the code names the file (`"weights.pkl"`, `"models/weights.pkl"`,
    the tail of an f-string), never a longer name ending the same (`"my_weights.pkl"`)."""
    return "\n" not in text and Path(text.strip()).name == Path(candidate).name
