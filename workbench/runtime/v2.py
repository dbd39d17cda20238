"""The Open Inference Protocol v2 (KServe / Triton REST) over the same model and contract.

Faithful to the protocol as clients use it: server metadata (`GET /v2`), liveness and
readiness of the server and of the model, model metadata, and `infer` with shapes and
datatypes checked against the request schema (each field is one tensor with one value
per record: shape [batch] or [batch, 1]). Every mistake is a 400 that says what is
wrong; the binary tensor extension is refused by name (send JSON `data`).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .core import answer_records, call_model, json_response, model, not_ready, read_json

NUMBER_TYPES = ("FP16", "FP32", "FP64")
INTEGER_TYPES = ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64")
ACCEPTED = {
    "number": NUMBER_TYPES + INTEGER_TYPES,
    "integer": INTEGER_TYPES,
    "boolean": ("BOOL",),
    "string": ("BYTES",),
}
DECLARED = {"number": "FP64", "integer": "INT64", "boolean": "BOOL", "string": "BYTES"}


class Refused(Exception):
    """A request that breaks the protocol: the message is the 400's error."""


def _kind(schema: dict[str, Any]) -> str:
    kinds = schema.get("type", "string")
    if isinstance(kinds, list):
        kinds = next((k for k in kinds if k != "null"), "string")
    return str(kinds)


def _tensor_of(schema: dict[str, Any]) -> tuple[str, list[int], list[str] | None]:
    """(datatype, shape, columns) of one field or answer as a tensor."""
    kind = _kind(schema)
    if kind == "object":  # e.g. probabilities per class: one FP64 column per key
        columns = [str(c) for c in schema.get("properties", {})]
        return "FP64", [-1, len(columns)], columns
    # A graph's own element type where the schema says it (`x-datatype`: FP32 for ONNX).
    declared = schema.get("x-datatype")
    if isinstance(declared, str) and declared in ACCEPTED.get(kind, ()):
        return declared, [-1], None
    return DECLARED.get(kind, "BYTES"), [-1], None


def _known(request: Request) -> Response | None:
    m = model()
    name = request.path_params["name"]
    if name != m.config.get("name"):
        return json_response(
            {"error": f"unknown model `{name}`; this server has `{m.config.get('name')}`"}, 404
        )
    version = request.path_params.get("version")
    if version is not None and version != str(m.config.get("version")):
        return json_response(
            {"error": f"unknown version `{version}` of `{name}`; it has {m.config.get('version')}"},
            404,
        )
    return None


async def v2_server(_: Request) -> Response:
    return json_response({"name": "workbench", "version": "2", "extensions": []})


async def v2_ready(_: Request) -> Response:
    ready = model().ready
    return json_response({"ready": ready}, 200 if ready else 503)


async def v2_model_ready(request: Request) -> Response:
    unknown = _known(request)
    if unknown is not None:
        return unknown
    ready = model().ready
    return json_response(
        {"name": request.path_params["name"], "ready": ready}, 200 if ready else 503
    )


async def v2_model(request: Request) -> Response:
    unknown = _known(request)
    if unknown is not None:
        return unknown
    m = model()

    def describe(name: str, schema: dict[str, Any]) -> dict[str, Any]:
        datatype, shape, columns = _tensor_of(schema)
        entry: dict[str, Any] = {"name": name, "datatype": datatype, "shape": shape}
        if columns is not None:
            entry["parameters"] = {"columns": columns}
        return entry

    return json_response(
        {
            "name": m.config.get("name"),
            "versions": [str(m.config.get("version"))],
            "platform": f"workbench-{m.config.get('flavor')}",
            "inputs": [describe(n, s) for n, s in m.request_schema.get("properties", {}).items()],
            "outputs": [describe(n, s) for n, s in m.response_schema.get("properties", {}).items()],
        }
    )


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise Refused("`data` must be a list (row-major, nested lists allowed)")
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            flat.append(value)
        else:
            stack.pop()
    return flat


def _records(body: Any) -> list[dict[str, Any]]:
    """The records an infer request carries, every tensor checked against the contract."""
    m = model()
    fields = m.request_schema.get("properties", {})
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise Refused('expected {"inputs": [{"name", "shape", "datatype", "data"}, ...]}')
    columns: dict[str, list[Any]] = {}
    batches: dict[str, int] = {}
    for tensor in body["inputs"]:
        if not isinstance(tensor, dict):
            raise Refused("each input must be an object with name, shape, datatype and data")
        name = str(tensor.get("name"))
        if name not in fields:
            raise Refused(f"unknown input `{name}`; the inputs are: {', '.join(fields)}")
        if name in columns:
            raise Refused(f"input `{name}` is given twice")
        shape, datatype = tensor.get("shape"), tensor.get("datatype")
        if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
            raise Refused(f"input `{name}`: `shape` must be a list of non-negative integers")
        kind = _kind(fields[name])
        if datatype not in ACCEPTED.get(kind, ("BYTES",)):
            raise Refused(
                f"input `{name}`: datatype {datatype} does not fit a {kind} field; "
                f"use {DECLARED.get(kind, 'BYTES')}"
            )
        flat = _flatten(tensor.get("data"))
        size = math.prod(shape) if shape else 1
        if len(flat) != size:
            raise Refused(
                f"input `{name}`: shape {shape} holds {size} values, `data` has {len(flat)}"
            )
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise Refused(f"input `{name}`: one value per record: shape [batch] or [batch, 1]")
        columns[name] = flat
        batches[name] = shape[0] if shape else 1
    missing = [n for n in m.request_schema.get("required", []) if n not in columns]
    if missing:
        raise Refused("missing inputs: " + ", ".join(missing))
    if len(set(batches.values())) > 1:
        listed = ", ".join(f"{n} {b}" for n, b in batches.items())
        raise Refused(f"the inputs have different batch sizes ({listed}); all must be equal")
    count = next(iter(batches.values()))
    return [{name: values[row] for name, values in columns.items()} for row in range(count)]


def _outputs(body: dict[str, Any], answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    properties = model().response_schema.get("properties", {})
    asked = body.get("outputs")
    if asked is not None and (
        not isinstance(asked, list) or not all(isinstance(o, dict) for o in asked)
    ):
        raise Refused(
            '`outputs` must be a list of objects like {"name": "..."}; outputs: '
            + ", ".join(properties)
        )
    wanted = [str(o.get("name")) for o in asked or []]
    unknown = [w for w in wanted if w not in properties]
    if unknown:
        raise Refused(
            f"unknown outputs: {', '.join(map(str, unknown))}; outputs: {', '.join(properties)}"
        )
    out = []
    for name in wanted or list(properties):
        datatype, _, columns = _tensor_of(properties[name])
        values = [answer.get(name) for answer in answers]
        if columns is not None:
            rows = [[(value or {}).get(c) for c in columns] for value in values]
            tensor = {
                "name": name,
                "datatype": datatype,
                "shape": [len(answers), len(columns)],
                "data": [v for row in rows for v in row],
                "parameters": {"columns": columns},
            }
        else:
            tensor = {"name": name, "datatype": datatype, "shape": [len(answers)], "data": values}
        out.append(tensor)
    return out


async def v2_infer(request: Request) -> Response:
    unknown = _known(request)
    if unknown is not None:
        return unknown
    m = model()
    if not m.ready:
        return not_ready()
    if "inference-header-content-length" in request.headers:
        return json_response(
            {
                "error": "the binary tensor data extension is not supported: send the tensors "
                "as JSON `data` (tritonclient: binary_data=False)"
            },
            400,
        )
    body, error = await read_json(request, require_json_type=False)
    if error is not None:
        return error
    try:
        records = _records(body)
        if records:
            answers, failed = await call_model(answer_records, records, request.state.request_id)
            if failed is not None:
                return failed
        else:
            answers = []
        outputs = _outputs(body, answers)
    except Refused as exc:
        return json_response({"error": str(exc)}, 400)
    return json_response(
        {
            "model_name": m.config.get("name"),
            "model_version": str(m.config.get("version")),
            "id": str(body.get("id") or request.state.request_id),
            "outputs": outputs,
        }
    )
