"""The HTTP API around the model: what runs inside the image.

Depends only on Starlette, Uvicorn, orjson, jsonschema and prometheus-client,
plus the model's own libraries; never on the rest of the workbench.

Configuration is /app/serving.json (written by the build) and the schemas as
JSON in /app/schema/. Errors never echo the payload back.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import time
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import core
from .batching import Batcher
from .core import (
    answer_records,
    broken_answer,
    call_model,
    invalid_records,
    json_response,
    model,
    model_answers,
    not_ready,
    predict_records,
    read_json,
)
from .openapi import openapi_document
from .v2 import v2_infer, v2_model, v2_model_ready, v2_ready, v2_server

APP_DIR = Path(os.environ.get("WORKBENCH_APP_DIR", "/app"))
UNMATCHED = "(unmatched)"
REQUESTS = Counter("workbench_requests_total", "Requests served", ["route", "status"])
LATENCY = Histogram(
    "workbench_request_seconds",
    "Request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


async def predict(request: Request) -> Response:
    if not model().ready:
        return not_ready()
    record, error = await read_json(request)
    if error is not None:
        return error
    request_id = request.state.request_id
    batcher = model().coalescer(lambda loop: Batcher(answer_each, loop, model().batching))
    if batcher is not None:  # validated here, answered with the records queued beside it
        invalid = invalid_records([record])
        if invalid is not None:
            return invalid
        waiting = batcher.submit(record, request_id)
        if waiting is None:
            return json_response(
                {"error": "the server is at capacity; retry in a moment"},
                503,
                headers={"Retry-After": "1"},
            )
        answer, failed = await waiting
    else:
        answers, failed = await call_model(answer_records, [record], request_id)
        answer = answers[0] if answers else None
    if failed is None and answer is None:
        failed = json_response({"error": "the server failed on this request"}, 500)
    return failed if failed is not None else json_response(answer)  # serialised once


def answer_each(records: list[Any], ids: list[str]) -> list[tuple[Any, Response | None]]:
    """Coalesced single requests: one model call for all, each answer checked and counted as
    its own request; when the call raises, record by record, so only the failing one 500s."""
    m = model()
    try:
        started = time.perf_counter()
        answers = m.predictor.predict_many(records)
        m.observe(True, time.perf_counter() - started)
        if len(answers) != len(records):
            raise ValueError(f"{len(answers)} answers to {len(records)} records")
    except Exception:
        alone = [model_answers([record], i) for record, i in zip(records, ids, strict=True)]
        return [(answers[0] if answers else None, failed) for answers, failed in alone]
    out: list[tuple[Any, Response | None]] = []
    for record, answer, request_id in zip(records, answers, ids, strict=True):
        problems = m.response_errors(answer)
        if problems:
            out.append((None, broken_answer(request_id, problems)))
            continue
        m.monitor.observe([record], [answer], request_id)
        out.append((answer, None))
    return out


async def predict_batch(request: Request) -> Response:
    if not model().ready:
        return not_ready()
    records, error = await read_json(request)
    if error is not None:
        return error
    if not isinstance(records, list) or not records:
        return json_response(
            {
                "error": "the request does not match the schema",
                "errors": [{"path": "$", "message": "must be a non-empty array of records"}],
            },
            422,
        )
    return await call_model(predict_records, records, request.state.request_id)


async def live(_: Request) -> Response:
    return json_response({"status": "alive"})


async def ready(_: Request) -> Response:
    return json_response({"status": "ready"}) if model().ready else not_ready()


async def metadata(_: Request) -> Response:
    config = model().config
    keys = ("name", "version", "revision", "flavor", "hashes")
    # When the image was built (set by its Dockerfile); batching as decided at load.
    created = os.environ.get("WORKBENCH_IMAGE_CREATED") or config.get("created")
    return json_response(
        {**{k: config.get(k) for k in keys}, "created": created, "batching": model().batching}
    )


async def openapi(_: Request) -> Response:
    m = model()
    return json_response(openapi_document(m.config, m.request_schema, m.response_schema))


async def monitoring(_: Request) -> Response:
    """The drift reference (bins and their shares in the build's sample) and the logging
    settings: what `workbench monitor` compares /metrics with."""
    return json_response(model().monitor.describe())


async def metrics(_: Request) -> Response:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several workers: every worker's counts
        from prometheus_client import CollectorRegistry, multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# --- the application -----------------------------------------------------------------------


_IDS: dict[int, tuple[str, itertools.count[int]]] = {}


def next_request_id() -> str:
    """A request id unique across workers and restarts, without a uuid4 (os.urandom) per
    request: 20 random hex digits drawn once per process, then a counter (32 in all)."""
    pid = os.getpid()
    if pid not in _IDS:  # a forked worker draws its own prefix
        _IDS.clear()
        _IDS[pid] = (os.urandom(10).hex(), itertools.count())
    prefix, counter = _IDS[pid]
    return f"{prefix}{next(counter):012x}"


class RequestLog:
    """ASGI middleware: a request id, one JSON log line and metrics per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = next_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        core.REQUEST_ID.set(request_id)  # this request's task (and its threads) only
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500, "elapsed": None}

        def count() -> None:
            if status["elapsed"] is not None:
                return
            status["elapsed"] = elapsed = time.perf_counter() - started
            # Label by route template only: a raw path per unknown URL would grow the
            # metrics without bound (25,000 distinct 404s used to exhaust 512 MiB).
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            REQUESTS.labels(route, str(status["code"])).inc()
            LATENCY.labels(route).observe(elapsed)

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                count()  # before the last byte leaves: a client that has its answer sees it counted
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            count()  # no complete response (an error, a client gone): counted here
            elapsed = status["elapsed"]
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            if route != "/metrics":
                sys.stdout.write(
                    orjson.dumps(
                        {
                            "ts": round(time.time(), 3),
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status["code"],
                            "latency_ms": round(elapsed * 1000, 2),
                            "version": core.MODEL.config.get("version") if core.MODEL else None,
                        }
                    ).decode()
                    + "\n"
                )


def create_app(app_dir: Path = APP_DIR) -> Any:
    core.MODEL = core.Model(app_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Ready when done; a worker of several loaded it before it listened.
        loaded = model().ready or model().load_error is not None
        loading = None if loaded else asyncio.create_task(asyncio.to_thread(model().load))
        yield
        if loading is not None:
            loading.cancel()

    routes = [
        Route("/predict", predict, methods=["POST"]),
        Route("/predict/batch", predict_batch, methods=["POST"]),
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/metadata", metadata),
        Route("/openapi.json", openapi),
        Route("/metrics", metrics),
        Route("/monitoring", monitoring),
        Route("/v2", v2_server),
        Route("/v2/health/live", live),
        Route("/v2/health/ready", v2_ready),
        Route("/v2/models/{name}", v2_model),
        Route("/v2/models/{name}/ready", v2_model_ready),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}", v2_model),
        Route("/v2/models/{name}/versions/{version}/ready", v2_model_ready),
        Route("/v2/models/{name}/versions/{version}/infer", v2_infer, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    return RequestLog(app)


async def http_error(request: Request, exc: Exception) -> Response:
    """404, 405 and the like: JSON with the request id, like every other error."""
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", None) or "error"
    return json_response(
        {"error": str(detail).lower(), "request_id": request.state.request_id},
        status,
        headers=getattr(exc, "headers", None),
    )


async def server_error(request: Request, exc: Exception) -> Response:
    """Anything unexpected: logged with its traceback, answered as JSON with the request id."""
    core.log.error(
        orjson.dumps(
            {
                "event": "server_error",
                "request_id": request.state.request_id,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5),
            }
        ).decode()
    )
    return json_response(
        {"error": "the server failed on this request", "request_id": request.state.request_id},
        500,
    )
