"""The TiergateError hierarchy and the one JSON error shape."""

from __future__ import annotations

from typing import Any


class TiergateError(Exception):
    """A domain error: a stable code, a human message, an HTTP status and details."""

    code = "error"
    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON error shape: ``{"error", "message", **details}``."""
        return {"error": self.code, "message": self.message, **self.details}


class ConfigurationError(TiergateError):
    code = "configuration_error"
    status = 500


class ValidationError(TiergateError):
    code = "validation_error"
    status = 422


class NotFound(TiergateError):
    code = "not_found"
    status = 404


class Conflict(TiergateError):
    code = "conflict"
    status = 409


def domain_error_response(error: TiergateError) -> Any:
    """Answer a domain error with the one JSON error shape and its status."""
    from flask import jsonify

    return jsonify(error.to_dict()), error.status
