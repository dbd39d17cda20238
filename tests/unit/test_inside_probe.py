"""What the serve test reads inside the container (PID 1's status, a write to /, the installed
distributions) is read by one `python3` run a session, and the cgroup's peak by one more:
each `docker exec` costs the engine some 50 ms of CPU. A run that fails is not kept, and each
part says its own failure."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from workbench.steps.serve import confinement, performance
from workbench.steps.serve.probing import Probing

STATUS = {"Uid": "10001\t10001\t10001\t10001", "Gid": "10001", "CapEff": "0", "CapPrm": "0"}


def probing_answering(*outputs: tuple[int, str]) -> tuple[Probing, list[list[str]]]:
    asked: list[list[str]] = []
    answers = iter(outputs)

    def exec_run(command: list[str], demux: bool = False) -> Any:
        asked.append(command)
        code, text = next(answers)
        return SimpleNamespace(exit_code=code, output=text.encode())

    live = SimpleNamespace(container=SimpleNamespace(exec_run=exec_run))
    probing = Probing(manifest=None, live=live, context=None, log=print)  # type: ignore[arg-type]
    return probing, asked


def test_the_three_readings_inside_the_container_are_one_exec() -> None:
    said = {"status": STATUS, "write": "EROFS", "packages": {"numpy": "2.0"}}
    p, asked = probing_answering((0, json.dumps(said)))
    assert confinement.process_status(p) == STATUS
    assert confinement.inside(p, "write") == "EROFS"
    assert confinement.inside(p, "packages") == {"numpy": "2.0"}
    assert confinement.process_status(p) == STATUS
    assert len(asked) == 1 and asked[0][:2] == ["python3", "-c"]


def test_a_failed_run_is_said_and_not_kept_and_a_part_says_its_own_failure() -> None:
    said = {"status": "PermissionError(13)", "write": "written", "packages": {}}
    p, asked = probing_answering((126, "exec failed: no python3"), (0, json.dumps(said)))
    first = confinement.process_status(p)
    assert isinstance(first, str) and "exit 126" in first and "no python3" in first
    second = confinement.process_status(p)  # asked again: the failure was not kept
    assert second == "could not read /proc/1/status in the container: PermissionError(13)"
    assert confinement.inside(p, "write") == "written" and len(asked) == 2


def test_the_probe_reads_what_it_says_in_a_real_interpreter(tmp_path: Any) -> None:
    """The script itself, run by a Python here from a folder it may write (the `/` it tries
    is not ours to write: a user's machine refuses it, or this test would leave a file)."""
    script = confinement.INSIDE_PROBE.replace("/.workbench-write-probe", str(tmp_path / "w"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    said = json.loads(done.stdout)
    assert said["write"] == "written" and (tmp_path / "w").exists()
    assert set(said["status"]) == {"Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "NoNewPrivs"}
    assert said["packages"]["pytest"]  # this environment's own distributions
    gone = confinement.INSIDE_PROBE.replace("/.workbench-write-probe", str(tmp_path / "no/w"))
    done = subprocess.run([sys.executable, "-c", gone], capture_output=True, text=True)
    assert json.loads(done.stdout)["write"] == "ENOENT"


def test_the_peak_is_one_exec_and_names_the_counter_it_read(tmp_path: Any) -> None:
    v2, v1 = (path for path, _ in performance.PEAK_FILES)
    p, asked = probing_answering((0, f"{v1} 123456\n"))
    assert performance.peak_memory(p.live) == (123456.0, "cgroup v1 memory.max_usage_in_bytes")
    assert len(asked) == 1 and asked[0][:2] == ["sh", "-c"] and asked[0][4:] == [v2, v1]
    # The script (sh and cat: a Python would count in the peak it reads): the first file
    # that holds a number, else "none".
    missing, empty, word, peak = (tmp_path / n for n in ("missing", "empty", "word", "peak"))
    empty.write_text("")
    word.write_text("max\n")
    peak.write_text("4096\n")
    args = ["sh", "-c", performance.PEAK_PROBE, "sh"]
    done = subprocess.run(
        [*args, str(missing), str(empty), str(word), str(peak)], capture_output=True
    )
    assert done.stdout.decode().split() == [str(peak), "4096"]
    assert subprocess.run([*args, str(missing), str(word)], capture_output=True).stdout == b"none\n"


def test_a_stray_line_beside_the_answer_does_not_hide_it() -> None:
    """The engine mixes the probe's stderr into its output (a warning printed by the image's
    settings): the answer is its JSON line."""
    said = {"status": STATUS, "write": "EROFS", "packages": {}}
    p, _ = probing_answering((0, "Warning: something the image prints\n" + json.dumps(said)))
    assert confinement.process_status(p) == STATUS
    p, _ = probing_answering((0, "Traceback: no JSON at all"))
    assert confinement.inside(p, "write").startswith("the probe in the container printed no answer")
