"""`workbench init`: a starter manifest for an existing project, or a copy of an example.

The starter manifest is written as text with comments (it is a file a person
reads and edits), filled with what can be guessed from the folder: the model
artifact, the interpreter of `.venv/`, an image name from the folder name.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.errors import WorkbenchError
from workbench.kernel.paths import examples_dir, runtime_dir
from workbench.project.manifest import MANIFEST_NAME, REGISTRY_REF
from workbench.project.model_env import run_json_script
from workbench.project.predictor_guess import find_predictor

ARTIFACT_SUFFIXES = (".joblib", ".pkl", ".pickle", ".onnx", ".cbm", ".pt", ".pts", ".pt2", ".ubj")
# Suffixes most files of which are no model: a candidate only when its first bytes are a
# native booster's (LightGBM's `save_model` text opens with "tree", XGBoost's JSON with
# its "learner"), never a requirements.txt or an example request.
SNIFFED = {".txt": re.compile(rb"\Atree\r?\n"), ".json": re.compile(rb'\A\s*\{\s*"learner"\s*:')}
# The flavor a model file's suffix says, where it is not a pickle for the sklearn flavor
# (`.pt2`: a torch.export program; which torch format a file holds is read from its content).
FLAVOR_OF_SUFFIX = {".onnx": "onnx", ".pt": "torch", ".pts": "torch", ".pt2": "torch"}
# Names that say data, not a model: X_test.pkl, y_train.joblib, features.pkl ...
DATA_NAME = re.compile(
    r"^[xy]_|(^|[_-])(data|train|test|valid|sample|features?|holdout)([_-]|$)", re.I
)
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "venv",
    ".workbench",
    "node_modules",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".ipynb_checkpoints",
    "site-packages",
}
VENV_INTERPRETERS = (".venv/bin/python", "venv/bin/python", ".venv/Scripts/python.exe")
EXAMPLE_IGNORE = shutil.ignore_patterns(".venv", "__pycache__", ".workbench", "*.pyc")


@dataclass(frozen=True)
class Guess:
    name: str
    artifact: str | None
    flavor: str
    python: str | None
    examples_found: bool
    not_models: tuple[str, ...] = ()  # "path: why", files passed over as not a model
    # An example payload found in the project (docs/sample_payload.json), its records.
    payload: str | None = None
    payload_records: tuple[dict[str, Any], ...] = ()
    # A predictor class found at the project's root (module:Class), and what it needs.
    predictor: str | None = None
    code: tuple[str, ...] = ()
    gitignored: tuple[str, ...] = ()  # lines init added to .gitignore


def image_name_for(folder: Path) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", folder.resolve().name.lower()).strip("-")
    return slug or "model"


def find_artifacts(root: Path, limit: int = 20) -> list[str]:
    found: list[str] = []
    for path in sorted(_walk(root)):
        if path.suffix.lower() in ARTIFACT_SUFFIXES or _booster_file(path):
            found.append(path.relative_to(root).as_posix())
            if len(found) >= limit:
                break
    # Prefer files under a models/ or model/ folder, names that do not say data, then
    # shallower paths.
    return sorted(
        found,
        key=lambda p: (
            not p.startswith(("model/", "models/")),
            bool(DATA_NAME.search(Path(p).stem)),
            p.count("/"),
            p,
        ),
    )


def _booster_file(path: Path) -> bool:
    """A `.txt` or `.json` file whose first bytes are a native booster's."""
    head = SNIFFED.get(path.suffix.lower())
    if head is None or path.is_symlink():
        return False
    try:
        with path.open("rb") as handle:
            return head.match(handle.read(64)) is not None
    except OSError:
        return False


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in SKIPPED_DIRS:
                    stack.append(entry)
            elif entry.is_file():
                out.append(entry)
    return out


def rank_by_loading(
    root: Path, python: str | None, candidates: list[str]
) -> tuple[list[str], list[str]]:
    """The candidates that load as a model in the model's own interpreter, in their order,
    and the others with why ("X_test.pkl: not a model: a DataFrame"). Without an interpreter
    (or when asking it fails) every candidate stays, in the order of their names."""
    if python is None or not candidates:
        return candidates, []
    try:
        answer = run_json_script(
            root / python,
            runtime_dir() / "loadable.py",
            json.dumps({"paths": [str(root / c) for c in candidates]}),
            timeout=120,
            cwd=root,
        )
    except WorkbenchError:
        return candidates, []
    verdicts = answer.get("verdicts") or {}
    models = [c for c in candidates if verdicts.get(str(root / c)) == "model"]
    others = [f"{c}: {verdicts.get(str(root / c))}" for c in candidates if c not in models]
    return (models or candidates), others


# A JSON file named like an example request (sample_payload.json, example_request.json).
PAYLOAD_NAME = re.compile(r"(sample|example|payload|request|input)", re.IGNORECASE)
PAYLOAD_BYTES = 1 << 20
# Wrappers serving APIs put records in: {"instances": [...]} (TF Serving, KServe v1) and kin.
PAYLOAD_WRAPPERS = ("instances", "records", "inputs", "data", "dataframe_records")


def payload_records(data: Any) -> list[dict[str, Any]]:
    """The request records in a JSON payload: one record, a list of them, or a list in one of
    the usual wrappers; none when it is anything else (a config, a schema)."""
    if isinstance(data, dict) and len(data) == 1:
        ((key, inner),) = data.items()
        if key in PAYLOAD_WRAPPERS and isinstance(inner, list):
            data = inner
    records = data if isinstance(data, list) else [data]
    if not records or not all(isinstance(r, dict) and r for r in records):
        return []
    if any(isinstance(v, dict) for r in records for v in r.values()):
        return []  # nested objects: more likely a config than a model's request
    return records[:5]


def find_payload(root: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """An obvious example payload in the project: the shallowest JSON file named like one
    whose content reads as request records."""
    named = [
        p
        for p in _walk(root)
        if p.suffix.lower() == ".json" and PAYLOAD_NAME.search(p.stem) and not p.is_symlink()
    ]
    for path in sorted(named, key=lambda p: (len(p.relative_to(root).parts), str(p))):
        try:
            if path.stat().st_size > PAYLOAD_BYTES:
                continue
            records = payload_records(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if records:
            return path.relative_to(root).as_posix(), records
    return None, []


def write_payload_examples(root: Path, g: Guess) -> list[Path]:
    """The found payload's records as example requests in schema/examples (never over an
    existing folder)."""
    folder = root / "schema" / "examples"
    if not g.payload or folder.exists():
        return []
    folder.mkdir(parents=True)
    stem = Path(g.payload).stem
    written = []
    for number, record in enumerate(g.payload_records, start=1):
        name = f"{stem}.json" if len(g.payload_records) == 1 else f"{stem}-{number}.json"
        path = folder / name
        write_text_atomic(path, json.dumps(record, indent=2) + "\n", within=root, what="an example")
        written.append(path)
    return written


def guess(root: Path) -> Guess:
    python = next((p for p in VENV_INTERPRETERS if (root / p).exists()), None)
    candidates = find_artifacts(root)
    found = find_predictor(root, candidates)
    not_models: list[str] = []
    if found:  # its class loads the files: none has to load as a model by itself
        artifact, flavor = found.artifact, "python"
    else:
        artifacts, not_models = rank_by_loading(root, python, candidates)
        artifact = artifacts[0] if artifacts else None
        suffix = Path(artifact).suffix.lower() if artifact else ""
        flavor = FLAVOR_OF_SUFFIX.get(suffix, "sklearn")
    examples = (root / "schema" / "examples").is_dir()
    payload, records = (None, []) if examples else find_payload(root)
    return Guess(
        name=image_name_for(root),
        artifact=artifact,
        flavor=flavor,
        python=python,
        examples_found=examples,
        not_models=tuple(not_models),
        payload=payload,
        payload_records=tuple(records),
        predictor=found.predictor if found else None,
        code=found.code if found else (),
    )


def render_manifest(g: Guess) -> str:
    python_line = (
        f"python: {g.python}"
        if g.python
        else "# python: .venv/bin/python     # the model's environment: none found, create it"
    )
    if g.artifact and g.flavor == "sklearn":
        model = f"  flavor: {g.flavor}\n  artifact: {g.artifact}"
    elif g.artifact and g.flavor == "onnx":
        model = (
            f"  flavor: onnx\n  artifact: {g.artifact}\n"
            "  # labels: [no, yes]            # a graph of one output of logits (exported from "
            "a network): the class of each column"
        )
    elif g.artifact and g.flavor == "torch":
        model = (
            f"  flavor: torch                 # TorchScript or torch.export, on the CPU\n"
            f"  artifact: {g.artifact}\n"
            "  # labels: [no, yes]            # a classifier: the class of each output column"
        )
    elif g.predictor:
        code = f"\n  code: {json.dumps(list(g.code))}" if g.code else ""
        model = (
            "  flavor: python                # your class: load(dir) once, predict(record)\n"
            + (f"  artifact: {g.artifact}\n" if g.artifact else "")
            + f"  predictor: {g.predictor}{code}"
        )
    elif g.artifact:
        model = (
            f"  flavor: python                # {g.artifact} needs your own predictor class\n"
            f"  artifact: {g.artifact}\n"
            "  predictor: predictor:Model    # module:Class with load(artifacts_dir) and "
            "predict(record)"
        )
    else:
        model = (
            "  flavor: sklearn\n"
            "  artifact: models/model.joblib # no model file found: save yours and set its path"
        )
    return f"""# workbench manifest: what to ship and how. Paths are relative to this file.
name: {g.name}
{python_line}
model:
{model}
schema:
  request: schema/request.yaml
  response: schema/response.yaml
  examples: schema/examples       # example request JSON files
serve:
  port: 8080
  memory_limit: 1g                # each worker loads its own copy of the model
  # workers: 2                    # server processes (default: CPU quota, at most 4)
  # base_image: python:3.11-slim  # default follows the snapshot's python major.minor
  # system_packages: [libgomp1]   # Debian packages your libraries need (LightGBM: libgomp1)
# registry: localhost:5000/team/{g.name}
release:
  tag_prefix: v
"""


def init_project(root: Path, *, force: bool = False) -> tuple[Path, Guess]:
    """Write a starter `workbench.yaml` into an existing folder; never overwrite without force."""
    root = Path(root)
    if not root.is_dir():
        raise WorkbenchError(
            f"{root}: no such folder.",
            fix="pass the folder of your model project, or create it first.",
        )
    target = root / MANIFEST_NAME
    if target.exists() and not force:
        raise WorkbenchError(
            f"{target} already exists; it was left as it is.",
            fix="edit it by hand, or run `workbench init --force` to replace it with a "
            "fresh starter.",
        )
    g = guess(root)
    write_text_atomic(target, render_manifest(g), within=root, what="the manifest")
    write_payload_examples(root, g)
    return target, dataclasses.replace(g, gitignored=tuple(ignore_scratch(root)))


IGNORED = (".workbench/", ".venv", "__pycache__/", ".pytest_cache/", ".ipynb_checkpoints/")


def ignore_scratch(root: Path) -> list[str]:
    """Keep the workbench's scratch, the model's environment and caches out of git (else the
    first check reports thousands of uncommitted files); the lines added."""
    gitignore = root / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.exists() else []
    present = {line.strip().strip("/") for line in lines}
    missing = [entry for entry in IGNORED if entry.strip("/") not in present]
    if missing:
        write_text_atomic(
            gitignore, "\n".join([*lines, *missing]) + "\n", within=root, what=".gitignore"
        )
    return missing


def example_names() -> list[str]:
    return sorted(p.name for p in examples_dir().iterdir() if (p / MANIFEST_NAME).exists())


def copy_example(name: str, dest: Path, *, force: bool = False) -> Path:
    source = examples_dir() / name
    if not (source / MANIFEST_NAME).exists():
        raise WorkbenchError(
            f"there is no example called `{name}`.",
            fix="choose one of: " + ", ".join(example_names()) + ".",
        )
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()) and not force:
        raise WorkbenchError(
            f"{dest} is not empty; nothing was copied.",
            fix="choose a new folder, or pass --force to copy the example over it.",
        )
    shutil.copytree(source, dest, ignore=EXAMPLE_IGNORE, dirs_exist_ok=True)
    return dest


def set_registry(project: Path, registry: str) -> None:
    """Point a project's manifest at `registry` (host[:port]/path), keeping the rest of the
    file as it is; the value is checked like the manifest's own field."""
    if not REGISTRY_REF.match(registry):
        raise WorkbenchError(
            f"`{registry}` is not a registry reference.",
            fix="write it as host[:port]/path, e.g. localhost:5000/team/model.",
        )
    path = project / MANIFEST_NAME
    text = path.read_text(encoding="utf-8")
    line = f"registry: {registry}"
    if re.search(r"^registry:", text, flags=re.M):
        text = re.sub(r"^registry:.*$", line, text, flags=re.M)
    elif re.search(r"^# registry:", text, flags=re.M):  # the starter's hint, in its place
        text = re.sub(r"^# registry:.*$", line, text, count=1, flags=re.M)
    else:
        text = text.rstrip("\n") + "\n" + line + "\n"
    write_text_atomic(path, text, within=project, what="the manifest")


def make_example_env(
    project: Path, *, venv: Path | None = None, python: str = sys.executable
) -> Path:
    """Create the example's own environment (`.venv` from its requirements.txt).

    The example's manifest names `.venv/bin/python`, the environment the model
    was trained in; the workbench itself never installs into it.
    """
    venv = venv or project / ".venv"
    interpreter = venv / "bin" / "python"
    requirements = project / "requirements.txt"
    if not interpreter.exists():
        _run([python, "-m", "venv", str(venv)], "create the example's virtual environment")
    if requirements.exists():
        _run(
            [
                str(interpreter),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
            ],
            "install the example's requirements",
        )
    return interpreter


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise WorkbenchError(
            f"could not {what}: `{' '.join(argv[:4])} ...` exited {result.returncode}: "
            + " / ".join(tail),
            fix="check the network access to your package index, then run again.",
        )
