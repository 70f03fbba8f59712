"""Property-based tests of the API from its own OpenAPI document (schemathesis, WSGI).

Generated requests, valid and invalid, with a staff key: no 5xx, every status documented,
every response body matching its documented schema, schema-violating input refused, and
schema-valid input accepted (never a 422: what the document calls valid, the API takes; a
refusal about existing state is a 404 or 409). Every operation, no exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from .support import build_world

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]


class FreshContextApp:
    """The WSGI app with a fresh app context per request, as under a real server.

    The ``app`` fixture keeps one app context open, which Flask would otherwise reuse (with its
    ``g`` and database session) for every generated request.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self.app.app_context():
            # Read the body inside the context: the response is not streamed.
            return list(self.app.wsgi_app(environ, start_response))


@pytest.fixture
def staff_headers(app: Flask) -> dict[str, str]:
    return build_world().headers("staff_key")


@pytest.fixture
def api_schema(app: Flask, staff_headers: dict[str, str]) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", FreshContextApp(app))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_its_documented_contract(case: Any, staff_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=staff_headers, checks=CHECKS)
