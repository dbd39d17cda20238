"""The fault catalogue stays complete: every automated item of the built-in checklists has a
case in a `test_*faults*.py` module that breaks a project for it and names the cause.

A check is trusted once it has been seen failing; this test fails the moment an automated
item is added without its case (or a case is renamed away from its item id). It asks
pytest itself which test cases exist, so a case counts only if pytest would run it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from workbench.checklist.definitions import builtin_files, load_definition_file

ROOT = Path(__file__).resolve().parents[2]
CASE_ID = re.compile(r"::test_fault\[([a-z0-9.-]+)\]$")


def automated_items() -> set[str]:
    return {
        item.id
        for path in builtin_files()
        for item in load_definition_file(path, source="built-in")
        if item.kind == "auto"
    }


def catalogued_items() -> dict[str, list[str]]:
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*faults*.py"))
    assert modules, "no fault catalogue module (tests/**/test_*faults*.py)"
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *modules,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    found: dict[str, list[str]] = {}
    for line in listed.stdout.splitlines():
        if match := CASE_ID.search(line.strip()):
            found.setdefault(match.group(1), []).append(line.strip())
    return found


def test_every_automated_item_has_a_fault_case() -> None:
    automated = automated_items()
    catalogued = catalogued_items()
    assert len(automated) > 40  # the built-in checklists were read
    missing = sorted(automated - set(catalogued))
    assert missing == [], f"automated items never seen failing in a test: {missing}"
    unknown = sorted(set(catalogued) - automated)
    assert unknown == [], f"fault cases for items that are not automated items: {unknown}"
