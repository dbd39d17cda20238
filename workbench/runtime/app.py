"""The HTTP API around the model: what runs inside the image.

Depends only on Starlette, Uvicorn, orjson, jsonschema and prometheus-client,
plus the model's own libraries; never on the rest of the workbench.

Configuration is /app/serving.json (written by the build) and the schemas as
JSON in /app/schema/. Errors never echo the payload back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .flavors import load_predictor
from .openapi import openapi_document

APP_DIR = Path(os.environ.get("WORKBENCH_APP_DIR", "/app"))
REQUESTS = Counter("workbench_requests_total", "Requests served", ["route", "status"])
LATENCY = Histogram(
    "workbench_request_seconds",
    "Request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
log = logging.getLogger("workbench.runtime")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def describe(error: Any) -> dict[str, str]:
    """A validation error as {path, message}, built from the schema, never from the payload."""
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    kind, expected = error.validator, error.validator_value
    messages = {
        "type": lambda: f"must be of type {expected}",
        "required": lambda: (
            "a required field is missing: "
            + ", ".join(name for name in expected if name not in (error.instance or {}))
        ),
        "additionalProperties": lambda: (
            "unknown fields are not allowed: "
            + ", ".join(sorted(set(error.instance or {}) - set(error.schema.get("properties", {}))))
        ),
        "enum": lambda: "must be one of " + ", ".join(map(str, expected)),
        "const": lambda: f"must be {expected}",
        "minimum": lambda: f"must be >= {expected}",
        "maximum": lambda: f"must be <= {expected}",
        "exclusiveMinimum": lambda: f"must be > {expected}",
        "exclusiveMaximum": lambda: f"must be < {expected}",
        "minLength": lambda: f"must have at least {expected} characters",
        "maxLength": lambda: f"must have at most {expected} characters",
        "pattern": lambda: f"must match the pattern {expected}",
        "minItems": lambda: f"must have at least {expected} items",
        "maxItems": lambda: f"must have at most {expected} items",
    }
    text = messages.get(kind, lambda: f"fails the `{kind}` constraint")()
    return {"path": path, "message": text}


class Model:
    """The loaded model, its contract and its metadata."""

    def __init__(self, app_dir: Path) -> None:
        self.config: dict[str, Any] = orjson.loads((app_dir / "serving.json").read_bytes())
        schema_dir = app_dir / "schema"
        self.request_schema = orjson.loads((schema_dir / "request.json").read_bytes())
        self.response_schema = orjson.loads((schema_dir / "response.json").read_bytes())
        self.request_validator = Draft202012Validator(self.request_schema)
        self.response_validator = Draft202012Validator(self.response_schema)
        self.app_dir = app_dir
        self.predictor: Any = None
        self.load_error: str | None = None

    def load(self) -> None:
        started = time.perf_counter()
        try:
            self.predictor = load_predictor(
                self.config["flavor"],
                root=self.app_dir / "model",
                artifact=self.config.get("artifact"),
                predictor=self.config.get("predictor"),
                features=list(self.request_schema.get("properties", {})),
            )
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error(orjson.dumps({"event": "load_failed", "error": self.load_error}).decode())
            return
        log.info(
            orjson.dumps(
                {
                    "event": "model_loaded",
                    "seconds": round(time.perf_counter() - started, 3),
                    "version": self.config.get("version"),
                }
            ).decode()
        )

    @property
    def ready(self) -> bool:
        return self.predictor is not None

    def request_errors(self, record: Any) -> list[dict[str, str]]:
        return [
            describe(e)
            for e in sorted(
                self.request_validator.iter_errors(record), key=lambda e: list(e.absolute_path)
            )
        ]

    def response_errors(self, answer: Any) -> list[dict[str, str]]:
        return [describe(e) for e in self.response_validator.iter_errors(answer)]


MODEL: Model | None = None


def model() -> Model:
    assert MODEL is not None
    return MODEL


async def read_json(request: Request) -> tuple[Any, Response | None]:
    """The parsed body, or the error response: 413 when too large, 400 when not JSON."""
    limit = int(model().config.get("max_body_bytes", 1_048_576))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None, json_response({"error": f"request body over {limit} bytes"}, 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None, json_response({"error": f"request body over {limit} bytes"}, 413)
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError:
        return None, json_response({"error": "the body is not valid JSON"}, 400)


def not_ready() -> Response:
    return json_response({"error": "the model is not loaded", "detail": model().load_error}, 503)


def predict_records(records: list[Any], request_id: str) -> Response:
    m = model()
    errors = []
    for index, record in enumerate(records):
        for error in m.request_errors(record):
            if len(records) > 1 or index:
                error["path"] = f"$[{index}]" + error["path"][1:]
            errors.append(error)
    if errors:
        return json_response(
            {"error": "the request does not match the schema", "errors": errors[:50]}, 422
        )
    try:
        answers = m.predictor.predict_many(records)
    except Exception as exc:
        log.error(
            orjson.dumps(
                {
                    "event": "model_error",
                    "request_id": request_id,
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=5),
                }
            ).decode()
        )
        return json_response(
            {"error": "the model failed on this request", "request_id": request_id}, 500
        )
    for answer in answers:
        problems = m.response_errors(answer)
        if problems:
            log.error(
                orjson.dumps(
                    {"event": "response_invalid", "request_id": request_id, "errors": problems[:10]}
                ).decode()
            )
            return json_response(
                {"error": "the model's answer broke the response schema", "request_id": request_id},
                500,
            )
    return json_response(answers)


async def predict(request: Request) -> Response:
    if not model().ready:
        return not_ready()
    record, error = await read_json(request)
    if error is not None:
        return error
    response = await asyncio.to_thread(predict_records, [record], request.state.request_id)
    if response.status_code == 200:
        response.body = orjson.dumps(orjson.loads(response.body)[0])
        response.headers["content-length"] = str(len(response.body))
    return response


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
    return await asyncio.to_thread(predict_records, records, request.state.request_id)


async def live(_: Request) -> Response:
    return json_response({"status": "alive"})


async def ready(_: Request) -> Response:
    return json_response({"status": "ready"}) if model().ready else not_ready()


async def metadata(_: Request) -> Response:
    config = model().config
    keys = ("name", "version", "revision", "flavor", "hashes", "created")
    return json_response({k: config.get(k) for k in keys})


async def openapi(_: Request) -> Response:
    m = model()
    return json_response(openapi_document(m.config, m.request_schema, m.response_schema))


async def metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# --- Open Inference Protocol v2 ------------------------------------------------------------


def _v2_datatype(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    return {"number": "FP64", "integer": "INT64", "boolean": "BOOL"}.get(str(kind), "BYTES")


async def v2_ready(_: Request) -> Response:
    return json_response({"ready": model().ready}, 200 if model().ready else 503)


async def v2_model(request: Request) -> Response:
    m = model()
    if request.path_params["name"] != m.config.get("name"):
        return json_response({"error": f"unknown model {request.path_params['name']}"}, 404)
    fields = m.request_schema.get("properties", {})
    outputs = m.response_schema.get("properties", {})
    return json_response(
        {
            "name": m.config.get("name"),
            "versions": [m.config.get("version")],
            "platform": m.config.get("flavor"),
            "inputs": [
                {"name": n, "datatype": _v2_datatype(s), "shape": [-1]} for n, s in fields.items()
            ],
            "outputs": [
                {"name": n, "datatype": _v2_datatype(s), "shape": [-1]} for n, s in outputs.items()
            ],
        }
    )


async def v2_infer(request: Request) -> Response:
    m = model()
    if request.path_params["name"] != m.config.get("name"):
        return json_response({"error": f"unknown model {request.path_params['name']}"}, 404)
    if not m.ready:
        return not_ready()
    body, error = await read_json(request)
    if error is not None:
        return error
    try:
        inputs = {i["name"]: list(i["data"]) for i in body["inputs"]}
        count = len(next(iter(inputs.values())))
        records = [{name: data[row] for name, data in inputs.items()} for row in range(count)]
    except (KeyError, TypeError, StopIteration, IndexError):
        return json_response(
            {
                "error": 'expected {"inputs": [{"name", "data"}, ...]} '
                "with one tensor per field, all of the same length"
            },
            400,
        )
    response = await asyncio.to_thread(predict_records, records, request.state.request_id)
    if response.status_code != 200:
        return response
    answers = orjson.loads(response.body)
    names = list(answers[0]) if answers else []
    outputs = [
        {
            "name": n,
            "shape": [len(answers)],
            "datatype": _v2_datatype(m.response_schema.get("properties", {}).get(n, {})),
            "data": [a.get(n) for a in answers],
        }
        for n in names
    ]
    return json_response(
        {
            "model_name": m.config.get("name"),
            "model_version": m.config.get("version"),
            "id": request.state.request_id,
            "outputs": outputs,
        }
    )


# --- the application -----------------------------------------------------------------------


class RequestLog:
    """ASGI middleware: a request id, one JSON log line and metrics per request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = {"code": 500}

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", scope["path"])
            REQUESTS.labels(path, str(status["code"])).inc()
            LATENCY.labels(path).observe(elapsed)
            if path not in ("/metrics",):
                sys.stdout.write(
                    orjson.dumps(
                        {
                            "ts": round(time.time(), 3),
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status["code"],
                            "latency_ms": round(elapsed * 1000, 2),
                            "version": MODEL.config.get("version") if MODEL else None,
                        }
                    ).decode()
                    + "\n"
                )


def create_app(app_dir: Path = APP_DIR) -> Any:
    global MODEL
    MODEL = Model(app_dir)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        loading = asyncio.create_task(asyncio.to_thread(model().load))  # ready when done
        yield
        loading.cancel()

    routes = [
        Route("/predict", predict, methods=["POST"]),
        Route("/predict/batch", predict_batch, methods=["POST"]),
        Route("/health/live", live),
        Route("/health/ready", ready),
        Route("/metadata", metadata),
        Route("/openapi.json", openapi),
        Route("/metrics", metrics),
        Route("/v2/health/live", live),
        Route("/v2/health/ready", v2_ready),
        Route("/v2/models/{name}", v2_model),
        Route("/v2/models/{name}/infer", v2_infer, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    return RequestLog(app)
