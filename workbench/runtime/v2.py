"""The Open Inference Protocol v2 (KServe / Triton) routes, over the same model."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from .core import json_response, model, not_ready, predict_records, read_json


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
