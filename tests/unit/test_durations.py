"""The slowest tests' figures that order a parallel run (tests/durations.py)."""

from __future__ import annotations

from pathlib import Path

from tests import durations

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.tui.test_app.TestScreens" name="test_opens" time="6.0" />
<testcase classname="tests.functional.test_deploy" name="test_rolling" time="132.7" />
<testcase classname="tests.functional.test_faults" name="test_fault[push.x-y]" time="29.2" />
<testcase classname="tests.unit.test_quick" name="test_quick" time="0.4" />
</testsuite></testsuites>
"""


def test_a_junit_report_gives_test_ids_longest_first_and_leaves_out_quick_ones(
    tmp_path: Path,
) -> None:
    report = tmp_path / "run.xml"
    report.write_text(REPORT)
    assert durations.from_junit(report) == [
        (132.7, "tests/functional/test_deploy.py::test_rolling"),
        (29.2, "tests/functional/test_faults.py::test_fault[push.x-y]"),
        (6.0, "tests/tui/test_app.py::TestScreens::test_opens"),
    ]


def test_the_file_is_read_back_and_a_missing_or_garbled_one_orders_nothing(
    tmp_path: Path,
) -> None:
    listed = tmp_path / "durations.txt"
    listed.write_text("# seconds, test\n132.7 tests/a.py::test_a\nnot-a-figure tests/b.py::b\n")
    assert durations.load(listed) == {"tests/a.py::test_a": 132.7}
    assert durations.load(tmp_path / "absent.txt") == {}


def test_the_committed_file_names_only_tests_that_exist() -> None:
    """A renamed test would silently lose its place: its id must be one pytest collects."""
    root = Path(__file__).resolve().parents[2]
    for test in durations.load():
        path, _, name = test.partition("::")
        source = (root / path).read_text()
        assert f"def {name.split('[')[0].split('::')[-1]}(" in source, test


def test_each_worker_starts_with_its_share_of_the_long_tests_longest_first() -> None:
    """Dealt as xdist's worksteal splits the list (consecutive runs, even in count): the
    swarm chain stays on one worker, each long test goes where the least is so far, longest
    first, and every run is filled to its size with quick tests spread among its long ones
    (a quick test that waits then waits beside long ones, not at the run's end)."""
    turns = [("swarm-a", 0, 100.0), ("swarm-b", 0, 50.0)]
    turns += [(f"long-{s:.0f}", 1, s) for s in (120.0, 90.0, 80.0, 40.0, 30.0, 10.0)]
    turns += [("unlisted", 1, 0.0)] + [(f"quick-{i}", 2, 0.0) for i in range(12)]
    order = durations.dealt(turns, 3)
    q = [f"quick-{i}" for i in range(12)]
    assert order == [
        *["swarm-a", q[0], "swarm-b", q[1], q[2], "long-30", q[3]],  # 150 s + 30
        *["long-120", q[4], "long-40", q[5], "long-10", "unlisted", q[6]],  # 120 + 40 + 10 + 3
        *["long-90", q[7], q[8], "long-80", q[9], q[10], q[11]],  # 170
    ]
    assert durations.dealt(turns, 1) == [t for t, _, _ in turns]  # one process: as given
