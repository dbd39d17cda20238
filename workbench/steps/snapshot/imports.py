"""The static half of finding what the predictor imports: an AST scan of its code."""

from __future__ import annotations

import ast
import tokenize
from pathlib import Path

from workbench.kernel.errors import WorkbenchError

SKIPPED = {".venv", "venv", ".git", "__pycache__", ".workbench", "node_modules", "site-packages"}


def python_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_file() and path.suffix == ".py":
            files.append(path)
        elif path.is_dir():
            for child in sorted(path.rglob("*.py")):
                if not SKIPPED & set(child.relative_to(path).parts):
                    files.append(child)
    return files


def local_modules(paths: list[Path]) -> set[str]:
    """Top-level names the project's own code provides (not to be found in a distribution)."""
    names = set()
    for path in paths:
        base = path if path.is_dir() else path.parent
        for child in base.iterdir():
            if child.suffix == ".py":
                names.add(child.stem)
            elif child.is_dir() and (child / "__init__.py").exists():
                names.add(child.name)
    return names


def static_imports(paths: list[Path], root: Path) -> dict[str, list[str]]:
    """Top-level module -> the files (relative to root) that import it."""
    found: dict[str, list[str]] = {}
    for file in python_files(paths):
        try:
            with tokenize.open(file) as handle:  # its `# coding:` line, else UTF-8
                tree = ast.parse(handle.read(), filename=str(file))
        except SyntaxError as exc:
            raise WorkbenchError(
                f"{file}, line {exc.lineno}: the predictor's code does not parse ({exc.msg}).",
                fix="correct the syntax error, then take the snapshot again.",
            ) from None
        except (UnicodeDecodeError, LookupError) as exc:
            raise WorkbenchError(
                f"{file} cannot be read as Python source ({exc}).",
                fix="save it as UTF-8, or declare its encoding (`# coding: latin-1`).",
            ) from None
        relative = file.relative_to(root).as_posix() if file.is_relative_to(root) else str(file)
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                found.setdefault(top, [])
                if relative not in found[top]:
                    found[top].append(relative)
    return found
