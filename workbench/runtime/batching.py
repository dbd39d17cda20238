"""Adaptive micro-batching: concurrent single-record requests answered by one model call.

A model with a fixed cost per call (a scikit-learn Pipeline with a ColumnTransformer costs
milliseconds for one row and barely more for thirty) answers concurrent clients faster when
their records go through it together. Requests are validated one by one on the event loop,
as without batching; the valid records wait in a bounded queue for the one model thread,
which takes whatever is queued (up to `max_batch`, waiting at most `max_wait_ms` for more,
but only while requests come together: after a call of one record it waits for nothing, so
a lone client pays no wait),
calls the model once and hands each request its own answer. When the coalesced call raises,
the batch is answered record by record, so only the record that fails gets its 500. Each
request keeps its own id, log line, response check and monitoring counts. A full queue
answers 503 with Retry-After instead of growing without bound.

Whether it pays is measured at load (`calibrate`): the model is timed on one example record
and on eight of them; batching is on when the model is not already answered inline
(under 2 ms a call) and a record in a batch costs at most half of a record alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

log = logging.getLogger("workbench.runtime")

MODES = ("auto", "on", "off")
DEFAULTS: dict[str, Any] = {"mode": "auto", "max_batch": 32, "max_wait_ms": 2.0, "max_queue": 256}
CHEAPER = 0.5  # a record in a batch must cost at most this share of a record alone
TIMED_BATCH = 8  # records in the batch timed at load


def settings(config: dict[str, Any]) -> dict[str, Any]:
    """serving.json's `batching`, with defaults; WORKBENCH_BATCHING (auto, on, off) set on
    the container overrides the mode (an operator's switch, no rebuild)."""
    chosen = {**DEFAULTS, **(config.get("batching") or {})}
    override = os.environ.get("WORKBENCH_BATCHING", "").strip().lower()
    if override in MODES:
        chosen["mode"] = override
    return chosen


def calibrate(
    predict_many: Callable[[list[Any]], list[Any]],
    examples: list[Any],
    chosen: dict[str, Any],
    inline_seconds: float,
) -> dict[str, Any]:
    """Whether to batch, and the figures the decision was made on (logged at load)."""
    mode, size = chosen["mode"], int(chosen["max_batch"])
    decision: dict[str, Any] = {"mode": mode, "max_batch": size, "enabled": mode == "on"}
    if mode == "off" or size < 2:
        decision["enabled"], decision["why"] = False, "switched off"
        return decision
    if not examples:
        decision["why"] = "no example request to time the model on"
        return decision
    # Eight records show a fixed cost per call as well as thirty-two, and keep the start of
    # a slow model short: each series stops early once it has taken its share of a second.
    records = [examples[i % len(examples)] for i in range(min(size, TIMED_BATCH))]
    try:
        predict_many(records[:1])  # the first call warms caches: not counted
        single = statistics.median(_series(predict_many, records[:1], 5))
        together = statistics.median(_series(predict_many, records, 3)) / len(records)
    except Exception as exc:  # the model fails on its own examples: said, not fatal here
        decision["enabled"], decision["why"] = False, f"timing failed: {type(exc).__name__}"
        return decision
    decision["single_ms"] = round(single * 1000, 3)
    decision["per_record_in_batch_ms"] = round(together * 1000, 3)
    if mode == "on":
        decision["why"] = "switched on"
    elif single < inline_seconds:
        decision["why"] = "the model answers inline, under 2 ms a call"
    elif together > CHEAPER * single:
        decision["why"] = "a record costs about as much in a batch as alone"
    else:
        decision["enabled"], decision["why"] = True, "a record costs less in a batch"
    return decision


def agreed(decision: dict[str, Any], folder: str | None = None) -> dict[str, Any]:
    """One decision for every worker of this server. Each worker times the model while the
    others load, and noisy timings split them (one batching, one not, while /metadata
    answers for whichever worker it reached). The first `auto` decision is published in the
    folder the server made for its workers at start (PROMETHEUS_MULTIPROC_DIR, new for each
    server: never an earlier server's); a later worker adopts it. One worker, or no shared
    folder, keeps its own."""
    folder = folder or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if decision.get("mode") != "auto" or not folder:
        return decision
    path = os.path.join(folder, "workbench-batching.json")
    scratch = f"{path}.{os.getpid()}"
    try:
        with open(scratch, "xb") as out:
            out.write(orjson.dumps(decision))
        os.link(scratch, path)  # whole or not at all: the first worker's stands
        return decision
    except FileExistsError:
        try:
            with open(path, "rb") as published:
                first = orjson.loads(published.read())
        except (OSError, ValueError):
            return decision
        return {**first, "why": f"{first.get('why')} (the server's first worker timed it)"}
    except OSError:  # the folder is gone or not writable: this worker's own decision
        return decision
    finally:
        try:
            os.unlink(scratch)
        except OSError:
            pass


def _series(
    predict_many: Callable[[list[Any]], list[Any]], records: list[Any], runs: int
) -> list[float]:
    """Up to `runs` timings of one call, fewer once they add up to half a second."""
    times: list[float] = []
    while len(times) < runs and sum(times) < 0.5:
        started = time.perf_counter()
        predict_many(records)
        times.append(time.perf_counter() - started)
    return times


@dataclass
class Waiting:
    record: Any
    request_id: str
    future: asyncio.Future[Any]


class Batcher:
    """One model thread fed by a bounded queue; `answer(records, ids)` gives each request's
    (answer, error response) and runs on that thread."""

    def __init__(
        self,
        answer: Callable[[list[Any], list[str]], list[tuple[Any, Any]]],
        loop: asyncio.AbstractEventLoop,
        chosen: dict[str, Any],
    ) -> None:
        self.answer = answer
        self.loop = loop
        self.max_batch = int(chosen["max_batch"])
        self.max_wait = float(chosen["max_wait_ms"]) / 1000
        self.waiting: queue.Queue[Waiting] = queue.Queue(maxsize=int(chosen["max_queue"]))
        self.batches = 0
        self.last_size = 0  # records in the last call: one means nobody came together
        self.thread = threading.Thread(target=self._serve, name="model", daemon=True)
        self.thread.start()

    def submit(self, record: Any, request_id: str) -> asyncio.Future[Any] | None:
        """The future of this record's (answer, error), or None when the queue is full."""
        future: asyncio.Future[Any] = self.loop.create_future()
        try:
            self.waiting.put_nowait(Waiting(record, request_id, future))
        except queue.Full:
            return None
        return future

    def _gather(self) -> list[Waiting]:
        batch = [self.waiting.get()]
        # Waiting pays only under concurrency: after a lone record, take what is queued now.
        deadline = time.monotonic() + (self.max_wait if self.last_size > 1 else 0.0)
        while len(batch) < self.max_batch:
            try:  # what is queued already, then what arrives before the deadline
                batch.append(self.waiting.get_nowait())
                continue
            except queue.Empty:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.waiting.get(timeout=left))
            except queue.Empty:
                break
        self.last_size = len(batch)
        return batch

    def _serve(self) -> None:
        while True:
            batch = self._gather()
            try:
                results = self.answer([w.record for w in batch], [w.request_id for w in batch])
            except BaseException as exc:  # a model raising SystemExit must not end
                # this thread (every later request would wait forever): said, answered 500
                log.error(orjson.dumps({"event": "batch_failed", "error": repr(exc)}).decode())
                results = [(None, None)] * len(batch)
            self.batches += 1
            try:
                for waiting, result in zip(batch, results, strict=True):
                    self.loop.call_soon_threadsafe(_settle, waiting.future, result)
            except RuntimeError:  # the event loop closed (the server is stopping)
                return


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # a client that went away cancelled its wait
        future.set_result(result)
