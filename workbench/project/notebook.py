"""`init --from-notebook`: run a notebook in the model's own kernel, into a project.

The notebook runs with nbclient in a kernel started from the model environment's
interpreter (never the workbench's own: its libraries are not the model's), with the
standalone `workbench.notebook` API lent to it on its path, so `export_project` works
there whether or not the workbench is installed in that environment. The API leaves a
receipt naming the project it saved; a notebook that never calls it gets the one cell
to add, with the names of its own fitted model and held-out split where they can be
seen in its kernel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel.environ import without_secrets
from workbench.kernel.errors import WorkbenchError
from workbench.project.manifest import MANIFEST_NAME, load_manifest

KERNEL_NAME = "workbench-model"
CELL_TIMEOUT = 900  # seconds one cell may take (training included)
PROBE_MARK = "workbench-candidates:"

# Run in the kernel after the last cell when the API was never called: the names of the
# fitted models and of the held-out features and targets it holds.
PROBE = f"""
def _workbench_candidates():
    import json
    found = {{"model": [], "X": [], "y": []}}
    for name, value in list(globals().items()):
        if name.startswith("_") or isinstance(value, type) or callable(value) and not hasattr(
            value, "predict"
        ):
            continue
        if callable(getattr(value, "predict", None)) and callable(getattr(value, "fit", None)):
            fitted = any(hasattr(value, a) for a in ("classes_", "n_features_in_",
                                                     "feature_names_", "tree_count_"))
            found["model"].insert(0, name) if fitted else found["model"].append(name)
        elif hasattr(value, "shape"):
            low = name.lower()
            held = any(w in low for w in ("test", "valid", "val", "holdout", "hold"))
            side = "X" if low.startswith("x") else "y" if low.startswith("y") else None
            if side and held:
                found[side].insert(0, name)
            elif side:
                found[side].append(name)
    print("{PROBE_MARK}" + json.dumps(found))
_workbench_candidates()
"""


@dataclass(frozen=True)
class Exported:
    """What `export_project` saved, from its receipt."""

    project: Path
    sample: Path
    target: str


def notebook_interpreter(notebook: Path, project: Path | None, python: str | None) -> Path:
    """The model environment's interpreter, chosen as a manifest's `python:` is: the one
    named, else the `python:` of the project's manifest when it has one, else the project's
    `.venv`, else the `.venv` beside the notebook."""
    if python:
        return Path(os.path.abspath(python))
    if project is not None and (project / MANIFEST_NAME).exists():
        manifest = load_manifest(project)
        if manifest.python is not None:
            return manifest.interpreter()
    places = [p for p in (project, notebook.parent) if p is not None]
    for place in places:
        candidate = place / ".venv" / "bin" / "python"
        if candidate.exists():
            return Path(os.path.abspath(candidate))
    raise WorkbenchError(
        f"no environment to run {notebook.name} in: no .venv/bin/python in "
        + " or ".join(str(p) for p in places)
        + "; the workbench never runs a notebook in its own interpreter (its libraries are "
        "not the model's).",
        fix="pass --python with the interpreter of the notebook's environment (the one with "
        "the model's libraries and ipykernel), e.g. --python .venv/bin/python.",
    )


def _check_kernel(interpreter: Path) -> None:
    if not interpreter.exists():
        raise WorkbenchError(
            f"the interpreter {interpreter} does not exist.",
            fix="pass --python with the interpreter of the notebook's environment.",
        )
    done = subprocess.run(
        [str(interpreter), "-c", "import ipykernel"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise WorkbenchError(
            f"{interpreter} cannot run a notebook: ipykernel is not installed in it.",
            fix=f"install it into the model's environment: `{interpreter} -m pip install "
            "ipykernel`, then run the command again.",
        )


def _read(notebook: Path) -> Any:
    import nbformat

    try:
        return nbformat.read(str(notebook), as_version=4)
    except FileNotFoundError:
        raise WorkbenchError(
            f"{notebook}: no such notebook.", fix="pass the path of your .ipynb file."
        ) from None
    except Exception as exc:  # nbformat raises JSON, validation and version errors alike
        raise WorkbenchError(
            f"{notebook} is not a readable Jupyter notebook ({type(exc).__name__}: {exc}).",
            fix="open and save it once in Jupyter, or pass the right file.",
        ) from None


def _lend_api(scratch: Path) -> Path:
    """A folder holding only `workbench/notebook/`, put first on the kernel's path."""
    from workbench import notebook as api

    lib = scratch / "lib"
    (lib / "workbench").mkdir(parents=True)
    (lib / "workbench" / "__init__.py").write_text('"""The notebook API, lent."""\n')
    shutil.copytree(
        Path(api.__file__).parent,
        lib / "workbench" / "notebook",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return lib


def _kernel_manager(scratch: Path, interpreter: Path) -> Any:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = scratch / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [str(interpreter), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "the model's environment", "language": "python"})
    )
    specs = KernelSpecManager(kernel_dirs=[str(scratch / "kernels")])
    return KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)


def run_notebook(notebook: Path, interpreter: Path, project: Path | None) -> Exported:
    """Run every cell of `notebook` in a kernel of `interpreter`, in the notebook's folder;
    the project its `export_project` call saved."""
    from nbclient import NotebookClient

    _check_kernel(interpreter)
    book = _read(notebook)
    with tempfile.TemporaryDirectory(prefix="workbench-notebook-") as tmp:
        scratch = Path(tmp)
        receipt = scratch / "receipt.json"
        env = {
            **without_secrets(),  # the notebook's cells are the project's code
            "PYTHONPATH": os.pathsep.join(
                [str(_lend_api(scratch)), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "WORKBENCH_NOTEBOOK_RECEIPT": str(receipt),
        }
        if project is not None:
            env["WORKBENCH_NOTEBOOK_PROJECT"] = str(project.absolute())
        client = NotebookClient(
            book,
            km=_kernel_manager(scratch, interpreter),
            timeout=CELL_TIMEOUT,
            resources={"metadata": {"path": str(notebook.parent.absolute())}},
        )
        try:
            with client.setup_kernel(env=env, stderr=subprocess.DEVNULL):
                _run_cells(client, book, notebook)
                if not receipt.exists():
                    raise _never_exported(notebook, _candidates(client, book))
        except (RuntimeError, TimeoutError) as exc:  # the kernel would not start, or died
            raise WorkbenchError(
                f"the notebook's kernel ({interpreter} -m ipykernel_launcher) failed: "
                f"{type(exc).__name__}: {exc}.",
                fix=f"check that `{interpreter} -m ipykernel_launcher --help` runs, then run "
                "the command again.",
            ) from None
        answer = json.loads(receipt.read_text())
    return Exported(Path(answer["project"]), Path(answer["sample"]), str(answer["target"]))


def _run_cells(client: Any, book: Any, notebook: Path) -> None:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    for index, cell in enumerate(book.cells):
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as exc:
            raise _cell_failed(notebook, book, index, exc) from None
        except (CellTimeoutError, DeadKernelError) as exc:
            raise WorkbenchError(
                f"{notebook}: cell {index + 1} did not finish ({exc}).",
                fix="make the notebook run top to bottom in its environment first "
                "(Kernel > Restart & Run All).",
            ) from None


def _cell_failed(notebook: Path, book: Any, index: int, exc: Any) -> WorkbenchError:
    name, value = getattr(exc, "ename", "Error"), str(getattr(exc, "evalue", exc))
    first = (book.cells[index].source.strip().splitlines() or [""])[0][:80]
    if name == "ExportError":
        return WorkbenchError(f"{notebook}: cell {index + 1} (`{first}`): {value}")
    return WorkbenchError(
        f"{notebook}: cell {index + 1} (`{first}`) failed in the model's environment: "
        f"{name}: {value}.",
        fix="make the notebook run top to bottom in that environment first (Kernel > "
        "Restart & Run All), or pass --python with the environment it was written for.",
    )


def _candidates(client: Any, book: Any) -> dict[str, list[str]]:
    import nbformat

    probe = nbformat.v4.new_code_cell(PROBE)
    book.cells.append(probe)
    try:
        client.execute_cell(probe, len(book.cells) - 1)
    except Exception:  # the probe only improves the advice; without it, the plain names
        return {}
    for output in probe.get("outputs", []):
        for line in str(output.get("text", "")).splitlines():
            if line.startswith(PROBE_MARK):
                found: dict[str, list[str]] = json.loads(line[len(PROBE_MARK) :])
                return found
    return {}


def export_cell(found: dict[str, list[str]]) -> str:
    """The cell to add, with the notebook's own names where they were seen."""
    model, features, target = (
        (found.get(side) or [default])[0]
        for side, default in (("model", "model"), ("X", "X_test"), ("y", "y_test"))
    )
    return (
        "from workbench.notebook import export_project; "
        f"export_project({model}, {features}, {target})"
    )


def _never_exported(notebook: Path, found: dict[str, list[str]]) -> WorkbenchError:
    names = [f"`{found[side][0]}`" for side in ("model", "X", "y") if found.get(side)]
    seen = f" (its kernel held {', '.join(names)})" if names else ""
    return WorkbenchError(
        f"{notebook} ran to its end but never called export_project, so nothing was saved "
        "for the workbench to take over.",
        fix=f"add this cell at the end of the notebook{seen}, naming the fitted model and "
        f"the held-out features and targets, then run the command again: `{export_cell(found)}`",
    )
