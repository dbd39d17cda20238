"""Output that does not go to a terminal is never wrapped at 80 columns (issue #25): sizes,
item ids and a container's JSON log lines stay whole, even with COLUMNS=80 exported."""

from __future__ import annotations

import io
import json
import subprocess
import sys


def test_a_long_line_and_a_json_log_line_stay_whole_off_a_terminal() -> None:
    record = {"event": "request", "request_id": "r" * 40, "latency_ms": 5.7, "path": "/predict"}
    code = (
        "from commands.output import console\n"
        "console.print('x' * 150 + ' (176 MB)')\n"
        f"console.print({json.dumps(json.dumps(record))}, soft_wrap=True)\n"
        "print(console.width)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "x" * 150 + " (176 MB)"
    assert json.loads(lines[1]) == record
    assert int(lines[2]) > 80


def test_on_a_terminal_the_console_keeps_the_terminals_width() -> None:
    from commands.output import make_console

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    real = sys.stdout
    sys.stdout = Tty()
    try:
        console = make_console()
    finally:
        sys.stdout = real
    assert not console.soft_wrap
