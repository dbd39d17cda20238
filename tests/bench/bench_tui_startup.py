"""Benchmark: from starting `workbench` to the first painted home screen.

Side by side in one run with a minimal Textual app (one Static) started the same
way. Target: workbench at most 1.5x the minimal app. Each program runs in a
pseudo-terminal; the clock stops when its first screen's text arrives. Also
prints when the statuses have loaded (computed in a worker after the first paint).

    .venv/bin/python tests/bench/bench_tui_startup.py [--runs 5] [--smoke]

`--smoke` (as CI runs it, so the script cannot rot): one run; figures, no meaning.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

MINIMAL = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Minimal(App):\n"
    "    def compose(self):\n"
    "        yield Static('MINIMAL-READY')\n"
    "Minimal().run()\n"
)


def time_to(argv: list[str], markers: list[bytes], timeout: float = 30) -> list[float]:
    """Seconds from spawn until each marker has appeared in the terminal output."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["COLUMNS"], os.environ["LINES"] = "120", "36"
        os.execv(argv[0], argv)
    seen = b""
    found: list[float] = []
    try:
        while len(found) < len(markers) and time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", seen)
                while len(found) < len(markers) and markers[len(found)] in plain:
                    found.append(time.perf_counter() - start)
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
    if len(found) < len(markers):
        raise SystemExit(f"{argv} never showed {markers[len(found)]!r}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one run (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from workbench.project.scaffold import copy_example

    with tempfile.TemporaryDirectory() as tmp:
        project = copy_example("iris", Path(tmp) / "iris")
        manifest = project / "workbench.yaml"
        manifest.write_text(
            "\n".join(
                line for line in manifest.read_text().splitlines() if not line.startswith("python:")
            )
            + "\n"
        )
        minimal_script = Path(tmp) / "minimal.py"
        minimal_script.write_text(MINIMAL)
        workbench = str(Path(sys.executable).parent / "workbench")
        minimal, first, loaded = [], [], []
        for _ in range(args.runs):
            minimal += time_to([sys.executable, str(minimal_script)], [b"MINIMAL-READY"])
            paint, statuses = time_to(
                # the readiness line says what it means once the statuses have loaded
                [workbench, "-p", str(project)],
                [b"Readiness", b"lowest step's share"],
            )
            first.append(paint)
            loaded.append(statuses)
    m, f, s = (statistics.median(x) for x in (minimal, first, loaded))
    print(f"{'program':40} {'median s':>9} {'min s':>7}   ({args.runs} runs, 120x36 pty)")
    print(f"{'minimal Textual app, first paint':40} {m:9.3f} {min(minimal):7.3f}")
    print(f"{'workbench home, first paint':40} {f:9.3f} {min(first):7.3f}")
    print(f"{'workbench home, statuses loaded':40} {s:9.3f} {min(loaded):7.3f}")
    print(f"ratio first paint workbench / minimal: {f / m:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
