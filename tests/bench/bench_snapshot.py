"""Benchmark: snapshot time for an environment of about 150-200 distributions, against
`pip freeze` in the same run; and a warm-cache snapshot with no network at all.

Target: faster than `pip freeze` (the inspection), and with a warm wheel cache the
whole snapshot runs inside a network namespace with no network (`unshare -n`).

    .venv/bin/python tests/bench/bench_snapshot.py [--runs 3] [--python PATH] [--smoke]

The ~150-distribution environment (scikit-learn, pandas, matplotlib, JupyterLab ...)
is made once in the user's cache; `--python` snapshots another environment instead
(one able to load the iris example). `--smoke` (as CI runs it, with the tests' iris
environment as `--python`, so the script cannot rot): one run of each; figures, no
meaning.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from workbench.kernel.paths import cache_dir  # noqa: E402
from workbench.project.scaffold import copy_example  # noqa: E402
from workbench.steps.snapshot import probe as probe_module  # noqa: E402

BIG = [
    "scikit-learn==1.9.1",
    "joblib==1.6.0",
    "pandas",
    "matplotlib",
    "jupyterlab",
    "requests",
    "pytest",
    "black",
    "ruff",
    "mypy",
    "seaborn",
    "sqlalchemy",
    "fastapi",
    "boto3",
    "statsmodels",
    "plotly",
    "dask[distributed]",
    "flake8",
    "pylint",
    "sphinx",
]


def big_env() -> Path:
    root = cache_dir() / "bench-envs" / "big"
    python = root / "bin" / "python"
    wanted = "\n".join(BIG)
    marker = root / ".complete"
    if not marker.exists() or marker.read_text() != wanted:
        print(f"creating the benchmark environment in {root} (once) ...", flush=True)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *BIG], check=True)
        marker.write_text(wanted)
    return python


def timed(argv: list[str], runs: int, **kwargs: object) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, **kwargs)  # type: ignore[call-overload]
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", type=Path, help="snapshot this environment instead")
    parser.add_argument("--smoke", action="store_true", help="one run of each (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    python = args.python or big_env()
    count = len(
        subprocess.run(
            [str(python), "-m", "pip", "list", "--format=freeze"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    )
    workbench = str(Path(sys.executable).parent / "workbench")
    probe = Path(probe_module.__file__)  # found where it is, wherever the steps moved it
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_example("iris", Path(tmp) / "iris")
        manifest = project / "workbench.yaml"
        manifest.write_text(
            manifest.read_text().replace("python: .venv/bin/python", f"python: {python}", 1)
        )
        subprocess.run(
            [workbench, "snapshot", "-p", str(project)], check=True, capture_output=True
        )  # warm the wheel cache
        rows = {
            "pip freeze": timed([str(python), "-m", "pip", "freeze"], args.runs),
            "environment inspection (probe)": timed([str(python), "-I", str(probe)], args.runs),
            "workbench snapshot --offline (all)": timed(
                [workbench, "snapshot", "--offline", "-p", str(project)], args.runs
            ),
        }
        offline = "not run (needs root and unshare)"
        if shutil.which("unshare"):
            result = subprocess.run(
                ["unshare", "-n", workbench, "snapshot", "-p", str(project)],
                capture_output=True,
                text=True,
            )
            offline = (
                "passed: snapshot with a warm cache inside `unshare -n` (no network)"
                if result.returncode == 0
                else f"FAILED without network: {result.stderr.strip()[-300:]}"
            )
        runtime = sum(
            1 for line in (project / "environment.lock").read_text().splitlines() if "==" in line
        )
    print(
        f"environment: {count} distributions; lock: {runtime} packages "
        "(runtime set + serving runtime)"
    )
    print(f"{'what':38} {'median s':>9} {'min s':>7}   ({args.runs} runs)")
    for name, times in rows.items():
        print(f"{name:38} {statistics.median(times):9.3f} {min(times):7.3f}")
    ratio = statistics.median(rows["environment inspection (probe)"]) / statistics.median(
        rows["pip freeze"]
    )
    print(f"inspection / pip freeze: {ratio:.2f}x (target < 1)")
    print(f"no-network run: {offline}")


if __name__ == "__main__":
    main()
