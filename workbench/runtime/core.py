"""The serving runtime's core: the loaded model, its contract, and answering records.

Shared by the plain routes (`app`) and the Open Inference Protocol v2 routes (`v2`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator, FormatChecker
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .batching import Batcher, agreed, calibrate, settings
from .flavors import load_predictor
from .monitoring import Monitor
from .rules import CHECKED_FORMATS, column_dtypes

log = logging.getLogger("workbench.runtime")


# The id of the request being answered (set by the request middleware): every error body
# carries it, whichever handler wrote it, so a client can quote it to whoever reads the logs.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if status >= 400 and isinstance(body, dict) and "request_id" not in body:
        request_id = REQUEST_ID.get()
        if request_id:
            body = {**body, "request_id": request_id}
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


def feature_order(schema: dict[str, Any]) -> list[str]:
    """Which field is which column for a model trained on bare arrays: the schema's explicit
    `x-feature-order`, never the order its properties happen to be written in."""
    order = schema.get("x-feature-order")
    return (
        [str(name) for name in order]
        if isinstance(order, list)
        else list(schema.get("properties", {}))
    )


def batch_check(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """The compiled check of a whole list of records, in one call. Only where every `$ref`
    points into `$defs` (kept at the wrapper's root): a `$ref` to `#` would mean the list."""
    refs = re.findall(rb'"\$ref":"([^"]*)"', orjson.dumps(schema))
    if any(not ref.startswith(b"#/$defs/") for ref in refs):
        return None
    wrapper: dict[str, Any] = {"type": "array", "items": schema}
    if "$defs" in schema:
        wrapper["$defs"] = schema["$defs"]
    return fast_check(wrapper)


def fast_check(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A compiled validity check (jsonschema-rs), used only to say yes quickly: a record it
    does not pass is checked again by `jsonschema`, whose verdict and {path, message} errors
    are the contract. Not used where the schema has a `format` (the two libraries check
    formats differently), nor where jsonschema-rs is not installed."""
    if b'"format"' in orjson.dumps(schema):
        return None
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        validator = jsonschema_rs.validator_for(schema)
    except Exception:  # a schema it cannot compile: the reference validator alone
        return None
    return validator.is_valid


class Model:
    """The loaded model, its contract and its metadata."""

    def __init__(self, app_dir: Path) -> None:
        self.config: dict[str, Any] = orjson.loads((app_dir / "serving.json").read_bytes())
        schema_dir = app_dir / "schema"
        self.request_schema = orjson.loads((schema_dir / "request.json").read_bytes())
        self.response_schema = orjson.loads((schema_dir / "response.json").read_bytes())
        formats = FormatChecker(formats=CHECKED_FORMATS)
        self.request_validator = Draft202012Validator(self.request_schema, format_checker=formats)
        self.response_validator = Draft202012Validator(self.response_schema, format_checker=formats)
        self.request_valid = fast_check(self.request_schema)
        self.response_valid = fast_check(self.response_schema)
        # A whole batch in one compiled call (the records' own $defs kept at the root).
        self.requests_valid = batch_check(self.request_schema)
        self.responses_valid = batch_check(self.response_schema)
        self.app_dir = app_dir
        self.predictor: Any = None
        self.load_error: str | None = None
        self.answer_seconds: dict[bool, float] = {}
        self.monitor = Monitor(self.config, self.request_schema, self.response_schema)
        self.batching: dict[str, Any] = {"enabled": False, "why": "the model is not loaded"}
        self.batcher: Batcher | None = None  # made in each worker, on its own event loop

    def load(self) -> None:
        started = time.perf_counter()
        try:
            predictor = load_predictor(
                self.config["flavor"],
                root=self.app_dir / "model",
                artifact=self.config.get("artifact"),
                predictor=self.config.get("predictor"),
                features=feature_order(self.request_schema),
                dtypes=column_dtypes(self.request_schema),
                labels=self.config.get("labels"),
            )
        except Exception as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error(
                orjson.dumps(
                    {
                        "event": "load_failed",
                        "error": self.load_error,
                        "traceback": traceback.format_exc(limit=8),
                    }
                ).decode()
            )
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
        # Whether to batch is decided before the model is ready: no request meets it undecided.
        chosen = settings(self.config)
        examples = [r for r in self.config.get("calibration") or [] if not self.request_errors(r)]
        if hasattr(predictor, "prepare"):  # what it can learn from real records (sklearn)
            predictor.prepare(examples)
        self.batching = {
            **agreed(calibrate(predictor.predict_many, examples, chosen, INLINE_SECONDS)),
            "max_wait_ms": chosen["max_wait_ms"],
            "max_queue": chosen["max_queue"],
        }
        log.info(orjson.dumps({"event": "batching", **self.batching}).decode())
        self.predictor = predictor

    def coalescer(self, make: Callable[[asyncio.AbstractEventLoop], Batcher]) -> Batcher | None:
        """This worker's batcher when batching is on (made on first use, on this loop)."""
        if not self.batching["enabled"]:
            return None
        if self.batcher is None:
            self.batcher = make(asyncio.get_running_loop())
        return self.batcher

    @property
    def ready(self) -> bool:
        return self.predictor is not None

    def observe(self, many: bool, seconds: float) -> None:
        """Keep a moving average of how long the model takes to answer (one record, or
        several)."""
        before = self.answer_seconds.get(many)
        self.answer_seconds[many] = seconds if before is None else 0.8 * before + 0.2 * seconds

    def quick(self, many: bool) -> bool:
        """Whether the model answers fast enough to be called on the event loop: a thread
        hop costs more than such an answer, and blocking the loop that briefly harms no
        one. Slow models (or not yet measured) answer in a worker thread."""
        seconds = self.answer_seconds.get(many)
        return seconds is not None and seconds < INLINE_SECONDS

    def request_errors(self, record: Any) -> list[dict[str, str]]:
        if self.request_valid is not None and self.request_valid(record):
            return []  # the compiled check: microseconds; the details only when it fails
        return [
            describe(e)
            for e in sorted(
                self.request_validator.iter_errors(record), key=lambda e: list(e.absolute_path)
            )
        ]

    def response_errors(self, answer: Any) -> list[dict[str, str]]:
        if self.response_valid is not None and self.response_valid(answer):
            return []
        return [describe(e) for e in self.response_validator.iter_errors(answer)]


MODEL: Model | None = None


def model() -> Model:
    assert MODEL is not None
    return MODEL


MAX_DEPTH = 32  # nesting deeper than this is refused before validation (RecursionError)
INLINE_SECONDS = 0.002  # models answering faster than this are called on the event loop
BODY_SECONDS = 10.0  # a body that trickles in slower than this is refused (408)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON `value` nests deeper than `limit`, a value inside a container one level
    below it (iterative: no recursion; only containers are pushed, so a flat batch of
    records costs one type check per value)."""
    if type(value) is not dict and type(value) is not list:
        return limit < 1
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if type(node) is dict else node:
            if type(child) is dict or type(child) is list:
                stack.append((child, depth + 1))
            elif depth >= limit:
                return True
    return False


def is_json(content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


async def _body(request: Request, limit: int) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def within(work: Any, seconds: float) -> Any:
    """`work` awaited with a deadline: asyncio.timeout where there is one (Python 3.11+;
    no extra task per request), else wait_for."""
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:
        return await asyncio.wait_for(work, seconds)
    async with timeout(seconds):
        return await work


async def call_model(function: Any, records: list[Any], request_id: str) -> Any:
    """`function(records, request_id)` on the event loop when the model is quick, else in a
    worker thread."""
    if model().quick(len(records) > 1):
        return function(records, request_id)
    return await asyncio.to_thread(function, records, request_id)


async def read_json(
    request: Request, *, require_json_type: bool = True
) -> tuple[Any, Response | None]:
    """The parsed body, or the error response: 415 when not declared JSON, 413 when too
    large, 408 when it arrives too slowly, 400 when not JSON, 422 when nested too deep.
    (Open Inference Protocol clients may declare no content type: `require_json_type`.)"""
    if require_json_type and not is_json(request.headers.get("content-type")):
        return None, json_response(
            {"error": "send the body as JSON with `Content-Type: application/json`"}, 415
        )
    limit = int(model().config.get("max_body_bytes", 1_048_576))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None, json_response({"error": f"request body over {limit} bytes"}, 413)
    try:
        body = await within(_body(request, limit), BODY_SECONDS)
    except TimeoutError:
        return None, json_response(
            {"error": f"the body did not arrive within {BODY_SECONDS:g} s"}, 408
        )
    except ClientDisconnect:
        log.info(
            orjson.dumps(
                {"event": "client_disconnected", "request_id": request.state.request_id}
            ).decode()
        )
        return None, Response(status_code=499)
    if body is None:
        return None, json_response({"error": f"request body over {limit} bytes"}, 413)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, json_response({"error": "the body is not valid JSON"}, 400)
    # Fewer brackets than the limit: it cannot nest deeper (no walk at all for most records).
    if body.count(b"[") + body.count(b"{") >= MAX_DEPTH and too_deep(value):
        return None, json_response(
            {
                "error": "the request does not match the schema",
                "errors": [{"path": "$", "message": f"nested deeper than {MAX_DEPTH} levels"}],
            },
            422,
        )
    return value, None


def not_ready() -> Response:
    return json_response({"error": "the model is not loaded", "detail": model().load_error}, 503)


def answer_records(records: list[Any], request_id: str) -> tuple[list[Any], Response | None]:
    """The model's answers to valid records, or the error response (422 with every
    {path, message}, 500 with the request id when the model fails or breaks its contract)."""
    invalid = invalid_records(records)
    return ([], invalid) if invalid is not None else model_answers(records, request_id)


def invalid_records(records: list[Any]) -> Response | None:
    """The 422 listing every {path, message} of the records that break the request schema."""
    m = model()
    errors = []
    checked = len(records) > 1 and m.requests_valid is not None and m.requests_valid(records)
    for index, record in enumerate([] if checked else records):
        for error in m.request_errors(record):
            if len(records) > 1 or index:
                error["path"] = f"$[{index}]" + error["path"][1:]
            errors.append(error)
    if errors:
        return json_response(
            {"error": "the request does not match the schema", "errors": errors[:50]}, 422
        )
    return None


def model_answers(records: list[Any], request_id: str) -> tuple[list[Any], Response | None]:
    """The model's answers to valid records, checked against the response schema and
    counted by the monitor; or the 500 naming the request id."""
    m = model()
    try:
        started = time.perf_counter()
        answers = m.predictor.predict_many(records)
        m.observe(len(records) > 1, time.perf_counter() - started)
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
        return [], json_response(
            {"error": "the model failed on this request", "request_id": request_id}, 500
        )
    fine = len(answers) > 1 and m.responses_valid is not None and m.responses_valid(answers)
    for answer in [] if fine else answers:
        problems = m.response_errors(answer)
        if problems:
            return [], broken_answer(request_id, problems)
    m.monitor.observe(records, answers, request_id)
    return answers, None


def broken_answer(request_id: str, problems: list[dict[str, str]]) -> Response:
    log.error(
        orjson.dumps(
            {"event": "response_invalid", "request_id": request_id, "errors": problems[:10]}
        ).decode()
    )
    return json_response(
        {"error": "the model's answer broke the response schema", "request_id": request_id},
        500,
    )


def predict_records(records: list[Any], request_id: str) -> Response:
    answers, error = answer_records(records, request_id)
    return error if error is not None else json_response(answers)
