"""How long the suite's slowest tests took in a recent full run (`tests/durations.txt`), and
the order of a parallel run made from them (`dealt`).

Each worker starts with its share of the long tests, the longest first: a long test that
starts last keeps one worker busy while the others, done, leave the machine idle. The
figures only order the run: a stale file, or a test missing from it, changes nothing but
its length.

Made again from the JUnit XML of one or more full runs (`bash .ci/test --junitxml=run.xml`):

    .venv/bin/python -m tests.durations run.xml [other.xml...] > tests/durations.txt
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

FILE = Path(__file__).with_name("durations.txt")
LISTED_FROM = 5.0  # seconds: shorter tests are not listed (their order hardly matters)


def load(path: Path = FILE) -> dict[str, float]:
    """Seconds by test id, as listed; nothing when the file is missing or a line is not
    `<seconds> <test id>`."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    seconds: dict[str, float] = {}
    for line in text.splitlines():
        figure, _, test = line.partition(" ")
        try:
            seconds[test.strip()] = float(figure)
        except ValueError:
            continue  # a comment, or not a figure
    return seconds


def from_junit(xml: Path) -> list[tuple[float, str]]:
    """(seconds, test id) of every test of a JUnit XML report that took `LISTED_FROM` or
    more, the longest first."""
    listed = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        # tests.functional.test_deploy[.Class] -> tests/functional/test_deploy.py[::Class]
        parts = case.get("classname", "").split(".")
        index = next(i for i, part in enumerate(parts) if part.startswith("test_"))
        test = "/".join(parts[: index + 1]) + ".py"
        test = "::".join([test, *parts[index + 1 :], case.get("name", "")])
        if float(case.get("time", 0)) >= LISTED_FROM:
            listed.append((float(case.get("time", 0)), test))
    return sorted(listed, reverse=True)


UNLISTED_SECONDS = 3.0  # a test on the engine not in the file: most take a few seconds


def dealt(turns: Sequence[tuple[T, int, float]], workers: int) -> list[T]:
    """The run's order for `workers` processes, from (test, group, seconds) in the order
    wanted: group 0 (one chain, kept on the first worker: the swarm tests take turns), group
    1 (the long ones, each given to the worker with the least so far, longest first), group
    2 (the quick ones, filling every worker's share up to its size, spread among its long
    ones).

    xdist's `worksteal` gives worker k the k-th of `workers` consecutive runs of the list,
    as even in count as it can, then lets an idle worker take the second half of the longest
    queue: each run is one worker's long tests, the longest first, so what is taken from a
    queue's end is short, and no long test is left to start last."""
    if workers < 2:
        return [test for test, _, _ in turns]
    shares: list[list[T]] = [[] for _ in range(workers)]
    seconds = [0.0] * workers
    quick: list[T] = []
    for test, group, took in turns:
        if group == 2:
            quick.append(test)
            continue
        worker = 0 if group == 0 else seconds.index(min(seconds))
        shares[worker].append(test)
        seconds[worker] += took or UNLISTED_SECONDS
    order: list[T] = []
    left = len(turns)
    for index, share in enumerate(shares):
        size = left // (workers - index)  # as xdist splits what is left among the rest
        left -= size
        fill = max(0, size - len(share))
        order += _interleaved(share, quick[:fill])
        quick = quick[fill:]
    return order + quick


def _interleaved(long: list[T], quick: list[T]) -> list[T]:
    """Each long test followed by its even part of the quick ones: a quick test that waits
    (a TUI's pauses, a lock's timeout) waits while the other workers' long tests use the
    cores, instead of the run ending on quick tests that leave them idle."""
    if not long:
        return quick
    out: list[T] = []
    taken = 0
    for index, test in enumerate(long):
        upto = round((index + 1) * len(quick) / len(long))
        out += [test, *quick[taken:upto]]
        taken = upto
    return out


def main(argv: list[str]) -> int:
    """Print the file from one or more runs' reports: each test's mean over the reports
    that list it (one run's figures move with the machine's load and the tests beside)."""
    took: dict[str, list[float]] = {}
    for report in argv:
        for seconds, test in from_junit(Path(report)):
            took.setdefault(test, []).append(seconds)
    means = sorted(((sum(s) / len(s), test) for test, s in took.items()), reverse=True)
    print("# seconds, test: written by `python -m tests.durations RUN.xml...` (its docstring)")
    for seconds, test in means:
        print(f"{seconds:.1f} {test}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
