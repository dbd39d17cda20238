"""`workbench/` stays free of interface libraries, and `--help` does not import Textual."""

from __future__ import annotations

import ast
import importlib.util
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import workbench

INTERFACE = ("textual", "typer", "rich", "commands", "screens")


def _modules_after_import(statement: str) -> set[str]:
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(json.loads(out.stdout))


def test_every_workbench_module_imports_no_interface_library() -> None:
    names = [m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench.")]
    assert "workbench.project.manifest" in names
    loaded = _modules_after_import("\n".join(f"import {n}" for n in names))
    leaked = sorted(m for m in loaded if m.split(".")[0] in INTERFACE)
    assert leaked == []


def test_cli_module_does_not_import_textual_or_docker() -> None:
    loaded = _modules_after_import("import commands.main")
    assert "typer" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "docker", "git")}


def test_the_entry_point_loads_no_interface_library_before_it_knows_the_command() -> None:
    # The TUI's first paint should not wait for Typer and Rich it will never use.
    loaded = _modules_after_import("import commands.launch")
    assert "commands.launch" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("typer", "rich", "textual", "click")}


# --- no import cycles, counting imports inside functions ---------------------------------------

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("workbench", "commands", "screens")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Every module of ours imported anywhere in `tree` (functions too), but not under
    `if TYPE_CHECKING:` (never executed). `from pkg import name` counts `pkg.name` when
    that is a module, else `pkg`."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in known}


def import_graph() -> dict[str, set[str]]:
    files = {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "runtime" not in path.relative_to(ROOT).parts  # the runtime imports relatively
    }
    known = set(files)
    return {
        name: _imports(ast.parse(path.read_text()), name, path.name == "__init__.py", known)
        - {name}
        for name, path in files.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    code = "import a.b\ndef f():\n    from a import c\n"
    known = {"a", "a.b", "a.c"}
    graph = {"a.b": {"a.c"}, "a.c": _imports(ast.parse(code), "a.c", False, known)}
    assert cycles(graph) == [["a.b", "a.c"]]


def test_no_import_cycles_in_workbench_commands_or_screens() -> None:
    graph = import_graph()
    assert "workbench.steps.serve.session" in graph
    assert "workbench.steps.serve.probes" in graph["workbench.steps.serve.session"]
    assert cycles(graph) == []


def test_no_module_is_much_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (count := len(path.read_text().splitlines())) > 420
    }
    assert long == {}


# Functions being split elsewhere, by name; each leaves this list with its split.
LONG_FUNCTIONS_SPLIT_ELSEWHERE: set[str] = set()  # none left: every function is short
MODULES_SPLIT_ELSEWHERE: set[str] = set()


def long_functions(source: str, limit: int = 80) -> dict[str, int]:
    """Every function or method (nested ones too) longer than `limit` lines, by its
    dotted name; a function counts from its `def` to its last line."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    lines = (child.end_lineno or child.lineno) - child.lineno + 1
                    if lines > limit:
                        found[name] = lines
                name += "."
            visit(child, name)

    visit(ast.parse(source), "")
    return found


def test_the_length_finder_counts_methods_and_nested_functions() -> None:
    def body(indent: int) -> str:
        return "\n".join(" " * indent + f"x{i} = {i}" for i in range(81))

    code = f"class A:\n  def long(self):\n{body(4)}\ndef outer():\n  def inner():\n{body(4)}\n"
    assert long_functions(code) == {"A.long": 82, "outer": 83, "outer.inner": 82}


def test_no_function_is_over_80_lines() -> None:
    long = {
        f"{path.relative_to(ROOT)}:{name}": count
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if str(path.relative_to(ROOT)) not in MODULES_SPLIT_ELSEWHERE
        for name, count in long_functions(path.read_text()).items()
    }
    assert set(long) <= LONG_FUNCTIONS_SPLIT_ELSEWHERE, long
    # A function split elsewhere that is short now leaves the list.
    assert not {name for name in LONG_FUNCTIONS_SPLIT_ELSEWHERE if name not in long}, (
        "remove it from LONG_FUNCTIONS_SPLIT_ELSEWHERE"
    )


def architecture_map(readme: str) -> set[str]:
    """The modules the README's architecture map names, as paths: a line whose first word
    ends in `/` is a folder (nested by indentation); the `.py` words that open a line are
    modules of the nearest folder indented less."""
    section = readme.split("## Architecture\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    folders: list[tuple[int, str]] = []  # (indentation, path)
    named: set[str] = set()
    for line in block.splitlines():
        words = line.split()
        if not words:
            continue
        indent = len(line) - len(line.lstrip())
        while folders and folders[-1][0] >= indent:
            folders.pop()
        parent = folders[-1][1] if folders else ""
        if words[0].endswith("/"):
            folders.append((indent, parent + words[0]))
            continue
        for word in words:
            if not word.endswith(".py"):
                break
            named.add(parent + word)
    return named


def test_the_readme_maps_every_module() -> None:
    named = architecture_map((ROOT / "README.md").read_text())
    modules = {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py"
    }
    assert modules - named == set(), "add these to README.md's ## Architecture"
    assert named - modules - {"workbench/steps/__init__.py"} == set(), "no longer there"


def test_every_benchmark_script_imports() -> None:
    # Benchmarks are not run by the suite; this keeps a refactoring from breaking them unseen.
    for path in sorted((ROOT / "tests" / "bench").glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
