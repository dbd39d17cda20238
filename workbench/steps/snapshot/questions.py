"""What the Snapshot step's manual questions are about, for the person answering them."""

from __future__ import annotations

from workbench.kernel.errors import WorkbenchError
from workbench.project.lockfile import read_snapshot
from workbench.project.manifest import Manifest


def runtime_set(manifest: Manifest) -> tuple[str, list[str]]:
    """A heading and one line per package of the runtime set (snapshot.yaml): its name,
    pinned version, where it comes from when not an index, and why it is there."""
    try:
        record = read_snapshot(manifest.root)
    except WorkbenchError as exc:
        return "No runtime set to look at yet", [exc.paragraph]
    lines = []
    for name, entry in sorted(record.runtime.items()):
        source = "" if entry.source == "index" else f" ({entry.source})"
        why = "; ".join(entry.why) or "no reason recorded"
        lines.append(f"{name}=={entry.version}{source}: {why}")
    if record.serving:
        lines.append(
            "and the serving runtime's own: "
            + ", ".join(f"{n}=={e.version}" for n, e in sorted(record.serving.items()))
        )
    count = len(record.runtime)
    heading = f"The runtime set: {count} package{'s' if count != 1 else ''} (snapshot.yaml)"
    return heading, lines


def runtime_names(manifest: Manifest) -> list[str]:
    """The runtime set's package names (none when there is no readable snapshot)."""
    try:
        return sorted(read_snapshot(manifest.root).runtime)
    except WorkbenchError:
        return []
