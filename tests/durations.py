"""How long the suite's slowest tests took in a recent full run (`tests/durations.txt`), and
the order of a parallel run made from them (`dealt`).

Each worker starts with its share of the long tests, the longest first: a long test that
starts last keeps one worker busy while the others, done, leave the machine idle. The
figures only order the run: a stale file, or a test missing from it, changes nothing but
its length.

Made again from the JUnit XML of a full run (`bash .ci/test --junitxml=run.xml`):

    .venv/bin/python -m tests.durations run.xml > tests/durations.txt
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
    2 (the quick ones, filling every worker's share up to its size).

    xdist's `worksteal` gives worker k the k-th of `workers` consecutive runs of the list,
    as even in count as it can, then lets an idle worker take the second half of the longest
    queue: each run is one worker's long tests, the longest first, then quick ones, so what
    is taken from a queue's end is quick, and no long test is left to start last."""
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
        order += share + quick[:fill]
        quick = quick[fill:]
    return order + quick


def main(argv: list[str]) -> int:
    print("# seconds, test: written by `python -m tests.durations RUN.xml` (see its docstring)")
    for seconds, test in from_junit(Path(argv[0])):
        print(f"{seconds:.1f} {test}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
