"""Benchmark: the same three things timed on an earlier revision and on this tree, in one run.

Issue #24 reshaped how data flows (typed step reports, a gate port for Tag, an immutable
standing for the TUI, one module per step) and asked that none of it be slower. This prints,
side by side, for the revision before that work (`--before`, default 85b9f64) and for the
current tree:

- `workbench --help`: process start to exit;
- the TUI's first paint of the home screen, and its statuses loaded (a 120x36 pty);
- `workbench tag --dry-run` on a fresh copy of the iris example in a git repository: the
  gate report, the suggested version and what blocks (no image is built by a dry run).

Both trees run on this environment's interpreter and libraries (the earlier one from a
temporary `git worktree`, put first on PYTHONPATH), so only the workbench's own code
differs. Prints figures; asserts nothing about time.

    .venv/bin/python tests/bench/bench_before_after.py [--before REV] [--after REV] [--runs 7]
        [--smoke]

`--smoke` (as CI runs it, so the script cannot rot): one run of each; figures, no meaning.
A clone without the earlier revision (a shallow checkout) times this tree alone and says so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE.parent))
from bench_tui_startup import time_to  # noqa: E402  (the same pty harness)

LAUNCH = "import sys; sys.argv[0] = 'workbench'; from commands.launch import run; run()"
BEFORE_24 = "85b9f64"


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "120", "NO_COLOR": "1"}


def _timed(tree: Path, args: list[str], cwd: Path, runs: int) -> list[float]:
    argv = [sys.executable, "-c", LAUNCH, *args]
    subprocess.run(argv, cwd=cwd, env=_env(tree), capture_output=True)  # compile, warm caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=_env(tree), capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def _tui(tree: Path, project: Path, runs: int) -> tuple[list[float], list[float]]:
    first, loaded = [], []
    saved = dict(os.environ)
    os.environ.update(_env(tree))  # the pty child inherits the environment
    try:
        for _ in range(max(runs, 1)):  # runs=0: once, to compile and warm (nothing kept)
            paint, statuses = time_to(
                [sys.executable, "-c", LAUNCH, "-p", str(project)],
                [b"Readiness", b"lowest step's share"],
            )
            first.append(paint)
            loaded.append(statuses)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return (first, loaded) if runs else ([], [])


def _project(tmp: Path) -> Path:
    """A fresh iris example committed in git, without a `python:` the machine may lack."""
    sys.path.insert(0, str(ROOT))
    from workbench.project.scaffold import copy_example

    project = copy_example("iris", tmp / "iris")
    manifest = project / "workbench.yaml"
    lines = manifest.read_text().splitlines()
    manifest.write_text("\n".join(x for x in lines if not x.startswith("python:")) + "\n")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        ["-c", "user.name=Bench", "-c", "user.email=b@example.com", "commit", "-qm", "iris"],
    ):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)
    return project


def _measure(trees: dict[str, Path], project: Path, runs: int) -> dict[str, dict[str, list[float]]]:
    """Each measure, run by run, the trees taking turns: a machine that gets busier during
    the run slows both alike instead of whichever ran last."""
    figures: dict[str, dict[str, list[float]]] = {name: {} for name in trees}

    def add(name: str, measure: str, times: list[float]) -> None:
        figures[name].setdefault(measure, []).extend(times)

    for tree in trees.values():  # compile each tree's bytecode, warm the caches: not counted
        _timed(tree, ["--help"], project, 0)
        _tui(tree, project, 0)
        _timed(tree, ["tag", "--dry-run"], project, 0)
    for _ in range(runs):
        for name, tree in trees.items():
            add(name, "workbench --help", _timed(tree, ["--help"], project, 1))
            first, loaded = _tui(tree, project, 1)
            add(name, "TUI home, first paint", first)
            add(name, "TUI home, statuses loaded", loaded)
            add(name, "workbench tag --dry-run", _timed(tree, ["tag", "--dry-run"], project, 1))
    return figures


def _worktree(before: str, where: Path) -> Path | None:
    known = subprocess.run(
        ["git", "cat-file", "-e", f"{before}^{{commit}}"], cwd=ROOT, capture_output=True
    )
    if known.returncode:
        return None
    subprocess.run(
        ["git", "worktree", "add", "-q", "--detach", str(where), before],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default=BEFORE_24, help="the earlier revision")
    parser.add_argument("--after", default="", help="a later revision (default: this tree)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="one run of each (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.runs = 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        project = _project(tmp)
        earlier = _worktree(args.before, tmp / "before")
        later = _worktree(args.after, tmp / "after") if args.after else ROOT
        try:
            trees = {"after": later or ROOT, **({"before": earlier} if earlier else {})}
            figures = _measure(trees, project, args.runs)
            after, before = figures["after"], figures.get("before")
        finally:
            for made in (earlier, later if args.after else None):
                if made:
                    subprocess.run(
                        ["git", "worktree", "remove", "--force", str(made)],
                        cwd=ROOT,
                        capture_output=True,
                    )
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    label = args.before if before else "(not in this clone)"
    shown = args.after or head or "tree"
    print(f"medians in seconds, {args.runs} runs each; before = {label}, after = {shown}")
    print(f"{'measure':30} {'before':>8} {'after':>8} {'after/before':>13}")
    for name, times in after.items():
        now = statistics.median(times)
        if before is None:
            print(f"{name:30} {'-':>8} {now:8.3f} {'-':>13}")
            continue
        then = statistics.median(before[name])
        print(f"{name:30} {then:8.3f} {now:8.3f} {now / then:12.2f}x")


if __name__ == "__main__":
    main()
