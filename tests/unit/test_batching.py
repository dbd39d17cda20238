"""The decision to batch, on timed fakes of the three kinds of model: a fixed cost per call
(batched), a cost per record (not: batching would only add waiting), and a model that
answers inline (not: a thread hop costs more than its answer). Switches and the operator's
override are read as written."""

from __future__ import annotations

import time
from typing import Any

import pytest

from workbench.runtime.batching import calibrate, settings

EXAMPLES = [{"x": 1.0}, {"x": 2.0}]
INLINE = 0.002


def _fixed(records: list[Any]) -> list[Any]:
    time.sleep(0.005)  # 5 ms a call, however many records
    return records


def _per_record(records: list[Any]) -> list[Any]:
    for _ in records:  # one sleep each: a busy machine's overshoot is per record too
        time.sleep(0.003)
    return records


def _instant(records: list[Any]) -> list[Any]:
    return records


def test_a_fixed_cost_per_call_is_batched_with_the_figures_said() -> None:
    decision = calibrate(_fixed, EXAMPLES, settings({}), INLINE)
    assert decision["enabled"] is True, decision
    assert decision["why"] == "a record costs less in a batch"
    # 5 ms a call however many: a record in a batch of eight costs an eighth (a busy machine
    # oversleeps each call alike, so the ratio holds where absolute figures would not).
    assert decision["single_ms"] >= 5, decision
    assert decision["per_record_in_batch_ms"] < decision["single_ms"] / 4, decision


def test_a_cost_per_record_is_not_batched() -> None:
    decision = calibrate(_per_record, EXAMPLES, settings({"batching": {"max_batch": 8}}), INLINE)
    assert decision["enabled"] is False
    assert decision["why"] == "a record costs about as much in a batch as alone"


def test_a_model_answering_inline_is_not_batched() -> None:
    decision = calibrate(_instant, EXAMPLES, settings({}), INLINE)
    assert decision["enabled"] is False and "inline" in decision["why"]


def test_off_on_and_no_examples_are_said() -> None:
    off = calibrate(_fixed, EXAMPLES, settings({"batching": {"mode": "off"}}), INLINE)
    assert off == {"mode": "off", "max_batch": 32, "enabled": False, "why": "switched off"}
    on = calibrate(_instant, EXAMPLES, settings({"batching": {"mode": "on"}}), INLINE)
    assert on["enabled"] is True and on["why"] == "switched on"
    none = calibrate(_fixed, [], settings({}), INLINE)
    assert none["enabled"] is False and "no example request" in none["why"]


def test_a_model_failing_on_its_examples_is_not_batched_and_load_goes_on() -> None:
    def broken(records: list[Any]) -> list[Any]:
        raise ValueError("no")

    decision = calibrate(broken, EXAMPLES, settings({}), INLINE)
    assert decision["enabled"] is False and decision["why"] == "timing failed: ValueError"


def test_the_operator_switch_overrides_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_BATCHING", "OFF")
    assert settings({"batching": {"mode": "on"}})["mode"] == "off"
    monkeypatch.setenv("WORKBENCH_BATCHING", "sometimes")  # not a mode: the build's stands
    assert settings({"batching": {"mode": "on"}})["mode"] == "on"


async def test_a_model_raising_system_exit_does_not_end_the_model_thread() -> None:
    """The first call raises SystemExit (a user's predictor may): its requests are settled
    (the route answers 500) and the next request is answered, never left waiting."""
    import asyncio

    from workbench.runtime.batching import Batcher

    calls: list[int] = []

    def answer(records: list[Any], ids: list[str]) -> list[tuple[Any, Any]]:
        calls.append(len(records))
        if len(calls) == 1:
            raise SystemExit(3)
        return [({"y": r["x"] * 2}, None) for r in records]

    batcher = Batcher(answer, asyncio.get_running_loop(), settings({"batching": {"mode": "on"}}))
    first = batcher.submit({"x": 1}, "a")
    assert first is not None
    assert await asyncio.wait_for(first, 5) == (None, None)
    second = batcher.submit({"x": 2}, "b")
    assert second is not None
    assert await asyncio.wait_for(second, 5) == ({"y": 4}, None)


def test_a_lone_client_pays_no_wait_and_concurrent_ones_are_gathered() -> None:
    """The bench saw one client at 107 req/s with batching on against 199 with it off: every
    lone record waited max_wait_ms for company that never came. After a call of one record
    nothing is waited for; once records came together, the wait gathers the next ones."""
    import queue
    import threading
    import time

    from workbench.runtime.batching import Batcher, Waiting

    batcher = Batcher.__new__(Batcher)  # the gathering alone: no model thread
    batcher.max_batch, batcher.max_wait, batcher.last_size = 32, 0.5, 0
    batcher.waiting = queue.Queue()

    def later(record: int) -> None:
        time.sleep(0.1)
        batcher.waiting.put(Waiting(record, str(record), None))  # type: ignore[arg-type]

    batcher.waiting.put(Waiting(1, "1", None))  # type: ignore[arg-type]
    threading.Thread(target=later, args=(2,)).start()
    assert [w.record for w in batcher._gather()] == [1]  # a lone record: not held back
    assert [w.record for w in batcher._gather()] == [2]
    for record in (3, 4):  # two came together: the wait is earned
        batcher.waiting.put(Waiting(record, str(record), None))  # type: ignore[arg-type]
    assert [w.record for w in batcher._gather()] == [3, 4]
    batcher.waiting.put(Waiting(5, "5", None))  # type: ignore[arg-type]
    threading.Thread(target=later, args=(6,)).start()
    assert [w.record for w in batcher._gather()] == [5, 6]  # gathered within the wait


def test_the_workers_of_one_server_share_the_first_decision_and_a_later_server_decides_anew(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trial on a busy machine saw the two workers of one image decide opposite ways
    (timings are noisy while both load) while the serve test reported one of them as the
    image's decision. The first worker's decision now stands for all of them, in the folder
    the server makes for its workers at start (a new one per server)."""
    from workbench.runtime import batching

    on = {"mode": "auto", "enabled": True, "why": "a record costs less in a batch"}
    off = {"mode": "auto", "enabled": False, "why": "a record costs about as much"}
    server = tmp_path / "server-1"
    server.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(server))
    assert batching.agreed(on) == on  # the first worker: published
    second = batching.agreed(off)  # a second worker timed it otherwise
    assert second["enabled"] is True
    assert second["why"] == "a record costs less in a batch (the server's first worker timed it)"
    assert batching.agreed({**off, "mode": "off"})["enabled"] is False  # switched off: as said
    later = tmp_path / "server-2"  # another server start: its own folder, its own decision
    later.mkdir()
    assert batching.agreed(off, str(later)) == off
    assert sorted(p.name for p in server.iterdir()) == ["workbench-batching.json"]  # no scratch
    assert batching.agreed(off, str(tmp_path / "gone")) == off  # nothing to share: its own
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    assert batching.agreed(off) == off  # one worker: nothing shared
