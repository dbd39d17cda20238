"""A command records each result under the lock (load checklist.yaml, change it, save it) and
the next load reads what it just wrote: that text's data is taken from what was written
instead of parsing the YAML again, and only that text's: another writer's is parsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.checklist import state as state_module
from workbench.checklist.state import (
    STATE_NAME,
    ChecklistState,
    ManualTick,
    StoredResult,
    Waiver,
    load_state,
    save_state,
)
from workbench.kernel.yamlio import parse_own_yaml


def _a_state() -> ChecklistState:
    state = ChecklistState()
    state.results["serve.performance"] = StoredResult(
        status="pass",
        fingerprint="sha256:" + "a" * 64,
        checked_at="2026-12-06T10:00:00Z",
        evidence=["p99 2.1 ms", "naïve: ünïcode — and 'quotes'", "yes", "1.0", "null", ""],
        details={
            "p50_ms": 1.5,
            "tiny": 1e-7,
            "big": 10**20,
            "n": 300,
            "on": True,
            "nested": {"list": [1, 2.5, "no", None], "empty": {}},
        },
        inputs={"image": "0123456789abcdef"},
    )
    state.ticks["snapshot.packages-expected"] = ManualTick(
        answer="yes", by="Ana", at="2026-12-06T10:00:01Z", note="the runtime set", about=["a"]
    )
    state.waivers["tag.vulnerabilities"] = Waiver(reason="known", by="Ana", at="2026-12-06")
    return state


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    parsed: list[Path] = []

    def counting(text: str, path: Path, **kwargs: object) -> object:
        parsed.append(path)
        return parse_own_yaml(text, path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(state_module, "parse_own_yaml", counting)
    return parsed


def test_what_was_just_written_is_read_back_without_parsing_and_equal(
    tmp_path: Path, parses: list[Path]
) -> None:
    order = ["serve.performance", "snapshot.packages-expected"]
    save_state(tmp_path, _a_state(), order)
    loaded = load_state(tmp_path)
    assert parses == []  # the text this process wrote: its data, not a parse
    state_module._WRITTEN.clear()
    parsed = load_state(tmp_path)
    assert len(parses) == 1
    assert loaded == parsed == _a_state()  # the same state either way
    text = (tmp_path / STATE_NAME).read_text()
    assert parse_own_yaml(text, tmp_path) == state_module.state_document(_a_state(), order)


def test_another_writers_text_is_parsed_and_a_change_to_a_loaded_state_is_not_kept(
    tmp_path: Path, parses: list[Path]
) -> None:
    save_state(tmp_path, _a_state(), [])
    loaded = load_state(tmp_path)
    loaded.results["serve.performance"].details["nested"]["list"].append("changed in memory")
    again = load_state(tmp_path)
    assert again == _a_state() and parses == []  # fresh objects at each load
    source = tmp_path / STATE_NAME
    source.write_text(source.read_text().replace("p99 2.1 ms", "p99 9.9 ms"))  # another writer
    edited = load_state(tmp_path)
    assert edited.results["serve.performance"].evidence[0] == "p99 9.9 ms"
    assert len(parses) == 1
