"""The model's answers kept between commands (`.workbench/answers/`).

Asking the model's interpreter costs a second or more each time (it imports the model's
libraries), and `snapshot`, `check`, `serve --test` and `tag` ask it the same questions
about the same model (and score the same answers: `score.py`). An answer is reused only
when everything it came from is unchanged: the request (the records and how they are
given), the staged model's files, the interpreter and what its environment has installed
(`env_stamp`), the scripts that ask, `PYTHONPATH`, and the files of every module the model
imported from outside its environment (an editable package's code, a helper beside the
project), read again at each use. A failure is never kept; nor is an answer over
`MAX_BYTES`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from workbench.kernel.atomic import write_text_atomic
from workbench.kernel.hashing import file_digest, fingerprint
from workbench.kernel.paths import runtime_dir, scratch_dir
from workbench.project.env_stamp import SITE_FOLDERS, env_stamp
from workbench.project.manifest import Manifest

MAX_ENTRIES = 64  # the oldest go first
# A folder shared by several projects instead of each one's `.workbench/answers/` (a pair's
# two clones on one machine; the test suite, whose tests copy the same example): the key
# holds everything an answer came from and nothing of the project's own path, so projects
# asking the same question of the same model in the same environment share the answer.
SHARED_FOLDER = "WORKBENCH_ANSWERS_DIR"
SHARED_MAX_ENTRIES = 2048
MAX_BYTES = 2_000_000  # a larger answer (a big sample's) is asked again
# Environment variables the model's interpreter and libraries read (the path, the loader,
# the thread pools, the GPU): an answer is kept for the values it was given.
VARIABLES = ("PYTHON", "LD_", "OMP_", "MKL_", "OPENBLAS_", "CUDA_", "TZ")


def answers_key(
    manifest: Manifest, request: dict[str, Any], *, script: Path, app: Path | None = None
) -> str:
    """What the answer of `script` to `request` depends on, besides outside modules (checked
    on use): with `app`, the staged model folder (its own path left out of the request: it
    is new for every question)."""
    interpreter = manifest.interpreter()
    asked = {k: v for k, v in request.items() if k != "root"}
    return fingerprint(
        {
            # Records as written: a predictor may read a record's keys in their order.
            "request": json.dumps(asked, default=str),
            "model": file_digest(app) if app is not None else "",
            "interpreter": str(interpreter),
            "environment": env_stamp(interpreter),
            # Where the interpreter's link leads (a conda env, a pyenv version), stamped too.
            "resolved": env_stamp(interpreter.resolve().parent / "python"),
            "installed": install_times(interpreter),
            "runtime": file_digest(runtime_dir()),
            "script": file_digest(script),
            "variables": json.dumps(
                {k: v for k, v in sorted(os.environ.items()) if k.startswith(VARIABLES)}
            ),
        }
    ).removeprefix("sha256:")


def install_times(interpreter: Path) -> str:
    """When each distribution of the environment was last installed (its RECORD, rewritten by
    every install): `pip install .` of the project's own package again at the same version
    changes no name and no `direct_url.json`, but this."""
    lines = []
    for prefix in sorted(set(environment_roots(interpreter))):
        for folder in SITE_FOLDERS:
            for record in sorted(prefix.glob(f"{folder}/*.dist-info/RECORD")):
                try:
                    lines.append(f"{record} {record.stat().st_mtime_ns}")
                except OSError:
                    lines.append(f"{record} unreadable")
    return fingerprint({"records": "\n".join(lines)})


def cached_payload(manifest: Manifest, key: str) -> dict[str, Any] | None:
    """The payload kept for `key`, when every outside module's files are still the same."""
    try:
        entry = json.loads(_entry(manifest, key).read_text())
        outside: dict[str, str] = entry["outside"]
        payload: dict[str, Any] = entry["payload"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(file_digest(Path(where)) != digest for where, digest in outside.items()):
        return None
    return payload


def keep_payload(
    manifest: Manifest,
    key: str,
    payload: dict[str, Any],
    app: Path | None = None,
    *,
    asked_at: float = 0.0,
) -> None:
    """Keep an answer for the next command; a cache that cannot be written is no cache.
    Not kept: a failure, an answer over MAX_BYTES, one that imported a module whose files
    cannot be hashed (a zip) or changed since `asked_at` (edited while the model ran)."""
    if "error" in payload:
        return
    roots = environment_roots(manifest.interpreter())
    outside = {}
    for where in (payload.get("module_files") or {}).values():
        home = module_home(Path(where))
        if in_environment(home, roots, [app] if app else [], manifest.root):
            continue
        digest = file_digest(home)
        if digest == "missing" or _changed_since(Path(where), asked_at):
            return
        outside[str(home)] = digest
    text = json.dumps({"outside": outside, "payload": payload}, separators=(",", ":"))
    if len(text) > MAX_BYTES:
        return
    try:
        folder, kept = _folder(manifest)
        write_text_atomic(folder / f"{key}.json", text)
        _prune(folder, kept)
    except OSError:
        return


def _changed_since(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime >= moment
    except OSError:
        return True


def module_home(where: Path) -> Path:
    """What to read again for a module found at `where`: its package's folder, or its file."""
    return where.parent if where.name == "__init__.py" else where


def environment_roots(interpreter: Path) -> list[Path]:
    """Where the environment's own code lives (its prefix, the base Python's for a venv):
    covered by `env_stamp`, not read file by file."""
    prefix = interpreter.parent.parent
    roots = [prefix, prefix.resolve(), interpreter.resolve().parent.parent]
    config = prefix / "pyvenv.cfg"
    try:
        for line in config.read_text(errors="replace").splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "home" and value.strip():
                roots.append(Path(value.strip()).parent)
    except OSError:
        pass
    return roots


def in_environment(home: Path, roots: list[Path], staged: list[Path], project: Path) -> bool:
    """Whether a module's files are covered without reading them: in the staged model
    (part of the key), or in a site folder or the standard library of the environment's
    prefixes (stamped by `env_stamp` and `install_times`). Anything else under a prefix (a
    clone in `<venv>/src`, a project kept under `/usr`) is read again, and inside the project
    only its venv counts."""
    if _within(home, staged):
        return True
    if _within(home, [project, project.resolve()]) and not _within(home, roots[:2]):
        return False
    for root in roots:
        if not _within(home, [root]):
            continue
        parts = home.relative_to(root).parts
        if any(part in ("site-packages", "dist-packages") for part in parts):
            return True
        if len(parts) >= 2 and parts[0] in ("lib", "lib64") and parts[1].startswith("python"):
            return True  # the standard library (and lib-dynload): the interpreter's own
    return False


def _within(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _entry(manifest: Manifest, key: str) -> Path:
    return _folder(manifest)[0] / f"{key}.json"


def _folder(manifest: Manifest) -> tuple[Path, int]:
    """Where the answers are kept, and how many at most."""
    shared = os.environ.get(SHARED_FOLDER)
    if shared:
        folder = Path(shared)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Answers decide the parity and quality items: only a folder of this user's own,
        # which no one else may write into, is trusted (else the project's own is used).
        mode = folder.stat()
        if mode.st_uid == os.getuid() and not mode.st_mode & 0o022:
            return folder, SHARED_MAX_ENTRIES
    return scratch_dir(manifest.root, "answers", what="the kept model answers"), MAX_ENTRIES


def _prune(folder: Path, kept: int) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    for old in entries[: max(0, len(entries) - kept)]:
        old.unlink(missing_ok=True)
