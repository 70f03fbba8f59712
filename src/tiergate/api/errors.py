"""The API's errors: every HTTP error under /api/ in the one shape ``{"error", "message", ...}``.

Domain errors (``TiergateError``) already have that shape (see ``tiergate.errors``); this
module gives it to Werkzeug's HTTP errors too: flask-smorest's 422 validation errors, 404,
405, 413 (bodies over ``MAX_CONTENT_LENGTH``), 415, and the API's own 401 and 403.
"""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request
from marshmallow import INCLUDE, Schema, fields
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/"

#: HTTP status -> the stable error code the API answers with.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
}
#: The statuses every operation may answer with, documented on each.
COMMON_ERRORS = (400, 401, 413, 415)


class ErrorSchema(Schema):
    """The one error shape: a stable code, a human message, and details."""

    class Meta:
        unknown = INCLUDE

    error = fields.String(required=True, metadata={"description": "A stable error code."})
    message = fields.String(required=True, metadata={"description": "What went wrong."})
    fields_ = fields.Dict(
        data_key="fields",
        metadata={"description": "For validation errors: field -> messages."},
    )


def _code(error: HTTPException) -> str:
    status = error.code or 500
    if status in ERROR_CODES:
        return ERROR_CODES[status]
    return re.sub(r"[^a-z0-9]+", "_", (error.name or "error").lower()).strip("_")


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn webargs' nested messages into ``{"field.path": [messages]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for name, value in messages.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            flat.update(_flatten(value, path))
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        flat[prefix or "_schema"] = list(messages)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def _validation_body(error: HTTPException) -> dict[str, Any]:
    data = getattr(error, "data", None) or {}
    by_location = data.get("messages") or {}
    fields_: dict[str, list[str]] = {}
    for messages in by_location.values():
        fields_.update(_flatten(messages))
    summary = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in fields_.items())
    return {
        "error": "validation_error",
        "message": f"the request is not valid: {summary}" if summary else "invalid request",
        "fields": fields_,
    }


def error_response(error: HTTPException) -> Any:
    """Render an HTTP error in the one JSON shape."""
    status = error.code or 500
    if status == 422:
        body = _validation_body(error)
    else:
        body = {"error": _code(error), "message": error.description or error.name}
    response = jsonify(body)
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() in ("allow", "www-authenticate", "retry-after"):
            response.headers[name] = value
    if status == 401 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tiergate"'
    return response


def handle_http_error(error: HTTPException) -> Any:
    """JSON for the API's paths; every other page keeps Flask's own error handling."""
    if request.path.startswith(API_PREFIX):
        return error_response(error)
    return error
