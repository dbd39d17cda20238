"""How long the suite's slowest tests took in a recent full run (`tests/durations.txt`).

A parallel run starts the longest first (`tests/conftest._turn`): a long test that starts
last keeps one worker busy while the others, done, leave the machine idle. The figures only
order the run: a stale file, or a test missing from it, changes nothing but its length.

Made again from the JUnit XML of a full run (`bash .ci/test --junitxml=run.xml`):

    .venv/bin/python -m tests.durations run.xml > tests/durations.txt
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

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


def main(argv: list[str]) -> int:
    print("# seconds, test: written by `python -m tests.durations RUN.xml` (see its docstring)")
    for seconds, test in from_junit(Path(argv[0])):
        print(f"{seconds:.1f} {test}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
