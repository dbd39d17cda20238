"""What makes the image big, read from the image itself: its largest installed Python
packages (every file a distribution recorded, and the bytecode the build compiled for it,
measured in one throwaway container) and its largest layers (the engine's history). It
feeds `serve.budget.image_mb`: a size over budget names what to cut."""

from __future__ import annotations

import json
import re
from typing import Any

from workbench.project.manifest import Manifest
from workbench.steps.serve import sessions
from workbench.steps.serve.report import LayerSize, PackageSize
from workbench.steps.serve.run import hardening, labels_of, logs_tail, remove

SHOWN = 5  # packages named, largest first
SHOWN_LAYERS = 3
HASHED = re.compile(r"((?:dir|file|sha256):)([0-9a-f]{13,})")
READ_SECONDS = 60  # the reading container's bound
# Run by the image's own interpreter (the venv's, first on PATH): each distribution's
# recorded files, plus the __pycache__ bytecode of its .py files (compiled at build time,
# so not in its RECORD), walked once.
SCRIPT = r"""
import importlib.metadata as md, json, os, sys
pyc = {}
for top in {p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)}:
    for folder, _, names in os.walk(top):
        if os.path.basename(folder) == "__pycache__":
            for name in names:
                source = os.path.join(os.path.dirname(folder), name.split(".")[0] + ".py")
                pyc[source] = pyc.get(source, 0) + os.lstat(os.path.join(folder, name)).st_size
found = []
for dist in md.distributions():
    total = 0
    for recorded in dist.files or ():
        path = os.path.normpath(str(recorded.locate()))
        try:
            total += os.lstat(path).st_size
        except OSError:
            continue
        total += pyc.pop(path, 0)
    found.append([dist.metadata["Name"], dist.version, total])
print(json.dumps(found))
"""


def read_packages(text: str) -> list[PackageSize]:
    """The reading script's output as sizes, largest first."""
    rows = json.loads(text.strip().splitlines()[-1])
    packages = [PackageSize(name=str(n), version=str(v), size_bytes=int(b)) for n, v, b in rows]
    return sorted(packages, key=lambda p: (-p.size_bytes, p.name.lower()))


def package_sizes(client: Any, image_id: str, manifest: Manifest) -> list[PackageSize]:
    """Every installed distribution of the image with its size, read in a throwaway
    container (no network, read-only, no capabilities, labelled as the serve test's, and
    removed whatever happens)."""
    with sessions.throwaway(client, manifest.root) as session:
        container = client.containers.create(
            image_id,
            entrypoint=["python3", "-c", SCRIPT],
            command=[],
            network_disabled=True,
            **hardening(manifest),
            labels=labels_of(manifest, session),
        )
        try:
            container.start()
            ended = container.wait(timeout=READ_SECONDS)
            if ended.get("StatusCode") != 0:
                raise RuntimeError(
                    f"exit code {ended.get('StatusCode')}: "
                    + logs_tail(container, 3).replace("\n", " | ")
                )
            return read_packages(container.logs(stdout=True, stderr=False).decode())
        finally:  # the session's label removes it too (an interrupt before `container`)
            remove(container)


def step_of(created_by: str) -> str:
    """A history entry's command as a person reads it, shortened (content hashes to 12
    digits); an imported layer records none."""
    text = " ".join(created_by.split())
    if text.startswith("/bin/sh -c #(nop) "):  # the classic builder's COPY, ENV ...
        text = text.removeprefix("/bin/sh -c #(nop) ").strip()
    elif text.startswith(("/bin/sh -c ", "|")):  # its RUN; BuildKit's `RUN |2 ARG=..`
        text = "RUN " + text.split("/bin/sh -c ", 1)[-1]
    text = HASHED.sub(lambda found: found.group(1) + found.group(2)[:12], text)
    if not text:
        return "(no command recorded: an imported layer)"
    return text if len(text) <= 90 else text[:89] + "…"


def largest_layers(history: list[dict[str, Any]]) -> list[LayerSize]:
    """The engine's history of the image (`docker history`): its largest layers first."""
    layers = [
        LayerSize(step=step_of(str(entry.get("CreatedBy") or "")), size_bytes=int(entry["Size"]))
        for entry in history
        if int(entry.get("Size") or 0) > 0
    ]
    return sorted(layers, key=lambda layer: -layer.size_bytes)[:SHOWN_LAYERS]


def describe(packages: list[PackageSize], count: int = SHOWN) -> str:
    """The largest packages, said in one line, with what they add up to."""
    every = sum(p.size_bytes for p in packages)
    shown = ", ".join(p.describe() for p in packages[:count])
    return f"{shown} (of {every / 1e6:,.0f} MB in {len(packages)} Python packages)"
