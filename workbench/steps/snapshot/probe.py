"""Inspect a Python environment from inside: run by the model's own interpreter.

Standard library only, and no workbench imports: this file is executed as a
script by the interpreter being snapshotted, so nothing of the workbench leaks
into what it sees. Prints one JSON document.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import sys
import sysconfig
from importlib import metadata


def _source(dist: metadata.Distribution) -> dict[str, str]:
    """Where a distribution came from: index, editable, local path or VCS (PEP 610)."""
    try:
        text = dist.read_text("direct_url.json")
    except Exception:
        text = None
    if not text:
        return {"kind": "index"}
    try:
        info = json.loads(text)
    except ValueError:
        return {"kind": "index"}
    url = str(info.get("url", ""))
    if "vcs_info" in info:
        vcs = info["vcs_info"]
        return {"kind": "vcs", "url": f"{vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}"}
    if info.get("dir_info", {}).get("editable"):
        return {"kind": "editable", "url": url}
    if url.startswith("file:"):
        return {"kind": "local", "url": url}
    return {"kind": "url", "url": url}


def _top_level(dist: metadata.Distribution) -> list[str]:
    try:
        text = dist.read_text("top_level.txt")
    except Exception:
        text = None
    if text:
        return sorted({line.strip() for line in text.splitlines() if line.strip()})
    names = set()
    for file in dist.files or []:
        parts = file.parts
        if not parts or parts[0].endswith((".dist-info", ".egg-info", ".data")) or parts[0] == "..":
            continue
        if len(parts) == 1:
            if parts[0].endswith(".py"):
                names.add(parts[0][:-3])
            elif parts[0].endswith((".so", ".pyd")):
                names.add(parts[0].split(".")[0])
            elif parts[0].endswith(".pth"):
                continue
        else:
            names.add(parts[0])
    return sorted(n for n in names if n.isidentifier() and n != "__pycache__")


def _pth_folders(text: str, site: str) -> list[str]:
    """The folders a .pth file puts on sys.path (its `import` lines are code, not paths)."""
    folders = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "import ", "import\t")):
            continue
        folder = os.path.normpath(os.path.join(site, line))
        if os.path.isdir(folder):
            folders.append(folder)
    return folders


def _finder_mapping(text: str) -> dict[str, str]:
    """The name -> folder MAPPING of setuptools' editable import hook
    (`__editable___NAME_finder.py`), read without importing it."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            target: ast.expr = node.target
            value: ast.expr | None = node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == "MAPPING" and value is not None:
            try:
                mapping = ast.literal_eval(value)
            except ValueError:
                return {}
            if isinstance(mapping, dict):
                return {str(k): os.path.normpath(str(v)) for k, v in mapping.items()}
    return {}


def _importable_names(folder: str) -> list[str]:
    names = []
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry)
        if entry.endswith(".py") and entry[:-3].isidentifier():
            names.append(entry[:-3])
        elif entry.isidentifier() and os.path.isfile(os.path.join(path, "__init__.py")):
            names.append(entry)
    return names


def _layout(dist: metadata.Distribution) -> dict[str, object]:
    """Where an editable or local install's modules live, read from the distribution's own
    file list (RECORD): the folders its .pth files add to sys.path (setuptools' static
    mode, hatchling, poetry-core, flit, pdm) and the MAPPING of setuptools' import-hook
    finder (strict mode, or a `package-dir` that is no plain folder). Whatever the layout
    (src/, `packages.find where`, `package-dir`, `from = "src"`), this says which
    top-level names the install provides and from where."""
    folders: list[str] = []
    mapping: dict[str, str] = {}
    for file in dist.files or []:
        name = file.name
        if not name.endswith((".pth", ".py")) or len(file.parts) != 1:
            continue
        if name.endswith(".py") and not (
            name.startswith("__editable__") and name.endswith("_finder.py")
        ):
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if name.endswith(".pth"):
            folders += _pth_folders(text, str(dist.locate_file("")))
        else:
            mapping.update(_finder_mapping(text))
    provides = set(mapping)
    for folder in folders:
        provides.update(_importable_names(folder))
    return {"folders": sorted(set(folders)), "mapping": mapping, "provides": sorted(provides)}


def main() -> None:
    dists = []
    broken = []
    seen: set[str] = set()
    for dist in metadata.distributions():
        meta = dist.metadata
        name = meta["Name"] if meta else None
        version = meta["Version"] if meta else None
        if not name or not version:
            broken.append(str(getattr(dist, "_path", "?")))
            continue
        key = name.lower().replace("_", "-").replace(".", "-")
        if key in seen:
            # The same name twice: an editable install's build leaves `NAME.egg-info` in
            # its source folder, on the path too. The first found is the one Python uses.
            continue
        seen.add(key)
        source = _source(dist)
        entry = {
            "name": name,
            "version": version,
            "requires": list(dist.requires or []),
            "top_level": _top_level(dist),
            "source": source,
            "installer": (dist.read_text("INSTALLER") or "").strip(),
        }
        if source["kind"] in ("editable", "local"):
            entry["layout"] = _layout(dist)
        dists.append(entry)
    print(
        json.dumps(
            {
                "python": {
                    "version": platform.python_version(),
                    "major_minor": f"{sys.version_info[0]}.{sys.version_info[1]}",
                    "implementation": platform.python_implementation(),
                    "executable": sys.executable,
                    "prefix": sys.prefix,
                },
                "platform": {
                    "system": platform.system(),
                    "machine": platform.machine(),
                    "sysconfig": sysconfig.get_platform(),
                },
                "stdlib": sorted(sys.stdlib_module_names),
                "dists": sorted(dists, key=lambda d: d["name"].lower()),
                "broken": broken,
            }
        )
    )


if __name__ == "__main__":
    main()
