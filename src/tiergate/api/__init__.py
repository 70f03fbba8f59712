"""The JSON API v1: flask-smorest views validated and documented by one set of schemas.

The OpenAPI 3 document is served at ``/api/v1/openapi.json`` and rendered as a page (no
external assets) at ``/api/v1/docs``. Requests authenticate with ``Authorization: Bearer
tg_...`` (or a browser session, which then also needs its CSRF token on unsafe requests).
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from .. import __version__
from .errors import ErrorSchema, handle_http_error

API_SETTINGS = {
    "API_TITLE": "tiergate",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}


class TiergateApi(Api):
    """flask-smorest's Api with the one error shape and without its own error handler."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # The app-wide handler below answers JSON for /api/ paths only; pages keep theirs.
        self._app.register_error_handler(HTTPException, handle_http_error)


def init_app(app: Flask) -> None:
    """Register the API's blueprints, its OpenAPI document and its docs page."""
    from ..accounts.auth import csrf
    from .accounts import accounts_api
    from .catalog import permissions_api, tiers_api
    from .docs import docs_page

    for name, value in API_SETTINGS.items():
        app.config.setdefault(name, value)
    api = TiergateApi(
        app,
        spec_kwargs={
            "info": {
                "description": "Tiers, permissions and entitlements of tiergate "
                f'{__version__}. Errors: {{"error", "message", ...}}.',
            }
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "tg_... API key"}
    )
    for blueprint in (accounts_api, tiers_api, permissions_api):
        api.register_blueprint(blueprint)
        # Bearer keys are not sent by browsers on their own; guard_request checks the CSRF
        # token itself when a session cookie authenticates an unsafe request.
        csrf.exempt(blueprint)
    app.register_blueprint(docs_page)
    app.extensions["tiergate.api"] = api
