"""Benchmark: how long `workbench --help` takes, against bare Python and `import textual`.

Target: under 0.5 s on the reference machine (2 cores). Prints figures; asserts nothing
about time (timing belongs in benchmarks, not tests).

    .venv/bin/python tests/bench/bench_cli_startup.py [--runs 10] [--smoke]

`--smoke` (as CI runs it, so the script cannot rot): one run of each; figures, no meaning.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def measure(argv: list[str], runs: int) -> list[float]:
    subprocess.run(argv, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="one run of each (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    workbench = shutil.which("workbench") or str(Path(sys.executable).parent / "workbench")
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "workbench --help": [workbench, "--help"],
        "workbench --version": [workbench, "--version"],
        "python -c 'import textual.app'": [sys.executable, "-c", "import textual.app"],
    }
    print(f"{'command':34} {'median':>8} {'min':>8} {'max':>8}   (seconds, {args.runs} runs)")
    for name, argv in cases.items():
        times = measure(argv, args.runs)
        print(f"{name:34} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}")
    print("target: workbench --help median < 0.500 s")


if __name__ == "__main__":
    main()
