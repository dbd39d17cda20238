"""OpenAPI 3.1 from the request and response schemas (no dependencies: used in the image
and by `workbench schema openapi`)."""

from __future__ import annotations

from typing import Any

# The body of every error answer: one message, or a list of {path, message}.
ERRORS = {
    "description": "error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        },
                    },
                    "request_id": {"type": "string"},
                },
            }
        }
    },
}


def _operation(summary: str, request: Any, response: Any) -> dict[str, Any]:
    return {
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
        "responses": {
            "200": {
                "description": "the prediction",
                "content": {"application/json": {"schema": response}},
            },
            "400": ERRORS,
            "408": ERRORS,
            "413": ERRORS,
            "415": ERRORS,
            "422": ERRORS,
            "500": ERRORS,
            "503": ERRORS,
        },
    }


def _status(summary: str) -> dict[str, Any]:
    document = {"type": "object", "properties": {"status": {"type": "string"}}}
    return {
        "get": {
            "summary": summary,
            "responses": {
                "200": {
                    "description": summary,
                    "content": {"application/json": {"schema": document}},
                },
                "503": ERRORS,
            },
        }
    }


def openapi_document(
    config: dict[str, Any], request: dict[str, Any], response: dict[str, Any]
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service, built from the two schemas."""
    return {
        "openapi": "3.1.0",
        "info": {"title": config.get("name", "model"), "version": config.get("version", "0")},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": {
            "/predict": {
                "post": _operation(
                    "one record, one prediction",
                    {"$ref": "#/components/schemas/Request"},
                    {"$ref": "#/components/schemas/Response"},
                )
            },
            "/health/live": _status("the process answers"),
            "/health/ready": _status("the model is loaded and answers"),
            "/predict/batch": {
                "post": _operation(
                    "a list of records, a list of predictions",
                    {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/components/schemas/Request"},
                    },
                    {"type": "array", "items": {"$ref": "#/components/schemas/Response"}},
                )
            },
        },
        "components": {"schemas": {"Request": request, "Response": response}},
    }
