"""Records drawn from a schema are kept between commands: the same records as the first draw,
drawn again whenever the schema, the count or the seed differ or the kept file is broken."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from workbench.steps.schema import drawn

SCHEMA = {
    "type": "object",
    "properties": {
        "plan": {"enum": ["free", "pro", "café"]},
        "tenure": {"type": "integer", "minimum": 0, "maximum": 60},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "note": {"type": "string", "maxLength": 5},
    },
    "required": ["plan", "tenure", "ratio"],
}


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The draws really made (count, seed), with the cache in a folder of the test's."""
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(drawn, "_memo", {})
    made: list[tuple[int, int]] = []
    generate = drawn._generate

    def counting(schema: dict[str, Any], count: int, seed: int) -> list[Any]:
        made.append((count, seed))
        return generate(schema, count, seed)

    monkeypatch.setattr(drawn, "_generate", counting)
    return made


def test_a_kept_draw_is_the_draw_and_anything_else_draws_again(
    counted: list[tuple[int, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = drawn.draw(SCHEMA, 12, 0)
    assert len(first) == 12 and counted == [(12, 0)]
    monkeypatch.setattr(drawn, "_memo", {})  # as another command would
    assert drawn.draw(SCHEMA, 12, 0) == first and counted == [(12, 0)]  # read back
    drawn.draw(SCHEMA, 12, 1)
    drawn.draw(SCHEMA, 13, 0)
    drawn.draw({**SCHEMA, "required": ["plan"]}, 12, 0)
    assert counted == [(12, 0), (12, 1), (13, 0), (12, 0)]
    # A broken kept file is drawn again, to the same records:
    monkeypatch.setattr(drawn, "_memo", {})
    for kept in (tmp_path / "cache" / "drawn").glob("*.json"):
        kept.write_text('{"key": "trunc')
    assert drawn.draw(SCHEMA, 12, 0) == first and counted[-1] == (12, 0) and len(counted) == 5


def test_another_process_sends_the_records_kept(
    counted: list[tuple[int, int]], tmp_path: Path
) -> None:
    """Another command reads the kept records instead of drawing its own (a draw depends on
    the code loaded in the process: the TUI's and the CLI's differed)."""
    here = drawn.draw(SCHEMA, 12, 0)
    code = (
        "import json; from workbench.steps.schema import drawn; "
        "drawn._generate = lambda *_: 1 / 0; "  # drawing again would fail
        f"print(json.dumps(drawn.draw({SCHEMA!r}, 12, 0)))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        env={"WORKBENCH_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(other.stdout) == here
