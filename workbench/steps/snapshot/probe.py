"""Inspect a Python environment from inside: run by the model's own interpreter.

Standard library only, and no workbench imports: this file is executed as a
script by the interpreter being snapshotted, so nothing of the workbench leaks
into what it sees. Prints one JSON document.
"""

from __future__ import annotations

import json
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
        dists.append(
            {
                "name": name,
                "version": version,
                "requires": list(dist.requires or []),
                "top_level": _top_level(dist),
                "source": _source(dist),
                "installer": (dist.read_text("INSTALLER") or "").strip(),
            }
        )
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
